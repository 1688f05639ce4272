"""The cases service's events → `case_relationships`: which provider and case manager
hold each case now, so consent and sharing are authorised by the relationship to the case
(ACCESS-MODEL section 5: the assigned case manager and the provider's workflow leads).

Applied through the inbox (exactly once per event) and in order per student (the topic is
keyed by student). Only the latest fact counts: an event older than the row is ignored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.cases import CaseClosed, CaseOpened, CaseTransferred
from acms_integrations.agency_tables import case_relationships
from acms_platform.messaging import EventHandlers


async def case_opened(event: CaseOpened, envelope: EventEnvelope, session: AsyncSession) -> None:
    values = {
        "student_key": event.subject_student_key,
        "provider_id": event.provider_id,
        "case_manager_id": event.case_manager_id,
        "school_id": event.school_id,
        "open": True,
        "updated_at": event.at,
    }
    statement = insert(case_relationships).values(case_id=event.case_id, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[case_relationships.c.case_id],
            set_=values,
            where=case_relationships.c.updated_at <= statement.excluded.updated_at,
        )
    )


async def case_transferred(
    event: CaseTransferred, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """The former provider and case manager lose the case (ACCESS-MODEL section 6); the new
    provider's case manager is not known until it assigns one, so nobody holds it as such."""
    await _update(
        session,
        event,
        provider_id=event.provider_id,
        school_id=event.school_id,
        case_manager_id=None,
    )


async def case_closed(event: CaseClosed, envelope: EventEnvelope, session: AsyncSession) -> None:
    await _update(session, event, open=False)


async def _update(session: AsyncSession, event: Any, **values: Any) -> None:
    await session.execute(
        update(case_relationships)
        .where(
            case_relationships.c.case_id == event.case_id,
            case_relationships.c.updated_at <= event.at,
        )
        .values(updated_at=event.at, **values)
    )


async def relationship(session: AsyncSession, case_id: Any) -> Any:
    """The case's row, or None when this service has not heard of it."""
    statement = select(case_relationships).where(case_relationships.c.case_id == case_id)
    return (await session.execute(statement)).first()


def register(handlers: EventHandlers) -> None:
    handlers.on(CaseOpened)(case_opened)
    handlers.on(CaseTransferred)(case_transferred)
    handlers.on(CaseClosed)(case_closed)
