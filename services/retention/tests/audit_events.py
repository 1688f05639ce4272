"""Audit events as the services publish them, for the retention tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from acms_contracts import EventEnvelope, topics
from acms_contracts.audit import AccessDecisionRecorded
from acms_platform.testing.kafka import publish_as_admin
from acms_retention.tables import audit_trail


def access(
    *,
    account: str | None = None,
    organisation: uuid.UUID | None = None,
    student_key: str | None = None,
    record_id: str | None = None,
    allowed: bool = True,
    tiers: Sequence[str] = ("basic", "summary"),
    roles: Sequence[str] = ("school_leader",),
    rule: str | None = "school_leader_sees_requests_of_their_school",
    occurred_at: datetime | None = None,
    kind: str = "referral",
) -> EventEnvelope:
    event = AccessDecisionRecorded(
        principal_id=account or str(uuid.uuid4()),
        organisation_id=organisation or uuid.uuid4(),
        roles=list(roles),
        service="referrals",
        resource_kind=kind,
        resource_id=record_id or str(uuid.uuid4()),
        action="view",
        allowed=allowed,
        tiers=list(tiers) if allowed else [],
        rule=rule if allowed else None,
        trace_id=uuid.uuid4().hex,
        subject_student_key=student_key if student_key is not None else str(uuid.uuid4()),
    )
    envelope = EventEnvelope.wrap(event, producer="referrals")
    if occurred_at is not None:
        envelope = envelope.model_copy(update={"occurred_at": occurred_at.astimezone(UTC)})
    return envelope


async def publish(service, *envelopes: EventEnvelope, topic: str = topics.AUDIT_ACCESS) -> None:
    """As the services that publish `topic` would (the test's admin stands in for them)."""
    settings = service.app.state.runtime.settings
    await publish_as_admin(
        settings.kafka_bootstrap,
        settings.topic(topic),  # in this test session's namespace
        *((envelope.model_dump_json().encode(), envelope.key.encode()) for envelope in envelopes),
    )


async def stored(service, event_ids: list[uuid.UUID], *, expected: int, timeout: float = 60):
    """The trail rows of `event_ids` once `expected` of them are there."""
    database = service.app.state.runtime.database
    query = select(audit_trail).where(audit_trail.c.event_id.in_(event_ids))
    async with asyncio.timeout(timeout):
        while True:
            async with database.transaction() as session:
                rows = (await session.execute(query)).mappings().all()
            if len(rows) >= expected:
                return rows
            await asyncio.sleep(0.1)
