"""Re-key the integrations service's student keys under the current student-key secret.

    ACMS_STUDENT_KEY_SECRET=<the new secret> python -m acms_integrations.rekey

Each `enrolments` row keeps the NSN its key was computed from: its key is recomputed
from it. Then every re-keyed enrolment is published again (`StudentEnrolmentChanged`,
through the outbox, as the intake would), so that consumers holding enrolments by key
(referrals) learn each student under the new key. Rows from before migration 0003 have no
NSN and keep their old key until ENROL next reports the student (`legacy_keys`).

Run it with every service stopped, after changing the secret (README, "Student keys"); it
prints its progress and commits all or nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from acms_platform.rekey import KeyColumn, Report, print_progress, rewrite_keys

COLUMNS = (KeyColumn("enrolments"),)


def rekey(
    connection: Connection, key_of: Callable[[str], str], report: Report = print_progress
) -> list[str]:
    """Re-key every row that keeps its NSN, in this transaction; the keys re-keyed."""
    rows = connection.execute(
        text("select student_key, nsn from enrolments where nsn is not null")
    ).all()
    mapping = {key: key_of(nsn) for key, nsn in rows}
    report(f"integrations: {len(mapping)} student keys found")
    rewrite_keys(connection, mapping, COLUMNS, report=report, label="integrations")
    return [new for old, new in mapping.items() if old != new]


async def _main() -> None:
    from acms_integrations.service import enrolment_event
    from acms_integrations.tables import enrolments
    from acms_platform.database import Database
    from acms_platform.outbox import Outbox
    from acms_platform.settings import load_settings

    settings = load_settings("integrations")
    database = Database(settings)
    outbox = Outbox("integrations")
    try:
        async with database.sessions() as session, session.begin():
            await session.execute(text("lock table enrolments in exclusive mode"))
            connection = await session.connection()
            keys = await connection.run_sync(rekey, settings.student_key)
            for start in range(0, len(keys), 1000):
                batch = keys[start : start + 1000]
                held = await session.execute(
                    select(enrolments).where(enrolments.c.student_key.in_(batch))
                )
                for row in held:
                    await outbox.add(session, enrolment_event(row.student_key, row))
            print_progress(f"integrations: {len(keys)} enrolments published again")
        print_progress("integrations: re-keyed and committed")
    finally:
        await database.engine.dispose()


if __name__ == "__main__":  # pragma: no cover - exercised by tests/test_student_keys_rekey
    asyncio.run(_main())
