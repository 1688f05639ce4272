"""The request a case was opened from follows that case (ACCESS-MODEL 6).

Once a case is open, the case moves with its student, not the request (`enrolment.py`).
When the cases service moves the case (`CaseTransferred`: a change of school, the case
going to the ASP whose catchment holds the new school), the request goes with it: the
case's new provider, no assignee when the provider changed (the case lost its case
manager too), and the case's new school, unless ENROL has since told this service of a
later one. As for a request that moves without a case, the school it was made at loses
it, its creator included (`followed_student`), and `ReferralTransferred` is published.
The former provider and case manager lose it with the case.

The request keeps its status (`assigned`): the case holds the work, and an assignment of
the request would open no second case. A redelivered event is stopped by the inbox; a
replayed or earlier one (its `at` not after the last move applied) changes nothing.
A re-allocation of the case (`CaseTransferred` with `reason: reallocated`, from `POST
/cases/{id}/reallocate`) gives the request to the case's new provider without its
assignee, the school keeping it, and publishes `ReferralReallocated`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.cases import CaseClosed, CaseTransferred
from acms_contracts.envelope import Event
from acms_contracts.referrals import ReferralReallocated, ReferralTransferred
from acms_platform.outbox import Outbox
from acms_referrals import repository
from acms_referrals.tables import enrolments

log = logging.getLogger(__name__)

ACTION = "case_transferred"
REALLOCATED = "case_reallocated"


async def follow_case_transfer(
    event: CaseTransferred, envelope: EventEnvelope, session: AsyncSession, outbox: Outbox
) -> None:
    request = await repository.lock_request_of_case(session, event.case_id)
    if request is None:
        # Not a request of ours (or disposed of): nothing to move, nothing to retry.
        log.info("CaseTransferred %s: no request of case %s", envelope.event_id, event.case_id)
        return
    if request.case_moved_at is not None and event.at <= request.case_moved_at:
        return  # replayed, or older than the move already applied
    if event.reason == "reallocated":
        await _reallocated(session, outbox, request, event)
        return
    school_id = await _school_now(session, event)
    changes: dict[str, Any] = {"case_moved_at": event.at, "updated_at": event.at}
    if event.provider_id != request.provider_id:
        changes |= {
            "provider_id": event.provider_id,
            "provider_type": "asp" if event.provider_id is not None else None,
            "assignee_id": None,
        }
    moved = await repository.follow_case(session, request.id, school_id, changes)
    # the school that loses it: the case's (ENROL may have re-scoped the request first)
    from_school_id = event.from_school_id or request.school_id
    await _record(
        session,
        outbox,
        request,
        moved,
        event,
        ACTION,
        {
            "from_school_id": _text(from_school_id),
            "school_id": _text(moved.school_id),
            "from_provider_id": _text(request.provider_id),
            "provider_id": _text(moved.provider_id),
        },
        ReferralTransferred(
            referral_id=moved.id,
            subject_student_key=moved.student_key,
            actor_id=event.actor_id,
            version=moved.version,
            at=event.at,
            from_school_id=from_school_id,
            school_id=moved.school_id,
            from_provider_id=request.provider_id,
            provider_id=moved.provider_id,
            provider_type=moved.provider_type,
        ),
    )


async def _reallocated(
    session: AsyncSession, outbox: Outbox, request: Any, event: CaseTransferred
) -> None:
    """A person re-allocated the case (`POST /cases/{id}/reallocate`): the request goes to
    the case's new provider without its assignee, as a re-allocation of the request would;
    the school keeps it."""
    if event.provider_id is None or event.provider_id == request.provider_id:
        return
    provider_type = await repository.provider_type(session, event.provider_id)
    moved = await repository.reallocate_with_case(
        session,
        request.id,
        {
            "provider_id": event.provider_id,
            "provider_type": provider_type,
            "assignee_id": None,
            "case_moved_at": event.at,
        },
        event.at,
    )
    await _record(
        session,
        outbox,
        request,
        moved,
        event,
        REALLOCATED,
        {"from_provider_id": _text(request.provider_id), "provider_id": _text(event.provider_id)},
        ReferralReallocated(
            referral_id=moved.id,
            subject_student_key=moved.student_key,
            actor_id=event.actor_id,
            version=moved.version,
            at=event.at,
            from_provider_id=request.provider_id,
            provider_id=event.provider_id,
            provider_type=provider_type,
        ),
    )


async def _record(
    session: AsyncSession,
    outbox: Outbox,
    request: Any,
    moved: Any,
    event: CaseTransferred,
    action: str,
    detail: dict[str, Any],
    published: Event,
) -> None:
    """The request's history entry for the case's move (naming the case) and its event."""
    await repository.add_transition(
        session,
        {
            "referral_id": request.id,
            "action": action,
            "from_status": request.status,
            "to_status": moved.status,
            "actor_id": event.actor_id,
            "actor_org_id": None,
            "at": event.at,
            "detail": {"case_id": str(event.case_id), **detail},
        },
    )
    await outbox.add(session, published)


async def _school_now(session: AsyncSession, event: CaseTransferred) -> Any:
    """The case's new school, unless ENROL has since reported a later one for the student
    (the enrolments topic and the cases topic are consumed apart)."""
    held = (
        await session.execute(
            enrolments.select().where(enrolments.c.student_key == event.subject_student_key)
        )
    ).first()
    if held is not None and held.as_of > event.at:
        return held.school_id
    return event.school_id


async def record_case_closed(
    event: CaseClosed, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """The case of the request closed: the student has no active case from it."""
    await repository.record_case_closed(session, event.case_id, event.at)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
