"""Audit trail benchmarks (issue 12): ingest beside a raw INSERT; verification of a large
trail; "everyone who saw this student" over it.

    uv run python benchmarks/audit_trail.py --records 10000000 --ingest-events 200000

Parts (`--parts`, default all, in this order):
- *ingest*: the same `ApiRequestAudited` envelopes appended through the service's append
  path (hash-chained) and raw-INSERTed into an unchained copy of the table, `--batch`
  per transaction, `--runs` times; database `bench_audit_trail`, dropped and migrated
  each run.
- *seed*: `--records` trail rows in database `bench_audit_trail_trail`, kept between runs
  (its comment holds the seed's parameters; `--reseed` forces a new one). Rows are built
  by the service's own functions (the access kit's event, `index_for`, `append.trail_row`
  for the links, `seal.due` / `seal.checkpoint_row` for the checkpoints, on the events'
  own clock) and written with COPY by `--workers` processes, each owning some chains.
- *tamper*: one row in the middle of a chain edited, the command run once (it must name
  that row), the row put back.
- *verify*: `python -m acms_retention.verify` over the seeded trail in a child process,
  `--runs` times: seconds, peak RSS, progress lines.
- *student-access*: the officer view's query (`repository.student_access`, as the route
  calls it) for `--students` random students, `--runs` times: p50 / p95; EXPLAIN.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import MetaData, Text, bindparam, insert, text
from sqlalchemy.dialects.postgresql import ARRAY

from acms_contracts import EventEnvelope
from acms_contracts.audit import ApiRequestAudited, AuditedDenial, AuditedRecord
from acms_contracts.student_keys import student_key_for_nsn
from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.settings import Settings, load_settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET
from acms_retention import repository
from acms_retention.app import SERVICE_ROOT
from acms_retention.config import checkpoint_key
from acms_retention.tables import audit_trail
from acms_retention.trail import append, chain, seal
from acms_retention.trail.extraction import index_for

INGEST_DATABASE = "bench_audit_trail"
TRAIL_DATABASE = "bench_audit_trail_trail"
NAMESPACE = uuid.UUID("5b1c6a52-3f0e-4c1d-9a55-0d6d3a1e2b12")
BLOCK = 10_000  # events drawn from one seeded random generator
CHUNK = 10_000  # rows per COPY
# The tests' published secret, for these settings, the seeding workers and the command.
os.environ.setdefault("ACMS_STUDENT_KEY_SECRET", TEST_STUDENT_KEY_SECRET)
_TRAIL_COLUMNS = [c.name for c in audit_trail.columns]
_CHECKPOINT_COLUMNS = ["chain", "seq", "hash", "sealed_at", "mac"]


# --- the shape of the trail ---------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What the seeded trail looks like; its fields are the seed's marker."""

    records: int
    organisations: int = 300
    accounts: int = 4000
    events_per_student: int = 30
    start: str = "2025-12-01"  # a year of school days from here
    checkpoint_rows: int = 1000
    checkpoint_seconds: float = 60.0
    version: int = 1  # bump when the generator changes

    @property
    def students(self) -> int:
        return max(self.records // self.events_per_student, 1)

    @property
    def schools(self) -> int:
        return max(self.organisations * 8 // 10, 1)

    @property
    def providers(self) -> int:
        return max(self.organisations * 17 // 100, 1)


class Population:
    """Organisations, accounts and students of a shape; events drawn from them."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        n = shape.organisations
        self.orgs = [uuid.uuid5(NAMESPACE, f"org-{o}") for o in range(n)]
        self.org_chain = [chain.chain_for(str(o)) for o in self.orgs]
        self.accounts = [str(uuid.uuid5(NAMESPACE, f"account-{a}")) for a in range(shape.accounts)]
        self._keys: dict[int, str] = {}
        start = datetime.fromisoformat(shape.start).replace(tzinfo=UTC)
        # School days (Monday to Friday), 08:00-18:00 New Zealand time (19:00-05:00 UTC).
        self.days = [
            start + timedelta(days=d, hours=-5)
            for d in range(365)
            if (start + timedelta(days=d)).weekday() < 5
        ]
        self.seconds = len(self.days) * 36_000

    def student_key(self, student: int) -> str:
        key = self._keys.get(student)
        if key is None:
            key = self._keys[student] = student_key_for_nsn(
                f"99{student:08d}", TEST_STUDENT_KEY_SECRET
            )
        return key

    def role_of(self, org: int) -> tuple[str, str]:
        """(role, rule) of an account of organisation `org`."""
        if org < self.shape.schools:
            return "school_leader", "school_leader_sees_cases_of_their_school"
        if org < self.shape.schools + self.shape.providers:
            return "case_manager", "case_manager_sees_their_cases"
        return "central_investigation", "central_investigation_sees_every_case"

    def account_of(self, org: int, rng: random.Random) -> int:
        per_org = max(self.shape.accounts // self.shape.organisations, 1)
        return (org + self.shape.organisations * rng.randrange(per_org)) % self.shape.accounts

    def moment(self, i: int) -> datetime:
        position = i * self.seconds / self.shape.records
        day, second = divmod(position, 36_000)
        return self.days[int(day)] + timedelta(seconds=second)

    def draw(self, i: int, rng: random.Random) -> tuple[Any, ...]:
        """Event i's parameters, cheaply: everything random is drawn here, in one order,
        so every worker draws the same events whichever it then builds."""
        shape = self.shape
        busy = rng.random() < 0.3  # a tenth of the students get 30% of the reads
        pool = max(shape.students // 10, 1) if busy else shape.students
        student = rng.randrange(pool)
        u = rng.random()
        if u < 0.02:
            kind = "denied"
            org = rng.randrange(shape.organisations)
        else:
            kind = "list" if u < 0.12 else "notes" if u < 0.25 else "view"
            school = rng.random() < 0.6
            org = student % shape.schools if school else shape.schools + student % shape.providers
            if rng.random() < 0.05:
                org = shape.schools + shape.providers  # a Ministry read
        account = self.account_of(org, rng)
        size = rng.randint(5, 20) if kind == "list" else rng.randint(2, 4)
        return (
            i,
            kind,
            org,
            account,
            student,
            size,
            rng.getrandbits(128),  # event id
            rng.getrandbits(128),  # trace id
            rng.getrandbits(64),  # span id
            rng.random(),
        )

    def build(self, drawn: tuple[Any, ...]) -> tuple[int, EventEnvelope, Any]:
        """(chain, envelope, event) of drawn parameters, as the access kit would make them."""
        i, kind, org, account, student, size, event_bits, trace_bits, span_bits, u = drawn
        role, rule = self.role_of(org)
        case_id = str(uuid.UUID(int=(student << 16) | 1))
        records: list[AuditedRecord] = []
        denials: list[AuditedDenial] = []
        if kind == "denied":
            reason = "not_found" if u < 0.4 else "not_visible"
            denials = [
                AuditedDenial(
                    kind="case",
                    id=str(uuid.UUID(int=event_bits)) if reason == "not_found" else case_id,
                    action="view",
                    student_key=None if reason == "not_found" else self.student_key(student),
                    reason=reason,
                )
            ]
            route, action, service = "/cases/{case_id}", "view", "cases"
        elif kind == "list":
            step = self.shape.schools if org < self.shape.schools else self.shape.providers
            # the page: this student and the next of the same organisation
            rounds = max(self.shape.students // step, 1)
            members = [
                student % step + ((student // step + k) % rounds) * step for k in range(size)
            ]
            records = [
                AuditedRecord(
                    kind="referral",
                    id=str(uuid.UUID(int=(s << 16) | 2)),
                    student_key=self.student_key(s),
                    tiers=["basic", "summary"],
                    rule=rule,
                )
                for s in members
            ]
            route, action, service = "/referrals", "list", "referrals"
        else:
            tiers = ["basic", "summary", "support_plan", "shared"]
            if role != "school_leader":
                tiers = [*tiers, "demographic", "full"]
            key = self.student_key(student)
            records = [
                AuditedRecord(kind="case", id=case_id, student_key=key, tiers=tiers, rule=rule)
            ]
            if kind == "notes":
                records += [
                    AuditedRecord(
                        kind="case_item",
                        id=str(uuid.UUID(int=(student << 16) | (16 + k))),
                        student_key=key,
                        tiers=["full"],
                        rule=rule,
                    )
                    for k in range(size)
                ]
            route, action, service = "/cases/{case_id}", "view", "cases"
        trace = f"{trace_bits:032x}"
        event = ApiRequestAudited(
            principal_id=self.accounts[account],
            organisation_id=self.orgs[org],
            roles=[role],
            service=service,
            method="GET",
            route=route,
            action=action,
            status_code=200 if records else 404,
            trace_id=trace,
            records=records,
            denials=denials,
        )
        # EventEnvelope.wrap's fields, with the event's own id and time
        envelope = EventEnvelope(
            event_id=uuid.UUID(int=event_bits, version=4),
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=self.moment(i),
            producer=service,
            key=event.partition_key(),
            student_key=event.student_key(),
            trace_context={"traceparent": f"00-{trace}-{span_bits:016x}-01"},
            payload=event.model_dump(mode="json"),
        )
        return chain.chain_for(envelope.key), envelope, event

    def events(self, first: int, last: int):
        """(i, drawn) for events first..last-1, block by block."""
        for block in range(first // BLOCK, (last + BLOCK - 1) // BLOCK):
            rng = random.Random(block * 1_000_003 + self.shape.version)
            for i in range(block * BLOCK, min((block + 1) * BLOCK, self.shape.records)):
                drawn = self.draw(i, rng)
                if i >= first and i < last:
                    yield drawn


def trail_row(
    chain_id: int, seq: int, prev_hash: bytes, envelope: EventEnvelope, event: Any
) -> dict[str, Any]:
    """The row the append path writes for this event (stored 0.2 s after it happened)."""
    item = append.PendingEvent(event.topic, envelope, index_for(event, envelope))
    return append.trail_row(
        chain_id, seq, prev_hash, envelope.occurred_at + timedelta(milliseconds=200), item
    )


def copy_record(row: dict[str, Any], envelope: EventEnvelope) -> tuple[Any, ...]:
    """The row for COPY: JSONB columns as JSON text (the envelope's is the same JSON as the
    dict the row holds, `model_dump(mode="json")`, written by pydantic)."""
    values = dict(row, accesses=json.dumps(row["accesses"]), envelope=envelope.model_dump_json())
    return tuple(values[c] for c in _TRAIL_COLUMNS)


# --- infrastructure -----------------------------------------------------------------------


def settings_for(database: str) -> Settings:
    return load_settings("retention", database_name=database)


async def connect(settings: Settings, database: str | None = None) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        database=database or settings.database_name,
    )


async def recreate(settings: Settings) -> None:
    admin = await connect(settings, "postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{settings.database_name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{settings.database_name}"')
    await admin.close()
    await asyncio.to_thread(upgrade_to_head, SERVICE_ROOT, settings.database_url)


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


# --- ingest: chained append vs raw INSERT -------------------------------------------------


async def chained(database: Database, items: list[tuple[EventEnvelope, Any]], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        async with database.transaction() as session:
            for envelope, event in items[start : start + batch]:
                append.queue(session, event, envelope)
    return len(items) / (time.perf_counter() - started)


async def raw(database: Database, items: list[tuple[EventEnvelope, Any]], batch: int) -> float:
    """The same rows (hashes precomputed, untimed) into a table without chain or trigger."""
    rows, prev = [], chain.GENESIS
    for seq, (envelope, event) in enumerate(items, 1):
        row = trail_row(0, seq, prev, envelope, event)
        prev = row["hash"]
        rows.append(row)
    async with database.transaction() as session:
        await session.execute(text("DROP TABLE IF EXISTS raw_trail"))
        await session.execute(text("CREATE TABLE raw_trail (LIKE audit_trail INCLUDING INDEXES)"))
    raw_table = audit_trail.to_metadata(MetaData(), name="raw_trail")
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        async with database.transaction() as session:
            await session.execute(insert(raw_table), rows[start : start + batch])
    return len(rows) / (time.perf_counter() - started)


async def ingest(events: int, batch: int, runs: int) -> dict[str, Any]:
    settings = settings_for(INGEST_DATABASE)
    population = Population(Shape(records=events))
    items = []
    for drawn in population.events(0, events):
        _, envelope, event = population.build(drawn)
        items.append((envelope, event))
    chained_rates, raw_rates = [], []
    for run in range(runs):
        await recreate(settings)
        database = Database(settings)
        raw_rates.append(await raw(database, items, batch))
        chained_rates.append(await chained(database, items, batch))
        await database.dispose()
        print(
            f"ingest run {run + 1}: raw {raw_rates[-1]:,.0f}/s, chained {chained_rates[-1]:,.0f}/s"
            f" (load {load_average()})",
            file=sys.stderr,
        )
    return {
        "events": events,
        "batch": batch,
        "raw_insert_per_s": [round(r) for r in raw_rates],
        "chained_append_per_s": [round(r) for r in chained_rates],
        "median_raw_per_s": round(statistics.median(raw_rates)),
        "median_chained_per_s": round(statistics.median(chained_rates)),
        "ratio_of_medians": round(
            statistics.median(chained_rates) / statistics.median(raw_rates), 2
        ),
        "ratios": [round(c / r, 2) for c, r in zip(chained_rates, raw_rates, strict=True)],
    }


# --- seed ---------------------------------------------------------------------------------


def seed_worker(shape_fields: dict[str, Any], chains: list[int], worker: int) -> dict[str, Any]:
    return asyncio.run(_seed_worker(Shape(**shape_fields), set(chains), worker))


async def _seed_worker(shape: Shape, chains: set[int], worker: int) -> dict[str, Any]:
    settings = settings_for(TRAIL_DATABASE)
    key = checkpoint_key(settings)
    every = timedelta(seconds=shape.checkpoint_seconds)
    population = Population(shape)
    connection = await connect(settings)
    await connection.execute("SET synchronous_commit = off")
    # Resume where an interrupted seed stopped: each chain's head and last seal as stored
    # (each chunk's rows and checkpoints are committed together).
    heads = {c: (0, chain.GENESIS) for c in chains}
    seals: dict[int, tuple[int, datetime | None]] = {c: (0, None) for c in chains}
    for c, seq, head in await connection.fetch(
        "SELECT DISTINCT ON (chain) chain, seq, hash FROM audit_trail"
        " WHERE chain = ANY($1) ORDER BY chain, seq DESC",
        list(chains),
    ):
        heads[c] = (seq, bytes(head))
    for c, seq, sealed_at in await connection.fetch(
        "SELECT DISTINCT ON (chain) chain, seq, sealed_at FROM audit_checkpoints"
        " WHERE chain = ANY($1) ORDER BY chain, seq DESC",
        list(chains),
    ):
        seals[c] = (seq, sealed_at)
    skip = {c: heads[c][0] for c in chains}
    resumed = sum(skip.values())
    rows: list[tuple[Any, ...]] = []
    checkpoints: list[tuple[Any, ...]] = []
    written = sealed = 0
    started = last_report = time.monotonic()

    async def flush() -> None:
        nonlocal rows, checkpoints
        async with connection.transaction():
            if rows:
                await connection.copy_records_to_table(
                    "audit_trail", records=rows, columns=_TRAIL_COLUMNS
                )
            if checkpoints:
                await connection.copy_records_to_table(
                    "audit_checkpoints", records=checkpoints, columns=_CHECKPOINT_COLUMNS
                )
        rows, checkpoints = [], []

    for drawn in population.events(0, shape.records):
        owner = population.org_chain[drawn[2]]
        if owner not in chains:
            continue
        if skip[owner]:
            skip[owner] -= 1
            continue
        chain_id, envelope, event = population.build(drawn)
        seq, prev = heads[chain_id]
        row = trail_row(chain_id, seq + 1, prev, envelope, event)
        heads[chain_id] = (seq + 1, row["hash"])
        rows.append(copy_record(row, envelope))
        written += 1
        # each event is its own append at this rate: the Sealer's rule after every row
        sealed_seq, sealed_at = seals[chain_id]
        now = row["stored_at"]
        if seal.due(seq + 1, sealed_seq, sealed_at, now, shape.checkpoint_rows, every):
            checkpoint = seal.checkpoint_row(key, chain_id, seq + 1, row["hash"], now)
            checkpoints.append(tuple(checkpoint[c] for c in _CHECKPOINT_COLUMNS))
            seals[chain_id] = (seq + 1, now)
            sealed += 1
        if len(rows) >= CHUNK:
            await flush()
            if time.monotonic() - last_report >= 30:
                last_report = time.monotonic()
                rate = written / (last_report - started)
                print(
                    f"seed worker {worker} (chains {sorted(chains)}): {written:,} rows,"
                    f" {sealed:,} checkpoints, {rate:,.0f} rows/s,"
                    f" at {envelope.occurred_at:%Y-%m-%d}"
                    f" (load {load_average()})",
                    file=sys.stderr,
                    flush=True,
                )
    await flush()
    await connection.close()
    return {
        "worker": worker,
        "rows": written,
        "resumed_after": resumed,
        "checkpoints": sealed,
        "seconds": round(time.monotonic() - started, 1),
    }


async def seeded_shape(settings: Settings) -> dict[str, Any] | None:
    try:
        connection = await connect(settings)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        comment = await connection.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            settings.database_name,
        )
    finally:
        await connection.close()
    return json.loads(comment) if comment and comment.startswith("{") else None


async def mark(connection: asyncpg.Connection, marker: dict[str, Any]) -> None:
    comment = json.dumps(marker, default=str).replace("'", "''")
    await connection.execute(f"COMMENT ON DATABASE \"{TRAIL_DATABASE}\" IS '{comment}'")


async def seed(shape: Shape, workers: int, reseed: bool) -> dict[str, Any]:
    """The seeded trail: kept when its marker names this shape, resumed when a seed of this
    shape was interrupted, otherwise made afresh."""
    settings = settings_for(TRAIL_DATABASE)
    found = await seeded_shape(settings)
    same = found is not None and found.get("shape") == asdict(shape) and not reseed
    if same and found["state"] == "done":
        print(f"seed: kept ({found['seed']['seconds']:.0f} s when made)", file=sys.stderr)
        return found["seed"] | {"kept": True}
    started = time.monotonic()
    if same:
        marker = found
        connection = await connect(settings)
        print("seed: resuming an interrupted seed", file=sys.stderr)
    else:
        await recreate(settings)
        connection = await connect(settings)
        # Secondary indexes and the unique event id are built after the load, as the
        # migrations define them (read back from the catalogue), not row by row.
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_trail'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'audit_trail'::regclass)"
        )
        unique = await connection.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint"
            " WHERE conrelid = 'audit_trail'::regclass AND contype = 'u'"
        )
        marker = {
            "shape": asdict(shape),
            "state": "loading",
            "indexes": [dict(r) for r in indexes],
            "unique": [dict(r) for r in unique],
        }
        await mark(connection, marker)
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        for constraint in unique:
            await connection.execute(
                f'ALTER TABLE audit_trail DROP CONSTRAINT "{constraint["conname"]}"'
            )
    chains = [[c for c in range(chain.CHAINS) if c % workers == w] for w in range(workers)]
    print(
        f"seed: {shape.records:,} rows by {workers} workers (load {load_average()})",
        file=sys.stderr,
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.starmap(seed_worker, [(asdict(shape), c, w) for w, c in enumerate(chains)])
    loaded = time.monotonic()
    await connection.execute("SET maintenance_work_mem = '1GB'")
    for constraint in marker["unique"]:
        print(f"seed: building {constraint['conname']}", file=sys.stderr, flush=True)
        await connection.execute(
            f'ALTER TABLE audit_trail ADD CONSTRAINT "{constraint["conname"]}" {constraint["def"]}'
        )
    for index in marker["indexes"]:
        print(f"seed: building {index['indexname']}", file=sys.stderr, flush=True)
        await connection.execute(index["indexdef"])
    indexed = time.monotonic()
    await connection.execute("VACUUM (ANALYZE) audit_trail")
    await connection.execute("VACUUM (ANALYZE) audit_checkpoints")
    done = time.monotonic()
    size = await connection.fetchval("SELECT pg_database_size(current_database())")
    table_sizes = {
        r["name"]: r["bytes"]
        for r in await connection.fetch(
            "SELECT relname AS name, pg_total_relation_size(oid) AS bytes FROM pg_class"
            " WHERE relname IN ('audit_trail', 'audit_checkpoints')"
        )
    }
    result = {
        "rows": await connection.fetchval("SELECT count(*) FROM audit_trail"),
        "checkpoints": await connection.fetchval("SELECT count(*) FROM audit_checkpoints"),
        "workers": results,
        "load_seconds": round(loaded - started, 1),
        "index_seconds": round(indexed - loaded, 1),
        "vacuum_analyze_seconds": round(done - indexed, 1),
        "seconds": round(done - started, 1),
        "database_bytes": size,
        "table_bytes": table_sizes,
        "load_at_end": load_average(),
    }
    await mark(connection, {"shape": asdict(shape), "state": "done", "seed": result})
    await connection.close()
    return result


# --- verification -------------------------------------------------------------------------


def verify_with_rss() -> dict[str, Any]:
    """The command in a child process: wall time (process start included), the child's own
    peak RSS (wait4), its progress lines and its result."""
    env = os.environ | {"ACMS_DATABASE_NAME": TRAIL_DATABASE}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "acms_retention.verify"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    output: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        output[name] = stream.read()

    # read both pipes to the end without letting communicate() reap the child
    readers = [
        threading.Thread(target=drain, args=("out", child.stdout)),
        threading.Thread(target=drain, args=("err", child.stderr)),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(child.pid, 0)
    for reader in readers:
        reader.join()
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    lines = output["err"].decode().splitlines()
    progress = [line for line in lines if line.startswith("verified ")]
    return {
        "exit": code,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "progress_lines": len(progress),
        "first_progress": progress[0] if progress else None,
        "last_progress": progress[-1] if progress else None,
        "broken": [line for line in lines if line.startswith("BROKEN")],
        "result": json.loads(output["out"]) if output["out"].strip() else None,
        "stderr_tail": lines[-3:] if code not in (0, 1) else [],
        "load": load_average(),
    }


async def tamper() -> dict[str, Any]:
    """Edit one row in the middle of the longest chain, run the command, put it back."""
    settings = settings_for(TRAIL_DATABASE)
    connection = await connect(settings)
    chain_id, head = await connection.fetchrow(
        "SELECT chain, max(seq) FROM audit_trail GROUP BY chain ORDER BY 2 DESC LIMIT 1"
    )
    seq = head // 2
    event_id, original = await connection.fetchrow(
        "SELECT event_id, envelope::text FROM audit_trail WHERE chain = $1 AND seq = $2",
        chain_id,
        seq,
    )
    await connection.execute("ALTER TABLE audit_trail DISABLE TRIGGER audit_trail_append_only")
    try:
        await connection.execute(
            "UPDATE audit_trail SET envelope = jsonb_set(envelope, '{payload,principal_id}',"
            " '\"someone-else\"') WHERE chain = $1 AND seq = $2",
            chain_id,
            seq,
        )
        outcome = await asyncio.to_thread(verify_with_rss)
    finally:
        await connection.execute(
            "UPDATE audit_trail SET envelope = $3::jsonb WHERE chain = $1 AND seq = $2",
            chain_id,
            seq,
            original,
        )
        await connection.execute("ALTER TABLE audit_trail ENABLE TRIGGER audit_trail_append_only")
        await connection.execute("VACUUM audit_trail")
        await connection.close()
    expected = f"chain {chain_id} seq {seq} (event {event_id})"
    return {
        "edited": expected,
        "named": any(expected in line for line in outcome["broken"]),
        **{k: outcome[k] for k in ("exit", "seconds", "peak_rss_mib", "broken", "load")},
    }


def verify_runs(runs: int) -> dict[str, Any]:
    results = []
    for run in range(runs):
        outcome = verify_with_rss()
        results.append(outcome)
        print(
            f"verify run {run + 1}: exit {outcome['exit']}, {outcome['seconds']} s,"
            f" {outcome['peak_rss_mib']} MiB, {outcome['progress_lines']} progress lines"
            f" (load {outcome['load']})",
            file=sys.stderr,
            flush=True,
        )
    last = results[-1]
    return {
        "runs": [{k: r[k] for k in ("exit", "seconds", "peak_rss_mib", "load")} for r in results],
        "median_seconds": statistics.median(r["seconds"] for r in results),
        "median_peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in results),
        "intact": all(r["result"] and r["result"]["intact"] for r in results),
        "rows": last["result"]["rows"] if last["result"] else None,
        "checkpoints": last["result"]["checkpoints"] if last["result"] else None,
        "progress_lines": last["progress_lines"],
        "first_progress": last["first_progress"],
        "last_progress": last["last_progress"],
        "stderr_tail": last["stderr_tail"],
    }


# --- everyone who saw this student --------------------------------------------------------


# The route's own statement (its period conditions empty, as in the timed calls).
_EXPLAIN = text("EXPLAIN (ANALYZE, BUFFERS) " + repository._STUDENT_ACCESS.text).bindparams(
    bindparam("keys", type_=ARRAY(Text))
)


async def student_access(shape: Shape, samples: int, runs: int) -> dict[str, Any]:
    """repository.student_access as the route calls it (no period, limit 10,000 + 1), each
    call in its own transaction as a request's session is."""
    settings = settings_for(TRAIL_DATABASE)
    population = Population(shape)
    rng = random.Random(12)
    students = [population.student_key(rng.randrange(shape.students)) for _ in range(samples)]
    database = Database(settings)
    per_run = []
    for run in range(runs):
        timings, counts = [], []
        for key in students:
            started = time.perf_counter()
            async with database.transaction() as session:
                rows = await repository.student_access(session, key, None, None, 10_001)
            timings.append((time.perf_counter() - started) * 1000)
            counts.append(len(rows))
        per_run.append(
            {
                "p50_ms": round(percentile(timings, 0.5), 2),
                "p95_ms": round(percentile(timings, 0.95), 2),
                "max_ms": round(max(timings), 2),
                "rows_median": statistics.median(counts),
                "rows_max": max(counts),
                "load": load_average(),
            }
        )
        print(f"student-access run {run + 1}: {per_run[-1]}", file=sys.stderr, flush=True)
    async with database.transaction() as session:
        explained = await session.execute(
            _EXPLAIN,
            {
                "keys": [students[0]],
                "key": students[0],
                "since": None,
                "until": None,
                "limit": 10_001,
            },
        )
        plan = [r[0] for r in explained]
    await database.dispose()
    return {
        "students": samples,
        "runs": per_run,
        "median_p50_ms": statistics.median(r["p50_ms"] for r in per_run),
        "median_p95_ms": statistics.median(r["p95_ms"] for r in per_run),
        "explain": plan,
    }


# --- main ---------------------------------------------------------------------------------


PARTS = ("ingest", "seed", "tamper", "verify", "student-access")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated: {PARTS}")
    parser.add_argument("--records", type=int, default=10_000_000, help="rows of the seeded trail")
    parser.add_argument("--ingest-events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="events per ingest transaction")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--students", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2, help="seeding processes")
    parser.add_argument("--reseed", action="store_true", help="seed again even if kept")
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    args = parser.parse_args()
    parts = args.parts.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; expected {PARTS}")
    shape = Shape(records=args.records)
    report: dict[str, Any] = {"load_at_start": load_average(), "shape": asdict(shape)}
    if "ingest" in parts:
        report["ingest"] = await ingest(args.ingest_events, args.batch, args.runs)
    if "seed" in parts:
        report["seed"] = await seed(shape, args.workers, args.reseed)
    if "tamper" in parts:
        report["tamper"] = await tamper()
    if "verify" in parts:
        report["verify"] = await asyncio.to_thread(verify_runs, args.runs)
    if "student-access" in parts:
        report["student_access"] = await student_access(shape, args.students, args.runs)
    report["load_at_end"] = load_average()
    if args.drop:
        settings = settings_for(TRAIL_DATABASE)
        admin = await connect(settings, "postgres")
        for name in (INGEST_DATABASE, TRAIL_DATABASE):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    asyncio.run(main())
