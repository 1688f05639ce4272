"""cases on real PostgreSQL and Kafka: ready with its migrations at head, it keeps identity's
organisations from Kafka in its projection, once per event, and serves them to signed-in
callers only (`acms_platform.testing.skeleton`)."""

import pytest_asyncio

from acms_cases.app import create
from acms_platform.testing.skeleton import ProjectionServiceTests


class TestCasesService(ProjectionServiceTests):
    @pytest_asyncio.fixture(loop_scope="session")
    async def service(self, start_service):
        return await start_service("cases", create)
