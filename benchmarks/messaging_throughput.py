"""Outbox → Kafka → inbox beside raw aiokafka produce/consume, same machine, same run.

Usage (infrastructure up: `deploy/infra.sh up postgres kafka`):
    uv run python benchmarks/messaging_throughput.py [--events 5000] [--rate 500] [--runs 3]

Prints, for each path, throughput (events/s, flat out) and p50/p95 end-to-end latency
at a fixed offered rate, as medians over --runs, and the outbox/raw ratios.

Both paths run as a producing process (this one) and a consuming process (a child), the
way two services are deployed: for the outbox, this process writes transactions and runs
the relay, the child is the probe service consuming through the inbox; for raw aiokafka,
this process produces and the child consumes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select, text

from acms_contracts import EventEnvelope
from acms_contracts.platform import BenchmarkProbeEmitted as ProbeEmitted
from acms_platform.messaging import ensure_topics
from acms_platform.runtime import Runtime, ServiceDefinition
from acms_platform.settings import Settings
from acms_platform.testing.plugin import (
    TEST_STUDENT_KEY_SECRET,
    create_database,
    kafka_admin_credentials,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "probe"))
import probe_service

# Benchmarks publish and consume in their own topic namespace, never the demo stack's.
NAMESPACE = "bench."
RAW_TOPIC = NAMESPACE + "acms.bench.raw.v1"


def bench_settings() -> Settings:
    return Settings(
        service_name="probe",
        database_name="bench_probe",
        consumer_group="bench-probe",
        topic_namespace=NAMESPACE,
        outbox_idle_poll_seconds=0.5,
        log_level="WARNING",
        student_key_secret=TEST_STUDENT_KEY_SECRET,
        **kafka_admin_credentials(),  # a benchmark's own principal: the admin
    )


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


# --- the consuming process -------------------------------------------------------------


async def stdin_lines():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield line.decode().strip()


async def serve_raw_consumer() -> None:
    """Reads the raw topic; for each `<stream> <count>` on stdin, prints one JSON line with
    that stream's latencies and the time its last event arrived."""
    consumer = AIOKafkaConsumer(
        RAW_TOPIC,
        **bench_settings().kafka_client_options(),
        group_id=f"bench-raw-{uuid.uuid4().hex}",
        auto_offset_reset="latest",
    )
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    await consumer.seek_to_end()
    wanted: dict[str, int] = {}
    received: dict[str, list[float]] = defaultdict(list)

    async def requests() -> None:
        async for line in stdin_lines():
            stream, count = line.split()
            wanted[stream] = int(count)
        await consumer.stop()

    reading = asyncio.create_task(requests())
    print("READY", flush=True)
    while not reading.done():
        try:
            batches = await consumer.getmany(timeout_ms=100)
        except Exception:  # noqa: BLE001 - stopped at the end of the benchmark
            break
        for records in batches.values():
            for record in records:
                payload = EventEnvelope.model_validate_json(record.value).payload
                received[payload["stream"]].append((time.time_ns() - payload["sent_at_ns"]) / 1e6)
        for stream, count in list(wanted.items()):
            if len(received[stream]) >= count:
                done = {"done_at": time.time(), "latencies": received.pop(stream)}
                print(json.dumps(done), flush=True)
                del wanted[stream]


async def serve_outbox_consumer() -> None:
    """The probe service, consuming through the real inbox until stdin closes. (Its own
    outbox relay waits for the leader lock, which the producing process holds.)"""
    app = probe_service.create(bench_settings())
    async with app.router.lifespan_context(app):
        await app.state.runtime.wait_started()
        print("READY", flush=True)
        async for _ in stdin_lines():
            pass


# --- the producing process -------------------------------------------------------------


class Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, role: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            role,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,  # a line carries every latency of a run
        )
        child = cls(process)
        while (await child.readline()) != "READY":
            pass
        return child

    def send(self, line: str) -> None:
        self.process.stdin.write(f"{line}\n".encode())

    async def readline(self) -> str:
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("the consuming process exited")
        return line.decode().strip()

    async def stop(self) -> None:
        self.process.stdin.close()
        await self.process.wait()


async def raw_path(
    producer: AIOKafkaProducer, child: Child, count: int, rate: float | None
) -> tuple[float, list[float]]:
    stream = uuid.uuid4().hex
    child.send(f"{stream} {count}")
    started = time.time()
    async for index in paced(count, rate):
        event = ProbeEmitted(stream=stream, sequence=index, sent_at_ns=time.time_ns())
        envelope = EventEnvelope.wrap(event, producer="bench")
        await producer.send(RAW_TOPIC, envelope.model_dump_json().encode(), key=stream.encode())
    await producer.flush()
    result = json.loads(await child.readline())
    return count / (result["done_at"] - started), result["latencies"]


async def outbox_path(
    runtime: Runtime, count: int, rate: float | None, batch: int, writers: int
) -> tuple[float, list[float], list[float]]:
    """Throughput, latencies from each event's creation and from its transaction's commit."""
    stream = uuid.uuid4().hex
    table = probe_service.probe_effects
    in_transaction_ns: dict[int, int] = {}  # creation to commit, by sequence

    async def write(first: int, last: int) -> None:
        created: dict[int, int] = {}
        async with runtime.database.transaction() as session:
            for index in range(first, last):
                created[index] = time.time_ns()
                event = ProbeEmitted(stream=stream, sequence=index, sent_at_ns=created[index])
                await runtime.outbox.add(session, event)
        committed = time.time_ns()
        in_transaction_ns.update({index: committed - ns for index, ns in created.items()})

    started = time.perf_counter()
    if rate:
        # Requests arrive at `rate` whatever each one's transaction takes.
        requests = [asyncio.create_task(write(i, i + 1)) async for i in paced(count, rate)]
        await asyncio.gather(*requests)
    else:
        # `writers` concurrent requests, each writing `batch` events in one transaction.
        batches = iter(range(0, count, batch))

        async def writer() -> None:
            for first in batches:
                await write(first, min(first + batch, count))

        await asyncio.gather(*(writer() for _ in range(writers)))
    done = select(func.count()).select_from(table).where(table.c.stream == stream)
    while True:
        async with runtime.database.transaction() as session:
            if (await session.execute(done)).scalar_one() >= count:
                break
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    async with runtime.database.transaction() as session:
        effects = select(table.c.sequence, table.c.latency_ns).where(table.c.stream == stream)
        rows = (await session.execute(effects)).all()
    from_creation = [ns / 1e6 for _, ns in rows]
    from_commit = [(ns - in_transaction_ns[sequence]) / 1e6 for sequence, ns in rows]
    return count / elapsed, from_creation, from_commit


