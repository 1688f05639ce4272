"""Which students have an active case, from the cases service's events (acms.cases.v1):
the daily attendance is kept for them only. When a student's last case closes, the
attendance kept for them goes too: it was kept for the case."""

from __future__ import annotations

from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.cases import CaseClosed, CaseOpened, CaseTransferred
from acms_integrations.tables import active_cases, attendance_records
from acms_platform.messaging import EventHandlers


async def case_opened(event: CaseOpened, envelope: EventEnvelope, session: AsyncSession) -> None:
    await session.execute(
        insert(active_cases)
        .values(
            case_id=event.case_id,
            student_key=event.subject_student_key,
            school_id=event.school_id,
            opened_at=event.at,
        )
        .on_conflict_do_nothing()
    )


async def case_transferred(
    event: CaseTransferred, envelope: EventEnvelope, session: AsyncSession
) -> None:
    await session.execute(
        update(active_cases)
        .where(active_cases.c.case_id == event.case_id)
        .values(school_id=event.school_id)
    )


async def case_closed(event: CaseClosed, envelope: EventEnvelope, session: AsyncSession) -> None:
    await session.execute(delete(active_cases).where(active_cases.c.case_id == event.case_id))
    still_open = await session.scalar(
        select(exists().where(active_cases.c.student_key == event.subject_student_key))
    )
    if not still_open:
        await session.execute(
            delete(attendance_records).where(
                attendance_records.c.student_key == event.subject_student_key
            )
        )


def register(handlers: EventHandlers) -> None:
    handlers.on(CaseOpened)(case_opened)
    handlers.on(CaseTransferred)(case_transferred)
    handlers.on(CaseClosed)(case_closed)
