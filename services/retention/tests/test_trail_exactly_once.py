"""A SIGKILL of the retention service mid-stream loses no audit event and stores none twice:
the service runs as a real process on real Kafka and PostgreSQL, is killed while events
are still arriving, and a new process finishes the stream."""

from __future__ import annotations

import asyncio
import signal
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from acms_contracts import topics
from acms_platform.messaging import ensure_topics
from acms_platform.testing.plugin import RUN_ID, create_database, kafka_admin, settings_for_test
from acms_platform.testing.processes import ServiceProcess
from acms_retention.handlers import audit_event_classes

from .audit_events import access

EVENTS = 4000
KILL_AFTER_STORED = 800


async def _stored(settings, event_ids: list[uuid.UUID]) -> tuple[int, int]:
    """(rows, distinct events) of `event_ids` in the trail."""
    connection = await asyncpg.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        database=settings.database_name,
    )
    try:
        row = await connection.fetchrow(
            "SELECT count(*), count(DISTINCT event_id) FROM audit_trail"
            " WHERE event_id = ANY($1::uuid[])",
            event_ids,
        )
        return row[0], row[1]
    except asyncpg.UndefinedTableError:
        return 0, 0
    finally:
        await connection.close()


async def _produce(settings, envelopes, pause: float) -> None:
    producer = AIOKafkaProducer(**kafka_admin(settings.kafka_bootstrap), linger_ms=5)
    topic = settings.topic(topics.AUDIT_ACCESS)  # in this test session's namespace
    await producer.start()
    try:
        for start in range(0, len(envelopes), 100):
            for envelope in envelopes[start : start + 100]:
                value = envelope.model_dump_json().encode()
                await producer.send(topic, value, key=envelope.key.encode())
            await producer.flush()
            await asyncio.sleep(pause)
    finally:
        await producer.stop()


async def _skip_history(settings) -> None:
    """Commit the group's offsets at the end of every topic retention reads, so the victim
    starts at this test's events, not behind every audit event of earlier runs."""
    contract_topics = {cls.topic for cls in audit_event_classes()} | {topics.IDENTITY_ORGANISATIONS}
    topics_read = sorted(settings.topic(t) for t in contract_topics)
    await ensure_topics(
        kafka_admin(settings.kafka_bootstrap), topics_read, settings.kafka_partitions
    )
    consumer = AIOKafkaConsumer(
        **kafka_admin(settings.kafka_bootstrap),
        group_id=settings.group_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics_read
            for p in sorted(
                consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)
            )
        ]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


async def _wait_stored(settings, ids, at_least: int, timeout: float) -> tuple[int, int]:
    async with asyncio.timeout(timeout):
        while (counts := await _stored(settings, ids))[0] < at_least:
            await asyncio.sleep(0.05)
    return counts


@pytest.mark.asyncio(loop_scope="session")
async def test_sigkill_mid_stream_leaves_every_audit_event_stored_exactly_once(infrastructure):
    """Async, so the session's event loop (and the other tests' consumers) keep running."""
    settings = settings_for_test(
        "retention",
        infrastructure,
        port=8197,
        database_name=f"test_{RUN_ID}_retention_kill",
        consumer_group=f"test-{RUN_ID}-retention-kill",
    )
    await create_database(settings)
    await _skip_history(settings)
    envelopes = [access() for _ in range(EVENTS)]
    ids = [e.event_id for e in envelopes]

    victim = ServiceProcess("acms_retention.app:create", settings)
    survivor = ServiceProcess("acms_retention.app:create", settings)
    try:
        await asyncio.to_thread(victim.start)
        producing = asyncio.create_task(_produce(settings, envelopes, 0.02))
        await _wait_stored(settings, ids, KILL_AFTER_STORED, timeout=180)
        victim.process.send_signal(signal.SIGKILL)
        await producing
        assert await asyncio.to_thread(victim.wait_killed, 30) == -signal.SIGKILL
        stored_at_kill = (await _stored(settings, ids))[0]
        assert KILL_AFTER_STORED <= stored_at_kill < EVENTS, "the kill was not mid-stream"

        await asyncio.to_thread(survivor.start)
        await _wait_stored(settings, ids, EVENTS, timeout=180)
        await asyncio.sleep(2)  # a second copy, if any, would arrive now
        assert await _stored(settings, ids) == (EVENTS, EVENTS)
    finally:
        await asyncio.to_thread(victim.stop)
        await asyncio.to_thread(survivor.stop)
