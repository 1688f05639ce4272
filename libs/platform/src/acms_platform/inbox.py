"""Idempotent inbox: a consumer's effect and its processed-marker commit together."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_platform.platform_tables import inbox


async def claim(session: AsyncSession, consumer: str, topic: str, envelope: EventEnvelope) -> bool:
    """Record that `consumer` processes this event. False when it already did: the caller
    must then apply no effect. Call inside the transaction that applies the effect."""
    result = await session.execute(
        insert(inbox)
        .values(consumer=consumer, event_id=envelope.event_id, topic=topic)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return result.first() is not None


async def claim_many(
    session: AsyncSession, consumer: str, events: list[tuple[str, EventEnvelope]]
) -> set[UUID]:
    """`claim` for a batch in one statement: the ids of the events not processed before."""
    rows = [{"consumer": consumer, "event_id": e.event_id, "topic": t} for t, e in events]
    result = await session.execute(
        insert(inbox).values(rows).on_conflict_do_nothing().returning(inbox.c.event_id)
    )
    return set(result.scalars())
