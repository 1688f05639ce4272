"""The outbox and inbox on real PostgreSQL and Kafka, with the probe service in-process."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from acms_contracts import EventEnvelope, topics
from acms_contracts.platform import ProbeEmitted

sys.path.insert(0, str(Path(__file__).parent / "probe"))
from probe_service import create


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
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for _ in range(3):
            await producer.send_and_wait(
                topics.PLATFORM_PROBES,
                value=json.dumps(envelope.model_dump(mode="json")).encode(),
                key=stream.encode(),
            )
        marker = ProbeEmitted(stream=stream, sequence=8)
        await producer.send_and_wait(
            topics.PLATFORM_PROBES,
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
    client = await start_service("probe", create, **probe_overrides)
    stream = f"trace-{uuid.uuid4().hex[:8]}"
    trace_id = uuid.uuid4().hex
    response = await client.post(
        "/probes",
        json={"stream": stream, "first_sequence": 0, "count": 1},
        headers={"traceparent": f"00-{trace_id}-{'1' * 16}-01"},
    )
    assert response.status_code == 201
    await wait_for_effects(client, stream, 1)

    settings = client.app.state.runtime.settings
    consumer = AIOKafkaConsumer(
        topics.PLATFORM_PROBES,
        bootstrap_servers=settings.kafka_bootstrap,
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
