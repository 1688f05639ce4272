"""Re-keying throughput: how fast `acms_referrals.rekey` rewrites stored student keys after
a change of ACMS_STUDENT_KEY_SECRET, and, as its baseline, how fast one core computes keys.

    uv run python benchmarks/student_key_rekey.py --students 50000 --runs 3

Method: a database `bench_referrals_rekey` at referrals' migrations head holds `--students`
requests (one per student, each with its NSN) and one enrolment row per student. Each run
re-keys everything under a new secret in one transaction (the command's code path, without
its process start) and is timed from the first query to the commit; the tables are vacuumed
and analysed between runs. Reported: median rows/s over `--runs` (rows = requests +
enrolments rewritten) and keys/s of `student_key_for_nsn` alone. Needs PostgreSQL
(`deploy/infra.sh up postgres`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import text

from acms_contracts.student_keys import student_key_for_nsn
from acms_platform.database import Database
from acms_platform.migrations import alembic_config
from acms_platform.settings import load_settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET, create_database
from acms_referrals.app import SERVICE_ROOT
from acms_referrals.rekey import rekey


def secret(run: int) -> str:
    return f"benchmark-student-key-secret-{run:04d}-NOT-SECRET"


async def load(database: Database, students: int) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("truncate referrals, enrolments cascade"))
        org = uuid.uuid4()
        for start in range(0, students, 10_000):
            rows = []
            for n in range(start, min(students, start + 10_000)):
                nsn = f"{100_000_000 + n}"
                rows.append(
                    {"id": uuid.uuid4(), "nsn": nsn, "key": student_key_for_nsn(nsn, secret(0))}
                )
            await connection.execute(
                text(
                    "insert into referrals (id, status, version, student_key, nsn, student_name,"
                    " created_by, creator_org_id, details)"
                    " values (:id, 'draft', 1, :key, :nsn, 'A B', 'bench', :org, '{}')"
                ),
                [r | {"org": org} for r in rows],
            )
            await connection.execute(
                text(
                    "insert into enrolments (student_key, school_id, effective_on, as_of)"
                    " values (:key, null, :on, :at)"
                ),
                [{"key": r["key"], "on": date(2026, 3, 2), "at": datetime.now(UTC)} for r in rows],
            )


async def vacuum(database: Database) -> None:
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("vacuum analyze referrals"))
        await autocommit.execute(text("vacuum analyze enrolments"))


async def main(args: argparse.Namespace) -> None:
    settings = load_settings(
        "referrals",
        database_name="bench_referrals_rekey",
        student_key_secret=TEST_STUDENT_KEY_SECRET,
        log_level="WARNING",
    )
    await create_database(settings)
    config = alembic_config(SERVICE_ROOT, settings.database_url, TEST_STUDENT_KEY_SECRET)
    await asyncio.to_thread(command.upgrade, config, "head")
    database = Database(settings)
    try:
        await load(database, args.students)
        rates = []
        for run in range(1, args.runs + 1):
            await vacuum(database)
            new_secret = secret(run)
            started = time.perf_counter()
            async with database.engine.begin() as connection:
                changed = await connection.run_sync(
                    rekey, lambda nsn, s=new_secret: student_key_for_nsn(nsn, s), lambda _: None
                )
            elapsed = time.perf_counter() - started
            rows = changed["referrals"] + changed["enrolments"]
            rates.append(rows / elapsed)
            print(f"run {run}: {rows} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s")
        count = 200_000
        started = time.perf_counter()
        for n in range(count):
            student_key_for_nsn(f"{100_000_000 + n}", TEST_STUDENT_KEY_SECRET)
        keys_per_second = count / (time.perf_counter() - started)
        print(
            f"re-key: median {statistics.median(rates):,.0f} rows/s over {args.runs} runs"
            f" ({args.students} students: {args.students} requests + {args.students} enrolments);"
            f" student_key_for_nsn alone: {keys_per_second:,.0f} keys/s on one core"
        )
    finally:
        await database.engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
