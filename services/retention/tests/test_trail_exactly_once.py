"""A SIGKILL of the retention service mid-stream loses no audit event and stores none twice:
the service runs as a real process on real Kafka and PostgreSQL, is killed while events
are still arriving, and a new process finishes the stream."""

from __future__ import annotations

import asyncio
import signal
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer

from acms_contracts import topics
from acms_platform.testing.plugin import RUN_ID, create_database, settings_for_test
from acms_platform.testing.processes import ServiceProcess

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


async def _produce(bootstrap: str, envelopes, pause: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for start in range(0, len(envelopes), 100):
            for envelope in envelopes[start : start + 100]:
                value = envelope.model_dump_json().encode()
                await producer.send(topics.AUDIT_ACCESS, value, key=envelope.key.encode())
            await producer.flush()
            await asyncio.sleep(pause)
    finally:
        await producer.stop()


async def _wait_stored(settings, ids, at_least: int, timeout: float) -> tuple[int, int]:
    async with asyncio.timeout(timeout):
        while (counts := await _stored(settings, ids))[0] < at_least:
            await asyncio.sleep(0.05)
    return counts


def test_sigkill_mid_stream_leaves_every_audit_event_stored_exactly_once(infrastructure):
    settings = settings_for_test(
        "retention",
        infrastructure,
        port=8197,
        database_name=f"test_{RUN_ID}_retention_kill",
        consumer_group=f"test-{RUN_ID}-retention-kill",
    )
    asyncio.run(create_database(settings))
    envelopes = [access() for _ in range(EVENTS)]
    ids = [e.event_id for e in envelopes]

    victim = ServiceProcess("acms_retention.app:create", settings).start()
    survivor = None
    try:

        async def kill_mid_stream() -> None:
            producing = asyncio.create_task(_produce(settings.kafka_bootstrap, envelopes, 0.02))
            await _wait_stored(settings, ids, KILL_AFTER_STORED, timeout=120)
            victim.process.send_signal(signal.SIGKILL)
            await producing

        asyncio.run(kill_mid_stream())
        assert victim.wait_killed(30) == -signal.SIGKILL
        stored_at_kill = asyncio.run(_stored(settings, ids))[0]
        assert KILL_AFTER_STORED <= stored_at_kill < EVENTS, "the kill was not mid-stream"

        survivor = ServiceProcess("acms_retention.app:create", settings).start()
        asyncio.run(_wait_stored(settings, ids, EVENTS, timeout=120))
        asyncio.run(asyncio.sleep(2))  # a second copy, if any, would arrive now
        assert asyncio.run(_stored(settings, ids)) == (EVENTS, EVENTS)
    finally:
        victim.stop()
        if survivor is not None:
            survivor.stop()
