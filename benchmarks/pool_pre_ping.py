"""What pinging pooled connections at checkout would cost a transaction (database.py).

Runs the same one-statement transaction through the platform's Database as it is (its
checkout hook drops connections the driver knows are closed, no I/O) and with SQLAlchemy's
pool_pre_ping added (a round trip per checkout), alternating rounds so a busy machine weighs
on both alike, and prints the median time per transaction of each. Needs PostgreSQL from
deploy/infra.sh; uses the `acms_identity` database read-only (`select 1`).

    .venv/bin/python benchmarks/pool_pre_ping.py [transactions per round] [rounds]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from sqlalchemy import text

from acms_platform.database import Database
from acms_platform.settings import Settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET


async def per_transaction_us(database: Database, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        async with database.transaction() as session:
            await session.execute(text("select 1"))
    return (time.perf_counter() - started) / count * 1e6


async def main(count: int, rounds: int) -> None:
    settings = Settings(
        service_name="identity", log_level="WARNING", student_key_secret=TEST_STUDENT_KEY_SECRET
    )
    databases = {}
    for pre_ping in (True, False):
        database = Database(settings)
        database.engine.sync_engine.pool._pre_ping = pre_ping
        databases[pre_ping] = database
        await per_transaction_us(database, 200)  # warm: connection made, statements cached
    results: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for pre_ping, database in databases.items():
            results[pre_ping].append(await per_transaction_us(database, count))
    for database in databases.values():
        await database.dispose()
    on, off = statistics.median(results[True]), statistics.median(results[False])
    print(f"transactions: {rounds} rounds x {count}, median per transaction")
    print(f"  platform (closed check)  {off:8.1f} us")
    print(f"  with pool_pre_ping       {on:8.1f} us")
    print(f"  pre-ping would add       {on - off:8.1f} us per transaction")


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(arguments + [2000, 5][len(arguments) :])))
