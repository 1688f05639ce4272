"""Re-key the referrals service's student keys under the current student-key secret.

    ACMS_STUDENT_KEY_SECRET=<the new secret> python -m acms_referrals.rekey

Where the keys are: `referrals.student_key` (a request keeps the student's NSN in
`referrals.nsn`) and the `enrolments` projection (by key only; a key there is matched
through the requests that held it). Run it with every service stopped, after changing the
secret (README, "Student keys"); it prints its progress and commits all or nothing.
Migration 0008 runs the same re-keying once, from the unkeyed uuid5 keys.

A key is recomputed from the NSN of the requests that hold it. A request without an NSN
keeps its own random key, unless its key was derived from an NSN since removed from it:
that key gets a fresh random one (an old derived key is no longer anything's key, and under
a retired secret it may be reversible). Enrolment rows of students no request holds
cannot be matched to an NSN and are removed: integrations publishes every enrolment it
holds again under the new keys when it re-keys (`acms_integrations.rekey`), and after
migration 0008 at its next report of each student.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.engine import Connection

from acms_platform.rekey import KeyColumn, Report, print_progress, rewrite_keys

COLUMNS = (KeyColumn("referrals"), KeyColumn("enrolments"))


def _derived(key: str) -> bool:
    """Whether `key` was computed from an NSN (uuid5 before migration 0008, version 8
    since), not a request's own random key."""
    try:
        return UUID(key).version in (5, 8)
    except ValueError:
        return False


def rekey(
    connection: Connection, key_of: Callable[[str], str], report: Report = print_progress
) -> dict[str, int]:
    """Re-key every stored student key with `key_of` (NSN -> key), in this transaction."""
    mapping: dict[str, str] = {}
    rows = connection.execute(
        text("select distinct student_key, nsn from referrals where nsn is not null")
    )
    for key, nsn in rows:
        mapping[key] = key_of(nsn)
    keyless = connection.execute(
        text("select distinct student_key from referrals where nsn is null")
    ).scalars()
    for key in keyless:
        if key not in mapping and _derived(key):
            mapping[key] = str(uuid4())
    report(f"referrals: {len(mapping)} student keys found")
    changed = rewrite_keys(connection, mapping, COLUMNS, report=report, label="referrals")
    orphans = connection.execute(
        text(
            "delete from enrolments e where not exists"
            " (select 1 from referrals r where r.student_key = e.student_key)"
        )
    ).rowcount
    report(f"referrals: {orphans} enrolment rows of students no request holds removed")
    return changed | {"enrolments_removed": orphans}


async def _main() -> None:
    from acms_platform.database import Database
    from acms_platform.settings import load_settings

    settings = load_settings("referrals")
    database = Database(settings)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("lock table referrals, enrolments in exclusive mode"))
            result = await connection.run_sync(rekey, settings.student_key)
        print_progress(f"referrals: re-keyed and committed: {result}")
    finally:
        await database.engine.dispose()


if __name__ == "__main__":  # pragma: no cover - exercised by tests/test_student_keys_rekey
    asyncio.run(_main())
