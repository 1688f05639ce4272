"""Fixtures of retention's tests: a Cerbos PDP serving retention's own policies, and the
service started once for the session on a database and consumer group of its own (its
Kafka consumers take seconds to join their group), with small alert thresholds (3
distinct students in 10 minutes, 3 refusals in 5 minutes, a read within an hour of a
Ministry grant, usual hours learned from 20 reads with a 10 % share, a minute's grace after
a record is lost) and every chain sealed after every batch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from acms_contracts.vocabulary import Role
from acms_platform.testing.accounts import known_account
from acms_platform.testing.openapi import check_responses
from acms_platform.testing.pdp import private_pdp
from acms_platform.testing.plugin import RUN_ID, create_database, settings_for_test
from acms_platform.testing.tokens import TestSigner
from acms_retention.app import create

POLICIES = Path(__file__).resolve().parents[1] / "policies"

TEST_SETTINGS = {
    "alert_distinct_students": 3,
    "alert_distinct_students_seconds": 600,
    "alert_denials": 3,
    "alert_denials_seconds": 300,
    "alert_grant_grace_seconds": 3600,
    "alert_usual_hours_min_reads": 20,
    "alert_usual_hours_min_share": 0.1,
    "alert_relationship_grace_seconds": 60,
    "audit_checkpoint_rows": 1,
}


@pytest.fixture(scope="session")
def retention_pdp(infrastructure, tmp_path_factory) -> Iterator[str]:
    with private_pdp(POLICIES, tmp_path_factory.mktemp("cerbos") / "cerbos.log") as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def retention(infrastructure, retention_pdp) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for_test(
        "retention",
        infrastructure,
        cerbos_url=retention_pdp,
        database_name=f"test_{RUN_ID}_retention_audit",
        consumer_group=f"test-{RUN_ID}-retention-audit",
        **TEST_SETTINGS,
    )
    await create_database(settings)
    app = create(settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        await app.state.runtime.wait_started()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://retention"
        )
        await stack.enter_async_context(client)
        client.app = app  # type: ignore[attr-defined]
        check_responses(client)
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def service(retention):
    """The service, with a privacy officer's headers as `service.officer` (the alert tests)."""
    signer = TestSigner()
    signer.trusted_by(retention.app)
    officer = await known_account(retention.app, signer, [Role.PRIVACY_OFFICER])
    retention.officer = officer.headers  # type: ignore[attr-defined]
    return retention
