"""The records an organisation lost by a move or a re-allocation (ACCESS-MODEL 6), kept
for the `after_relationship_ended` alert: consumed from the cases' and requests' own
events, each loss checked at once against reads already in the trail (the audit topic and
these topics are consumed apart, so either may arrive first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.cases import CaseTransferred
from acms_contracts.referrals import ReferralReallocated, ReferralTransferred
from acms_platform.messaging import EventHandlers
from acms_retention.alerts import AlertRules
from acms_retention.tables import ended_relationships


def register(handlers: EventHandlers, alerts: AlertRules) -> None:
    @handlers.on(CaseTransferred)
    async def case_transferred(
        event: CaseTransferred, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        record = str(event.case_id)
        losses = []
        if event.from_provider_id and event.from_provider_id != event.provider_id:
            losses.append((event.from_provider_id, "case moved to another provider"))
        if event.from_school_id and event.from_school_id != event.school_id:
            losses.append((event.from_school_id, "student moved school"))
        gains = [org for org in (event.provider_id, event.school_id) if org]
        await _record(session, alerts, envelope, record, event, losses, gains)

    @handlers.on(ReferralReallocated)
    async def referral_reallocated(
        event: ReferralReallocated, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        losses = []
        if event.from_provider_id != event.provider_id:
            losses.append((event.from_provider_id, "request re-allocated"))
        record = str(event.referral_id)
        await _record(session, alerts, envelope, record, event, losses, [event.provider_id])

    @handlers.on(ReferralTransferred)
    async def referral_transferred(
        event: ReferralTransferred, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        """A request that followed its student to another school and provider."""
        losses = []
        if event.from_provider_id and event.from_provider_id != event.provider_id:
            losses.append((event.from_provider_id, "request moved to another provider"))
        if event.from_school_id and event.from_school_id != event.school_id:
            losses.append((event.from_school_id, "student moved school"))
        gains = [org for org in (event.provider_id, event.school_id) if org]
        record = str(event.referral_id)
        await _record(session, alerts, envelope, record, event, losses, gains)


async def _record(
    session: AsyncSession,
    alerts: AlertRules,
    envelope: EventEnvelope,
    record_id: str,
    event: Any,
    losses: list[tuple[UUID, str]],
    gains: list[UUID],
) -> None:
    """An organisation that gets the record (back) no longer counts as having lost it."""
    if gains:
        await session.execute(
            delete(ended_relationships).where(
                tuple_(ended_relationships.c.organisation_id, ended_relationships.c.record_id).in_(
                    [(str(org), record_id) for org in gains]
                )
            )
        )
    for organisation, cause in losses:
        loss = _loss(str(organisation), record_id, event.subject_student_key, event.at, cause)
        loss["event_id"] = envelope.event_id
        await session.execute(
            insert(ended_relationships)
            .values(**loss)
            .on_conflict_do_update(
                index_elements=["organisation_id", "record_id"],
                set_={"ended_at": loss["ended_at"], "cause": cause, "event_id": loss["event_id"]},
            )
        )
        await session.run_sync(alerts.reads_of_lost_record, loss)


def _loss(
    organisation: str, record_id: str, student_key: str, at: datetime, cause: str
) -> dict[str, Any]:
    return {
        "organisation_id": organisation,
        "record_id": record_id,
        "student_key": student_key,
        "ended_at": at,
        "cause": cause,
    }
