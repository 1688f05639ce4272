"""Batch-upload throughput and memory: an ENROL file and the national daily attendance file
through integrations' upload path, beside PostgreSQL `COPY` of the same file into a bare
table, in the same run.

    uv run python benchmarks/feed_ingest.py --enrol-rows 800000 --attendance-rows 1660000 --runs 3

Method: a database `bench_integrations_feeds` at integrations' migrations head, with 2,500
schools in its organisations projection and an active case for `--case-share` of the
students. Files are generated once into `--dir` (CSV; ENROL: one row per student;
attendance: AM and PM for each of rows/2 students, 1 in 10 marks an absence). Each
measurement runs in a fresh child process, so its peak RSS (`ru_maxrss`) is its own:
- *upload*: `jobs.run_upload` over the file read in 64 KiB chunks, as the PUT route
  calls it (HTTP, the token and the policy check excluded): lines split, every row
  validated, student keys computed, changes applied and their events written to the
  outbox, a transaction and a job progress update per 5,000 rows. Kafka is not involved
  (the relay is not running: its cost is `messaging_throughput.py`'s);
- ENROL is measured twice per run: into an empty table (every row new: 800,000 events)
  and the same file again (nothing changes, nothing published);
- *COPY*: `COPY … FROM STDIN (FORMAT csv, HEADER)` of the same file into a table with the
  same columns and no index or key, through asyncpg's `copy_to_table`.
Tables touched are truncated before a run and vacuumed. Medians of `--runs`; the ratio is
upload time / COPY time of the same file; memory is the child's peak RSS, and its growth
over its RSS before the upload started. Needs PostgreSQL (`deploy/infra.sh up postgres`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from acms_contracts.student_keys import student_key_for_nsn
from acms_integrations import jobs
from acms_integrations.app import SERVICE_ROOT
from acms_integrations.attendance import attendance_kind
from acms_integrations.batch_schemas import FileFormat
from acms_integrations.enrol_batch import enrolment_kind
from acms_platform.database import Database
from acms_platform.migrations import alembic_config
from acms_platform.outbox import Outbox
from acms_platform.settings import Settings, load_settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET, create_database

DATABASE = "bench_integrations_feeds"
SCHOOLS = [uuid.UUID(int=0xB0000000_0000_4000_8000_000000000000 + n) for n in range(2500)]
AS_OF = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
CHUNK_BYTES = 64 * 1024
CODES = ["P"] * 9 + ["T", "M", "J", "E", "?", "L"]
BARE_TABLES = {
    "enrolments": "create table if not exists bench_copy_enrolments (nsn text, school_id uuid,"
    " student_type text, year_level smallint, enrolled_on date, left_on date,"
    " leaving_reason text)",
    "attendance": "create table if not exists bench_copy_attendance (nsn text, school_id uuid,"
    ' "date" date, session text, code text)',
}
TOUCHED = {
    "enrolments": "truncate enrolments, outbox, ingest_jobs, ingest_rejections",
    "attendance": "truncate attendance_records, outbox, ingest_jobs, ingest_rejections",
}


def settings() -> Settings:
    return load_settings(
        "integrations",
        database_name=DATABASE,
        student_key_secret=TEST_STUDENT_KEY_SECRET,
        log_level="WARNING",
    )


def nsn(n: int) -> str:
    return f"{200_000_000 + n}"


def write_enrol_file(path: Path, rows: int) -> None:
    rng = random.Random(rows)
    with path.open("w") as out:
        out.write("nsn,school_id,student_type,year_level,enrolled_on,left_on,leaving_reason\n")
        for n in range(rows):
            year = rng.randint(0, 13)
            school = SCHOOLS[rng.randrange(len(SCHOOLS))]
            if n % 50 == 0:
                out.write(f"{nsn(n)},{school},RE,{year},2025-02-03,2026-02-20,Left NZ\n")
            else:
                out.write(f"{nsn(n)},{school},RE,{year},2026-02-02,,\n")


def write_attendance_file(path: Path, rows: int) -> None:
    rng = random.Random(rows)
    with path.open("w") as out:
        out.write("nsn,school_id,date,session,code\n")
        for n in range(rows // 2):
            school = SCHOOLS[n % len(SCHOOLS)]
            for session in ("AM", "PM"):
                code = CODES[rng.randrange(len(CODES))] if n % 10 == 0 else "P"
                out.write(f"{nsn(n)},{school},2026-03-02,{session},{code}\n")


async def prepare(args: argparse.Namespace) -> None:
    config = settings()
    await create_database(config)
    alembic = alembic_config(SERVICE_ROOT, config.database_url, TEST_STUDENT_KEY_SECRET)
    await asyncio.to_thread(command.upgrade, alembic, "head")
    database = Database(config)
    students = max(args.enrol_rows, args.attendance_rows // 2)
    with_case = int(students * args.case_share)
    try:
        async with database.transaction() as session:
            await session.execute(text("truncate organisations, active_cases"))
            await session.execute(
                text("insert into organisations (id, org_type, name) values (:id, 'school', :n)"),
                [{"id": s, "n": f"Bench School {i}"} for i, s in enumerate(SCHOOLS)],
            )
            step = max(1, students // with_case) if with_case else students + 1
            await session.execute(
                text(
                    "insert into active_cases (case_id, student_key, school_id, opened_at)"
                    " values (:id, :key, :school, now())"
                ),
                [
                    {
                        "id": uuid.uuid4(),
                        "key": student_key_for_nsn(nsn(n), TEST_STUDENT_KEY_SECRET),
                        "school": SCHOOLS[n % len(SCHOOLS)],
                    }
                    for n in range(0, students, step)
                ],
            )
            for statement in BARE_TABLES.values():
                await session.execute(text(statement))
    finally:
        await database.engine.dispose()


async def reset(kind: str) -> None:
    database = Database(settings())
    try:
        async with database.transaction() as session:
            await session.execute(text(TOUCHED[kind]))
            await session.execute(text(f"truncate bench_copy_{kind}"))
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("vacuum analyze"))
    finally:
        await database.engine.dispose()


# --- measured, in a child process ---------------------------------------------------------


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk


async def measure_upload(kind: str, path: Path) -> dict[str, object]:
    config = settings()
    database = Database(config)
    outbox = Outbox("integrations")
    make = enrolment_kind if kind == "enrolments" else attendance_kind
    feed = make(outbox, config.student_key)
    async with database.transaction() as session:
        job = await jobs.create_job(session, feed.name, FileFormat.CSV, AS_OF, "bench")
    before = rss_mib()
    started, cpu = time.perf_counter(), time.process_time()
    done = await jobs.run_upload(database, feed, job.id, "bench", file_chunks(path))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await database.engine.dispose()
    counts = {k: getattr(done, k) for k in ("rows_read", "applied", "unchanged", "dropped")}
    return {"seconds": elapsed, "cpu_seconds": cpu, "rss_before_mib": before, **counts}


async def measure_copy(kind: str, path: Path) -> dict[str, object]:
    import asyncpg

    config = settings()
    connection = await asyncpg.connect(
        host=config.pg_host,
        port=config.pg_port,
        user=config.pg_user,
        password=config.pg_password,
        database=DATABASE,
    )
    before = rss_mib()
    started = time.perf_counter()
    with path.open("rb") as source:
        await connection.copy_to_table(
            f"bench_copy_{kind}", source=source, format="csv", header=True
        )
    elapsed = time.perf_counter() - started
    await connection.close()
    return {"seconds": elapsed, "rss_before_mib": before}


def child(what: str, kind: str, path: str) -> None:
    measure = measure_upload if what == "upload" else measure_copy
    result = asyncio.run(measure(kind, Path(path)))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(what: str, kind: str, path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", what, kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- the parent: files, runs, medians ------------------------------------------------------


def report(label: str, rows: int, uploads: list[dict], copies: list[dict]) -> None:
    up = statistics.median(r["seconds"] for r in uploads)
    cp = statistics.median(r["seconds"] for r in copies)
    peak = statistics.median(r["peak_rss_mib"] for r in uploads)
    growth = statistics.median(r["peak_rss_mib"] - r["rss_before_mib"] for r in uploads)
    cpu = statistics.median(r["cpu_seconds"] for r in uploads)
    print(
        f"{label}: {rows:,} rows | upload {rows / up:,.0f} rows/s ({up:.1f} s; the process's "
        f"own CPU {1e6 * cpu / rows:.0f} us/row), peak RSS "
        f"{peak:.0f} MiB (+{growth:.0f} MiB over start) | COPY {rows / cp:,.0f} rows/s "
        f"({cp:.1f} s), peak RSS {statistics.median(r['peak_rss_mib'] for r in copies):.0f} MiB"
        f" | upload/COPY time {up / cp:.2f} | runs {[round(r['seconds'], 1) for r in uploads]}"
        f" vs {[round(r['seconds'], 1) for r in copies]} | last counts "
        f"{ {k: uploads[-1][k] for k in ('rows_read', 'applied', 'unchanged', 'dropped')} }",
        flush=True,
    )


def bench(kind: str, rows: int, directory: Path, runs: int, again: bool) -> None:
    path = directory / f"{kind}-{rows}.csv"
    if not path.exists():
        (write_enrol_file if kind == "enrolments" else write_attendance_file)(path, rows)
    first, repeat, copies = [], [], []
    for _ in range(runs):
        asyncio.run(reset(kind))
        copies.append(run_child("copy", kind, path))
        first.append(run_child("upload", kind, path))
        if again:
            repeat.append(run_child("upload", kind, path))
    report(f"{kind}, first upload", rows, first, copies)
    if again:
        report(f"{kind}, the same file again", rows, repeat, copies)


def main(args: argparse.Namespace) -> None:
    args.dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(prepare(args))
    for rows in sorted({args.small_rows, args.enrol_rows}):
        bench("enrolments", rows, args.dir, args.runs, again=True)
    for rows in sorted({args.small_rows, args.attendance_rows}):
        bench("attendance", rows, args.dir, args.runs, again=False)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrol-rows", type=int, default=800_000)
    parser.add_argument("--attendance-rows", type=int, default=1_660_000)
    parser.add_argument("--small-rows", type=int, default=100_000)
    parser.add_argument("--case-share", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/acms-feed-bench"))
    main(parser.parse_args())
