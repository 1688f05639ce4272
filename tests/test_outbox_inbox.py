"""The outbox and inbox on real PostgreSQL and Kafka, with the probe service in-process."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import insert, select

from acms_contracts import EventEnvelope, topics
from acms_contracts.cases import CaseClosed
from acms_contracts.platform import ProbeEmitted
from acms_platform import inbox
from acms_platform.database import Database
from acms_platform.messaging import ensure_topics
from acms_platform.migrations import upgrade_to_head
from acms_platform.outbox import (
    MAX_EVENT_BYTES,
    EventTooLarge,
    Outbox,
    OutboxRelay,
    UndeclaredTopic,
)
from acms_platform.platform_tables import inbox as inbox_table
from acms_platform.testing.plugin import create_database, kafka_admin, settings_for_test

sys.path.insert(0, str(Path(__file__).parent / "probe"))
from probe_service import create, definition


@pytest.fixture
def probe_overrides(run_id) -> dict[str, str]:
    # Its own database and consumer group: the fault tests' probe processes use others.
    return {"database_name": f"test_{run_id}_probe_inproc", "consumer_group": f"{run_id}-inproc"}


async def wait_for_effects(client, stream: str, expected: int, timeout: float = 60) -> list[int]:
    async with asyncio.timeout(timeout):
        while True:
            effects = (await client.get("/probes/state")).json()["effects"]
            seen = [e["sequence"] for e in effects if e["stream"] == stream]
            if len(seen) >= expected:
                return seen
            await asyncio.sleep(0.2)


@pytest.mark.asyncio(loop_scope="session")
async def test_outbox_events_reach_the_consumer_once_each_in_order(start_service, probe_overrides):
    client = await start_service("probe", create, **probe_overrides)
    stream = f"order-{uuid.uuid4().hex[:8]}"
    for first in range(0, 100, 25):
        response = await client.post(
            "/probes", json={"stream": stream, "first_sequence": first, "count": 25}
        )
        assert response.status_code == 201

    assert await wait_for_effects(client, stream, 100) == list(range(100))


@pytest.mark.asyncio(loop_scope="session")
async def test_a_redelivered_event_has_no_second_effect(start_service, probe_overrides):
    client = await start_service("probe", create, **probe_overrides)
    stream = f"dup-{uuid.uuid4().hex[:8]}"
    envelope = EventEnvelope.wrap(ProbeEmitted(stream=stream, sequence=7), producer="test")
    settings = client.app.state.runtime.settings
    producer = AIOKafkaProducer(**kafka_admin(settings.kafka_bootstrap))
    await producer.start()
    try:
        for _ in range(3):
            await producer.send_and_wait(
                settings.topic(topics.PLATFORM_PROBES),
                value=json.dumps(envelope.model_dump(mode="json")).encode(),
                key=stream.encode(),
            )
        marker = ProbeEmitted(stream=stream, sequence=8)
        await producer.send_and_wait(
            settings.topic(topics.PLATFORM_PROBES),
            value=EventEnvelope.wrap(marker, producer="test").model_dump_json().encode(),
            key=stream.encode(),
        )
    finally:
        await producer.stop()

    # The marker is behind the duplicates in the same partition: once it is in, all are.
    assert await wait_for_effects(client, stream, 2) == [7, 8]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_rejected_write_leaves_no_event_behind(start_service, probe_overrides):
    client = await start_service("probe", create, **probe_overrides)
    response = await client.post("/probes", json={"stream": "", "first_sequence": 0, "count": 1})
    assert response.status_code == 422
    assert "stream" in response.json()["detail"]
    state = (await client.get("/probes/state")).json()
    assert state["outbox_pending"] == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_the_request_trace_context_travels_in_kafka_headers(start_service, probe_overrides):
    """The request's own trace (the server's, named in `traceresponse`), never one the
    caller chose in a `traceparent` of its own."""
    client = await start_service("probe", create, **probe_overrides)
    stream = f"trace-{uuid.uuid4().hex[:8]}"
    chosen = uuid.uuid4().hex
    response = await client.post(
        "/probes",
        json={"stream": stream, "first_sequence": 0, "count": 1},
        headers={"traceparent": f"00-{chosen}-{'1' * 16}-01"},
    )
    assert response.status_code == 201
    trace_id = response.headers["traceresponse"].split("-")[1]
    assert trace_id != chosen
    await wait_for_effects(client, stream, 1)

    settings = client.app.state.runtime.settings
    consumer = AIOKafkaConsumer(
        settings.topic(topics.PLATFORM_PROBES),
        **kafka_admin(settings.kafka_bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found = None
    try:
        async with asyncio.timeout(30):
            while found is None:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for record in records:
                        if record.key == stream.encode():
                            found = record
    finally:
        await consumer.stop()
    headers = {k: v.decode() for k, v in found.headers}
    assert headers["traceparent"].split("-")[1] == trace_id
    assert headers["event_type"] == "ProbeEmitted"


@pytest.mark.asyncio(loop_scope="session")
async def test_events_of_a_rolled_back_transaction_never_leave(start_service, probe_overrides):
    client = await start_service("probe", create, **probe_overrides)
    runtime = client.app.state.runtime
    stream = f"rollback-{uuid.uuid4().hex[:8]}"
    async with runtime.database.sessions() as session:
        await session.begin()
        await runtime.outbox.add(session, ProbeEmitted(stream=stream, sequence=0))
        await session.rollback()
        await session.begin()
        await runtime.outbox.add(session, ProbeEmitted(stream=stream, sequence=1))
        await session.commit()
        await session.begin()
        await runtime.outbox.add(session, ProbeEmitted(stream=stream, sequence=2))
        await session.commit()

    # Had event 0 leaked it would have been written with 1, ahead of it in the same key.
    assert await wait_for_effects(client, stream, 2) == [1, 2]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_relay_that_cannot_reach_kafka_hands_leadership_over(infrastructure, run_id):
    settings = settings_for_test(
        "probe", infrastructure, database_name=f"test_{run_id}_probe_relays"
    )
    await create_database(settings)
    database = Database(settings)
    await asyncio.to_thread(upgrade_to_head, definition.root, database.url)
    async with database.transaction() as session:
        await Outbox("probe").add(session, ProbeEmitted(stream="handover", sequence=0))

    def producer(bootstrap: str):
        return lambda: AIOKafkaProducer(**kafka_admin(bootstrap), enable_idempotence=True)

    # Two replicas of a service: each with its own connection pool.
    elsewhere = Database(settings)
    await ensure_topics(
        kafka_admin(settings.kafka_bootstrap),
        [settings.topic(topics.PLATFORM_PROBES)],
        settings.kafka_partitions,
    )
    namespace = settings.topic_namespace
    stranded = OutboxRelay(
        database, producer("127.0.0.1:9"), idle_poll_seconds=0.2, topic_namespace=namespace
    )
    healthy = OutboxRelay(
        elsewhere,
        producer(settings.kafka_bootstrap),
        idle_poll_seconds=0.2,
        topic_namespace=namespace,
    )
    relays = [asyncio.create_task(stranded.run())]
    try:
        await asyncio.sleep(1)  # the stranded relay led first and failed to reach Kafka
        relays.append(asyncio.create_task(healthy.run()))
        async with asyncio.timeout(30):
            while healthy.published < 1:
                await asyncio.sleep(0.1)
    finally:
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
        await database.dispose()
        await elsewhere.dispose()
    assert stranded.published == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_inbox_markers_past_retention_are_forgotten(start_service, probe_overrides):
    client = await start_service("probe", create, **probe_overrides)
    runtime = client.app.state.runtime
    assert "inbox-pruning" in {task.get_name() for task in runtime._tasks}
    old, recent = uuid.uuid4(), uuid.uuid4()
    async with runtime.database.transaction() as session:
        await session.execute(
            insert(inbox_table),
            [
                {"consumer": "probe", "event_id": old, "topic": "t", "processed_at": days_ago(31)},
                {
                    "consumer": "probe",
                    "event_id": recent,
                    "topic": "t",
                    "processed_at": days_ago(29),
                },
            ],
        )
    async with runtime.database.transaction() as session:
        # The service's own pruning task may have come by first: what is left is the test.
        await inbox.prune(session, timedelta(days=30))
        left = set(
            (
                await session.execute(
                    select(inbox_table.c.event_id).where(inbox_table.c.event_id.in_([old, recent]))
                )
            ).scalars()
        )
    assert left == {recent}


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


async def refused_with_its_transaction(client, stream: str, refused, error, match: str) -> None:
    """An event the outbox refuses fails its transaction: neither it nor the transaction's
    other event is written, and the next transaction's event is not held back."""
    runtime = client.app.state.runtime
    with pytest.raises(error, match=match):
        async with runtime.database.transaction() as session:
            await runtime.outbox.add(session, ProbeEmitted(stream=stream, sequence=0))
            await runtime.outbox.add(session, refused)
    async with runtime.database.transaction() as session:
        await runtime.outbox.add(session, ProbeEmitted(stream=stream, sequence=1))

    assert await wait_for_effects(client, stream, 1) == [1]
    assert (await client.get("/probes/state")).json()["outbox_pending"] == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_an_event_too_large_for_kafka_fails_its_transaction_and_holds_nothing_back(
    start_service, probe_overrides
):
    client = await start_service("probe", create, **probe_overrides)
    stream = f"large-{uuid.uuid4().hex[:8]}"
    # Multi-byte characters: the limit is on bytes, not characters.
    huge = ProbeEmitted(stream=stream + "ā" * (MAX_EVENT_BYTES // 2), sequence=0)
    await refused_with_its_transaction(
        client, stream, huge, EventTooLarge, f"at most {MAX_EVENT_BYTES}"
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_an_event_for_a_topic_the_service_does_not_declare_is_refused_at_the_write(
    start_service, probe_overrides
):
    """The probe declares the probe topics only: its principal may not write the cases
    topic, so an event for it would wait in the outbox for ever. The write fails instead,
    naming the topic and the service, and its transaction writes nothing."""
    client = await start_service("probe", create, **probe_overrides)
    assert topics.CASES not in definition.publishes
    stray = CaseClosed(
        case_id=uuid.uuid4(),
        reference="AS-2026-000001",
        subject_student_key=str(uuid.uuid4()),
        actor_id="system",
        at=datetime.now(UTC),
        outcome_category="improved",
    )
    message = f"service probe writes CaseClosed to the topic {topics.CASES}, which its"
    stream = f"undeclared-{uuid.uuid4().hex[:8]}"
    await refused_with_its_transaction(client, stream, stray, UndeclaredTopic, re.escape(message))
