"""`python -m acms_retention.verify`: verify the audit trail's hash chains and checkpoints.

Prints progress to stderr, then the result as JSON; names the first broken link of each
chain; exits 0 when the trail is intact, 1 when it is not, 2 when it could not be read.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import asyncpg

from acms_platform.settings import Settings
from acms_retention.config import checkpoint_key, load
from acms_retention.trail.verification import Verification, verify_trail


async def connect(settings: Settings) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        database=settings.database_name or "acms_retention",
    )


async def run(settings: Settings) -> Verification:
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        share = 100 * done / total if total else 100.0
        rate = done / max(time.monotonic() - started, 1e-9)
        print(f"verified {done:,} of {total:,} rows ({share:.0f}%, {rate:,.0f}/s)", file=sys.stderr)

    connection = await connect(settings)
    try:
        return await verify_trail(connection, checkpoint_key(settings), progress)
    finally:
        await connection.close()


def main() -> int:
    settings = load()
    try:
        result = asyncio.run(run(settings))
    except (OSError, asyncpg.PostgresError) as error:
        print(f"cannot read the audit trail: {error}", file=sys.stderr)
        return 2
    for broken in result.breaks:
        print(f"BROKEN: {broken}", file=sys.stderr)
    print(json.dumps(result.as_json(), indent=2))
    return 0 if result.intact else 1


if __name__ == "__main__":
    sys.exit(main())
