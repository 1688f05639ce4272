"""Queries of the integrations service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
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


async def record_if_later(
    session: AsyncSession,
    student_key: str,
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
            # On the right of SET, the columns are the row's values before this update.
            "previous_school_id": enrolments.c.school_id,
            "previous_as_of": enrolments.c.as_of,
        },
        where=enrolments.c.as_of < statement.excluded.as_of,
    ).returning(enrolments)
    return (await session.execute(upsert)).first()
