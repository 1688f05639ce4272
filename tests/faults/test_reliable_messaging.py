"""Fault tests on the real broker and database: each asserts on data, not on logs."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from acms_contracts import topics
from acms_contracts.topics import dead_letter_topic
from acms_platform.testing.plugin import kafka_admin

pytestmark = pytest.mark.fault


def emit(process, stream: str, first: int, count: int) -> None:
    response = httpx.post(
        f"{process.url}/probes",
        json={"stream": stream, "first_sequence": first, "count": count},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def state(process) -> dict:
    return httpx.get(f"{process.url}/probes/state", timeout=30).json()


def sequences(process, stream: str) -> list[int]:
    return [e["sequence"] for e in state(process)["effects"] if e["stream"] == stream]


def wait_for_sequences(process, stream: str, expected: int, timeout: float = 120) -> list[int]:
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while time.monotonic() < deadline:
        seen = sequences(process, stream)
        if len(seen) >= expected:
            return seen
        time.sleep(0.5)
    raise AssertionError(f"stream {stream}: {len(seen)} of {expected} effects after {timeout}s")


def test_consumer_killed_after_effect_before_offset_commit_applies_each_event_once(
    probe_process,
):
    stream = f"kill-{uuid.uuid4().hex[:8]}"
    victim = probe_process(PROBE_DIE_AFTER_EFFECT=f"{stream}:3")
    emit(victim, stream, 0, 6)

    assert victim.wait_killed(timeout=60) == -signal.SIGKILL
    survivor = probe_process()

    assert wait_for_sequences(survivor, stream, 6) == [0, 1, 2, 3, 4, 5]
    time.sleep(2)  # a redelivery, if the inbox failed, would add rows now
    assert sequences(survivor, stream) == [0, 1, 2, 3, 4, 5]


def test_writes_succeed_while_kafka_is_down_and_every_event_arrives_once_in_order(
    probe_process, launchers
):
    streams = [f"outage-{uuid.uuid4().hex[:6]}-{n}" for n in range(3)]
    probe = probe_process()
    launchers.control("stop", "kafka")
    try:
        for batch in range(4):
            for stream in streams:
                emit(probe, stream, batch * 10, 10)
        held = state(probe)
        assert held["outbox_pending"] == 120
        assert all(sequences(probe, s) == [] for s in streams)
    finally:
        launchers.control("start", "kafka")

    for stream in streams:
        assert wait_for_sequences(probe, stream, 40, timeout=180) == list(range(40))
    time.sleep(2)
    assert state(probe)["outbox_pending"] == 0
    assert all(len(sequences(probe, s)) == 40 for s in streams)


async def _dead_letters(bootstrap: str, topic: str) -> list:
    consumer = AIOKafkaConsumer(
        topic, **kafka_admin(bootstrap), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        records = []
        for _ in range(3):
            batches = await consumer.getmany(timeout_ms=1000)
            records += [record for batch in batches.values() for record in batch]
        return records
    finally:
        await consumer.stop()


async def _produce_raw(bootstrap: str, topic: str, value: bytes, key: bytes) -> None:
    producer = AIOKafkaProducer(**kafka_admin(bootstrap))
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


def test_malformed_message_goes_to_dead_letter_topic_and_next_message_is_processed(
    probe_process, probe_settings
):
    stream = f"poison-{uuid.uuid4().hex[:8]}"
    probe = probe_process()
    poison = f"not an envelope {stream}".encode()
    probes = probe_settings.topic(topics.PLATFORM_PROBES)
    asyncio.run(_produce_raw(probe_settings.kafka_bootstrap, probes, poison, stream.encode()))
    emit(probe, stream, 0, 1)

    assert wait_for_sequences(probe, stream, 1) == [0]
    dead = []
    deadline = time.monotonic() + 30
    while not dead and time.monotonic() < deadline:
        records = asyncio.run(
            _dead_letters(probe_settings.kafka_bootstrap, dead_letter_topic(probes))
        )
        dead = [r for r in records if r.value == poison]
    assert len(dead) == 1
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["x-dead-letter-reason"].startswith("invalid envelope")
    assert headers["x-original-topic"] == probes
    assert headers["x-consumer"] == "probe"
