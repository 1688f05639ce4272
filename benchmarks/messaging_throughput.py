"""Outbox → Kafka → inbox beside raw aiokafka produce/consume, same machine, same run.

Usage (infrastructure up: `deploy/infra.sh up postgres kafka`):
    uv run python benchmarks/messaging_throughput.py [--events 5000] [--rate 500] [--runs 3]

Prints, for each path, throughput (events/s, flat out) and p50/p95 end-to-end latency
at a fixed offered rate, as medians over --runs, and the outbox/raw ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from acms_contracts import EventEnvelope
from acms_contracts.platform import BenchmarkProbeEmitted as ProbeEmitted
from acms_platform.messaging import ensure_topics
from acms_platform.settings import Settings
from acms_platform.testing.plugin import create_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "probe"))
import probe_service

RAW_TOPIC = "acms.bench.raw.v1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def paced(count: int, rate: float | None):
    """Yields indices, spaced to `rate` per second (None: as fast as possible)."""
    start = time.perf_counter()
    for index in range(count):
        if rate:
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        yield index


async def raw_path(bootstrap: str, count: int, rate: float | None) -> tuple[float, list[float]]:
    stream = uuid.uuid4().hex
    consumer = AIOKafkaConsumer(
        RAW_TOPIC,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{stream}",
        auto_offset_reset="latest",
        enable_auto_commit=True,
    )
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=2)
    await producer.start()
    latencies: list[float] = []

    async def receive() -> None:
        while len(latencies) < count:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    envelope = EventEnvelope.model_validate_json(record.value)
                    if envelope.payload["stream"] == stream:
                        latencies.append((time.time_ns() - envelope.payload["sent_at_ns"]) / 1e6)

    receiver = asyncio.create_task(receive())
    started = time.perf_counter()
    async for index in paced(count, rate):
        event = ProbeEmitted(stream=stream, sequence=index, sent_at_ns=time.time_ns())
        envelope = EventEnvelope.wrap(event, producer="bench")
        await producer.send(RAW_TOPIC, envelope.model_dump_json().encode(), key=stream.encode())
    await producer.flush()
    await receiver
    elapsed = time.perf_counter() - started
    await producer.stop()
    await consumer.stop()
    return count / elapsed, latencies


async def outbox_path(
    runtime, count: int, rate: float | None, batch: int
) -> tuple[float, list[float]]:
    stream = uuid.uuid4().hex
    table = probe_service.probe_effects
    started = time.perf_counter()
    pending: list[ProbeEmitted] = []

    async def flush() -> None:
        async with runtime.database.transaction() as session:
            for event in pending:
                await runtime.outbox.add(session, event)
        pending.clear()

    async for index in paced(count, rate):
        pending.append(ProbeEmitted(stream=stream, sequence=index, sent_at_ns=time.time_ns()))
        if rate or len(pending) >= batch:
            await flush()
    if pending:
        await flush()
    while True:
        async with runtime.database.transaction() as session:
            done = (
                await session.execute(
                    select(func.count()).select_from(table).where(table.c.stream == stream)
                )
            ).scalar_one()
        if done >= count:
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    async with runtime.database.transaction() as session:
        latencies = (
            (await session.execute(select(table.c.latency_ns).where(table.c.stream == stream)))
            .scalars()
            .all()
        )
    return count / elapsed, [ns / 1e6 for ns in latencies]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000, help="events per throughput run")
    parser.add_argument("--rate", type=float, default=500, help="offered rate for latency runs")
    parser.add_argument("--seconds", type=float, default=10, help="length of latency runs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100, help="events per transaction, flat out")
    args = parser.parse_args()

    settings = Settings(
        service_name="probe",
        database_name="bench_probe",
        consumer_group="bench-probe",
        outbox_idle_poll_seconds=0.5,
        log_level="WARNING",
    )
    await create_database(settings)
    await ensure_topics(settings.kafka_bootstrap, [RAW_TOPIC], settings.kafka_partitions)
    app = probe_service.create(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        await runtime.wait_started()
        await outbox_path(runtime, 200, None, args.batch)  # warm-up: group join, connections
        await raw_path(settings.kafka_bootstrap, 200, None)
        latency_count = int(args.rate * args.seconds)
        results: dict[str, dict[str, list[float]]] = {
            p: {"throughput": [], "p50": [], "p95": []} for p in ("raw", "outbox")
        }
        for run in range(args.runs):
            for path in ("raw", "outbox"):
                if path == "raw":
                    tput, _ = await raw_path(settings.kafka_bootstrap, args.events, None)
                    _, lat = await raw_path(settings.kafka_bootstrap, latency_count, args.rate)
                else:
                    tput, _ = await outbox_path(runtime, args.events, None, args.batch)
                    _, lat = await outbox_path(runtime, latency_count, args.rate, args.batch)
                results[path]["throughput"].append(tput)
                results[path]["p50"].append(percentile(lat, 0.50))
                results[path]["p95"].append(percentile(lat, 0.95))
                print(
                    f"run {run + 1} {path:6s} {tput:8.0f} ev/s flat out; at {args.rate:.0f}/s "
                    f"p50 {percentile(lat, 0.5):6.1f} ms p95 {percentile(lat, 0.95):6.1f} ms",
                    flush=True,
                )
    med = {p: {k: statistics.median(v) for k, v in r.items()} for p, r in results.items()}
    print(
        f"\nmedians over {args.runs} runs ({args.events} events flat out; "
        f"{latency_count} events at {args.rate:.0f}/s for latency)"
    )
    print(f"{'path':8s} {'events/s':>10s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for path in ("raw", "outbox"):
        m = med[path]
        print(f"{path:8s} {m['throughput']:10.0f} {m['p50']:8.1f} {m['p95']:8.1f}")
    print(
        f"outbox/raw throughput ratio: {med['outbox']['throughput'] / med['raw']['throughput']:.2f}"
        f" (target >= 0.33); outbox p95 at {args.rate:.0f}/s: {med['outbox']['p95']:.1f} ms"
        " (target < 50 ms)"
    )


if __name__ == "__main__":
    asyncio.run(main())
