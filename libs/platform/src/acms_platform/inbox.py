"""Idempotent inbox: a consumer's effect and its processed-marker commit together."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, String, Uuid, bindparam, delete, func, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
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
    """`claim` for a batch in one statement: the ids of the events not processed before.
    One statement text for every batch size, so it is prepared once per connection."""
    result = await session.execute(
        _CLAIM_MANY,
        {
            "consumer": consumer,
            "event_ids": [envelope.event_id for _, envelope in events],
            "topics": [topic for topic, _ in events],
        },
    )
    return set(result.scalars())


_CLAIM_MANY = (
    text(
        "INSERT INTO inbox (consumer, event_id, topic)"
        " SELECT :consumer, e.event_id, e.topic"
        " FROM unnest(:event_ids, :topics) AS e(event_id, topic)"
        " ON CONFLICT DO NOTHING RETURNING event_id"
    )
    .bindparams(
        bindparam("event_ids", type_=ARRAY(Uuid)),
        bindparam("topics", type_=ARRAY(String)),
    )
    .columns(event_id=Uuid)
)


async def prune(session: AsyncSession, older_than: timedelta) -> int:
    """Forget markers older than `older_than`: events that old are past the topics'
    retention and cannot be delivered again. Returns how many were removed."""
    result = await session.execute(
        delete(inbox).where(inbox.c.processed_at < func.now() - older_than)
    )
    return cast(CursorResult[Any], result).rowcount  # a DELETE's result has a cursor
