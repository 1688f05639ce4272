"""A test run never writes to or reads from the demo stack's Kafka topics and groups."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from acms_platform.testing.isolation import demo_picture
from acms_platform.testing.plugin import TOPIC_NAMESPACE, kafka_admin

pytestmark = pytest.mark.fault
RUNS_LAST = True  # tests/conftest.py: after every other test of the session


async def _namespaced_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(**kafka_admin(bootstrap))
    await admin.start()
    try:
        return [t for t in await admin.list_topics() if t.startswith(TOPIC_NAMESPACE)]
    finally:
        await admin.close()


def test_the_run_left_the_demo_topics_offsets_and_groups_unchanged(
    request, infrastructure, demo_kafka_at_start
):
    if len(request.session.items) == 1:
        pytest.skip("checks what a whole run did: run it with other tests")
    bootstrap = infrastructure.endpoints.kafka_bootstrap
    now = asyncio.run(demo_picture(kafka_admin(bootstrap)))
    assert not demo_kafka_at_start.differences(now), demo_kafka_at_start.differences(now)
    # Not vacuous: this run did use Kafka, in its own namespace.
    assert asyncio.run(_namespaced_topics(bootstrap)), f"no topic under {TOPIC_NAMESPACE}"