async def settle(runtime: Runtime) -> None:
    """Every measured run, of either path, starts from the same state: the previous run's
    dead rows vacuumed, statistics fresh, and a moment for background writes to drain."""
    async with runtime.database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("outbox", "inbox", "probe_effects"):
            await autocommit.execute(text(f"VACUUM ANALYZE {table}"))
    await asyncio.sleep(2)


async def main(args: argparse.Namespace) -> None:
    settings = bench_settings()
    await create_database(settings)
    await ensure_topics(settings.kafka_client_options(), [RAW_TOPIC], settings.kafka_partitions)
    # The producing service: writes and relays, consumes nothing.
    producing = ServiceDefinition(
        name="probe",
        root=probe_service.definition.root,
        publishes=probe_service.definition.publishes,
    )
    runtime = Runtime.create(producing, settings)
    await runtime.start()
    await runtime.wait_started()
    async with runtime.database.transaction() as session:  # the benchmark's own database
        await session.execute(text("TRUNCATE probe_effects, inbox"))
    producer = runtime._new_producer()  # the relay's configuration, for the raw path
    await producer.start()
    outbox_child = await Child.start("outbox")
    raw_child = await Child.start("raw")
    try:
        await outbox_path(runtime, 200, None, args.batch, args.writers)  # warm-up
        await raw_path(producer, raw_child, 200, None)
        latency_count = int(args.rate * args.seconds)
        results: dict[str, dict[str, list[float]]] = {
            p: {"throughput": [], "p50": [], "p95": [], "commit_p50": [], "commit_p95": []}
            for p in ("raw", "outbox")
        }
        for run in range(args.runs):
            for path in ("raw", "outbox"):
                await settle(runtime)
                if path == "raw":
                    tput, _ = await raw_path(producer, raw_child, args.events, None)
                    await settle(runtime)
                    _, lat = await raw_path(producer, raw_child, latency_count, args.rate)
                    from_commit = lat  # nothing stands between creation and sending
                else:
                    tput, _, _ = await outbox_path(
                        runtime, args.events, None, args.batch, args.writers
                    )
                    await settle(runtime)
                    _, lat, from_commit = await outbox_path(
                        runtime, latency_count, args.rate, args.batch, args.writers
                    )
                result = results[path]
                result["throughput"].append(tput)
                result["p50"].append(percentile(lat, 0.50))
                result["p95"].append(percentile(lat, 0.95))
                result["commit_p50"].append(percentile(from_commit, 0.50))
                result["commit_p95"].append(percentile(from_commit, 0.95))
                print(
                    f"run {run + 1} {path:6s} {tput:8.0f} ev/s flat out; at {args.rate:.0f}/s "
                    f"p50/p95 {result['p50'][-1]:.1f}/{result['p95'][-1]:.1f} ms from creation, "
                    f"{result['commit_p50'][-1]:.1f}/{result['commit_p95'][-1]:.1f} ms from commit",
                    flush=True,
                )
    finally:
        await raw_child.stop()
        await outbox_child.stop()
        await producer.stop()
        await runtime.stop()
    med = {p: {k: statistics.median(v) for k, v in r.items()} for p, r in results.items()}
    print(
        f"\nmedians over {args.runs} runs ({args.events} events flat out; "
        f"{latency_count} events at {args.rate:.0f}/s, one per transaction, for latency)"
    )
    print(
        f"{'path':8s} {'events/s':>10s} {'p50 ms':>8s} {'p95 ms':>8s}"
        f" {'p50 from commit':>16s} {'p95 from commit':>16s}"
    )
    for path in ("raw", "outbox"):
        m = med[path]
        print(
            f"{path:8s} {m['throughput']:10.0f} {m['p50']:8.1f} {m['p95']:8.1f}"
            f" {m['commit_p50']:16.1f} {m['commit_p95']:16.1f}"
        )
    outbox = med["outbox"]
    print(
        f"outbox/raw throughput ratio: {outbox['throughput'] / med['raw']['throughput']:.2f}"
        f" (target >= 0.33); outbox p95 at {args.rate:.0f}/s: {outbox['p95']:.1f} ms from"
        f" creation, {outbox['commit_p95']:.1f} ms from commit (target < 50 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000, help="events per throughput run")
    parser.add_argument("--rate", type=float, default=500, help="offered rate for latency runs")
    parser.add_argument("--seconds", type=float, default=10, help="length of latency runs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100, help="events per transaction, flat out")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers, flat out")
    parser.add_argument("--serve", choices=["raw", "outbox"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    # uvloop, as uvicorn runs the services.
    if arguments.serve == "raw":
        uvloop.run(serve_raw_consumer())
    elif arguments.serve == "outbox":
        uvloop.run(serve_outbox_consumer())
    else:
        uvloop.run(main(arguments))
