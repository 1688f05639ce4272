"""Queries of the integrations service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_integrations.tables import enrolments, organisations


async def known_schools(session: AsyncSession, ids: Iterable[UUID]) -> set[UUID]:
    """Those of `ids` that this service's organisations projection knows as schools."""
    wanted = set(ids)
    if not wanted:
        return set()
    table = organisations.table
    rows = await session.execute(
        select(table.c.id).where(table.c.id.in_(wanted), table.c.org_type == "school")
    )
    return set(rows.scalars())


async def adopt_legacy_row(
    session: AsyncSession, legacy_key: str, student_key: str, nsn: str
) -> bool:
    """Re-key the student's row from before migration 0003, if there is one (`legacy_keys`)."""
    result = await session.execute(
        update(enrolments)
        .where(enrolments.c.student_key == legacy_key, enrolments.c.nsn.is_(None))
        .values(student_key=student_key, nsn=nsn)
    )
    return cast(CursorResult[Any], result).rowcount > 0  # an UPDATE's result has a cursor


async def record_if_later(
    session: AsyncSession,
    student_key: str,
    nsn: str,
    school_id: UUID | None,
    effective_on: date,
    as_of: datetime,
    now: datetime,
) -> Row[Any] | None:
    """Make this the student's current enrolment if it is later than the one held.

    One statement, so concurrent batches about the same student serialise on its row. The
    row as now held (with the record it superseded in `previous_*`), or None when the held
    record is as late or later (nothing changed)."""
    statement = insert(enrolments).values(
        student_key=student_key,
        nsn=nsn,
        school_id=school_id,
        effective_on=effective_on,
        as_of=as_of,
        updated_at=now,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[enrolments.c.student_key],
        set_={
            "school_id": statement.excluded.school_id,
            "effective_on": statement.excluded.effective_on,
            "as_of": statement.excluded.as_of,
            "updated_at": statement.excluded.updated_at,
            "nsn": statement.excluded.nsn,
            # On the right of SET, the columns are the row's values before this update.
            "previous_school_id": enrolments.c.school_id,
            "previous_as_of": enrolments.c.as_of,
        },
        where=enrolments.c.as_of < statement.excluded.as_of,
    ).returning(enrolments)
    return (await session.execute(upsert)).first()


async def held(session: AsyncSession, student_key: str) -> Row[Any]:
    """The enrolment held for this student (who has one)."""
    return (
        await session.execute(select(enrolments).where(enrolments.c.student_key == student_key))
    ).one()
