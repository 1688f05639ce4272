"""Audit trail: appending (hash-chained, through the service's append path) beside a raw
INSERT of the same rows into an unchained copy of the table, in the same run; then the
verification of the whole trail (rows/s, peak memory).

    uv run python benchmarks/audit_trail.py --events 200000 --batch 500 --runs 3

Uses a database of its own (bench_audit_trail), dropped and migrated at the start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid

import asyncpg
from sqlalchemy import MetaData, insert, text

from acms_contracts import EventEnvelope
from acms_contracts.audit import AccessDecisionRecorded
from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.settings import load_settings
from acms_retention.app import SERVICE_ROOT
from acms_retention.tables import audit_trail
from acms_retention.trail import append
from acms_retention.trail.extraction import index_for

DATABASE = "bench_audit_trail"


def envelopes(count: int) -> list[EventEnvelope]:
    students = [str(uuid.uuid4()) for _ in range(max(count // 20, 1))]
    return [
        EventEnvelope.wrap(
            AccessDecisionRecorded(
                principal_id=str(uuid.uuid4()),
                organisation_id=uuid.uuid4(),
                roles=["school_leader"],
                service="referrals",
                resource_kind="referral",
                resource_id=str(uuid.uuid4()),
                action="view",
                allowed=True,
                tiers=["basic", "summary"],
                rule="school_leader_sees_requests_of_their_school",
                trace_id=uuid.uuid4().hex,
                subject_student_key=students[i % len(students)],
            ),
            producer="referrals",
        )
        for i in range(count)
    ]


async def reset(settings) -> None:
    admin = await asyncpg.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        database="postgres",
    )
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    await asyncio.to_thread(upgrade_to_head, SERVICE_ROOT, settings.database_url)


async def chained(database: Database, items: list[EventEnvelope], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        async with database.transaction() as session:
            for envelope in items[start : start + batch]:
                append.queue(session, envelope.event(), envelope)
    return len(items) / (time.perf_counter() - started)


async def raw(database: Database, items: list[EventEnvelope], batch: int) -> float:
    """The same rows (hashes precomputed, untimed) into a table without chain or trigger."""
    rows, prev = [], bytes(32)
    for seq, envelope in enumerate(items, 1):
        item = append.PendingEvent(
            "acms.audit.access.v1", envelope, index_for(envelope.event(), envelope)
        )
        row = append.trail_row(0, seq, prev, envelope.occurred_at, item)
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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings("retention", database_name=DATABASE)
    chained_rates, raw_rates = [], []
    for _ in range(args.runs):
        await reset(settings)
        database = Database(settings)
        items = envelopes(args.events)
        raw_rates.append(await raw(database, items, args.batch))
        chained_rates.append(await chained(database, items, args.batch))
        await database.dispose()
    # The command itself, in a child process: its time and its peak memory alone.
    env = os.environ | {"ACMS_DATABASE_NAME": DATABASE}
    started = time.perf_counter()
    done = subprocess.run(  # noqa: ASYNC221 - timed on purpose, nothing else runs
        [sys.executable, "-m", "acms_retention.verify"], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    result = json.loads(done.stdout)
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "events": args.events,
                "batch": args.batch,
                "raw_insert_per_s": round(statistics.median(raw_rates)),
                "chained_append_per_s": round(statistics.median(chained_rates)),
                "ratio": round(statistics.median(chained_rates) / statistics.median(raw_rates), 2),
                "verify_rows": result["rows"],
                "verify_intact": result["intact"],
                "verify_seconds": round(seconds, 2),
                "verify_rows_per_s": round(result["rows"] / seconds),
                "verify_peak_rss_mib": round(child_rss),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
