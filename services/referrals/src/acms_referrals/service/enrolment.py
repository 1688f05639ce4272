"""A student's requests follow their current school: when ENROL (through integrations)
says a student moved, every request for that student is re-scoped at once, drafts and
closed requests included, and the move is recorded on each request's history.

The former school's leader loses sight of the requests and the new school's leader gains
it (the policy's school rule compares the request's `school_id`). A student enrolled
nowhere leaves `school_id` empty: no school's leader sees the request, while its creator,
their school's office support, Central Investigation and the provider still do. The
creator and their school keep the request but are not told the new school, nor that there
is none (the policy's `view_school`, applied in `views.py`): the request records that
ENROL set its school (`school_from_enrol`) and the region of that school.

A request allocated or assigned with no case yet follows its student further
(ACCESS-MODEL 6, `_transfer`): it goes to the ASP whose catchment holds the new school (an
ISP's request too), losing its assignee when the provider changes, and the school it left
loses it, its creator included (`followed_student`); `ReferralTransferred` is published.
With no catchment ASP known for the new school (or no school), it goes back to Central
Investigation's queue, accepted and unallocated: no provider keeps a request of a student
who left. A request with a case stays here: the case moves (the cases service), and the
request follows the case when its CaseTransferred arrives (`case_moves.py`). Drafts,
submitted, accepted and closed requests have no provider: nothing moves but their school,
and no provider gains them [decision].

[decision] A request drafted *after* a change keeps the school its creator named until
ENROL reports the student's next change: a school often raises a request for a student
who has just arrived, before ENROL records the enrolment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.referrals import ReferralTransferred
from acms_platform.outbox import Outbox
from acms_referrals import repository
from acms_referrals.domain import Status

ACTION = "enrolment_changed"
TRANSFERRED = "transferred"
ACTOR = "enrol"  # the ENROL feed, not an account
# With a provider and no case: the request follows its student to the new catchment.
FOLLOWING = frozenset({Status.ALLOCATED, Status.ASSIGNED})


async def follow_enrolment_change(
    event: StudentEnrolmentChanged,
    envelope: EventEnvelope,
    session: AsyncSession,
    outbox: Outbox,
) -> None:
    """Follows the enrolments projection, in the inbox transaction: called only for an
    event later than the enrolment already held for the student (a stale one changes
    nothing, `EnrolmentProjection`)."""
    moving = await repository.lock_requests_elsewhere(
        session, event.subject_student_key, event.school_id
    )
    if not moving:
        return
    at = datetime.now(UTC)
    await repository.move_to_school(session, [r.id for r in moving], event.school_id, at)
    target = await repository.catchment_asp(session, event.school_id)
    for request in moving:
        await repository.add_transition(
            session,
            {
                "referral_id": request.id,
                "action": ACTION,
                "from_status": request.status,
                "to_status": request.status,
                "actor_id": ACTOR,
                "actor_org_id": None,
                "at": at,
                "detail": {
                    "from_school_id": _text(request.school_id),
                    "school_id": _text(event.school_id),
                    "effective_on": event.effective_on.isoformat(),
                    "enrol_as_of": event.as_of.isoformat(),
                },
            },
        )
        if request.status in FOLLOWING and request.case_id is None:
            await _transfer(session, outbox, request, event, target, at)


async def _transfer(
    session: AsyncSession,
    outbox: Outbox,
    request: Row[Any],
    event: StudentEnrolmentChanged,
    target: UUID | None,
    at: datetime,
) -> None:
    """The request goes where its student went: to `target`, the new school's catchment
    ASP, unassigned and back in its queue if the provider changes; with no ASP known, back
    to Central Investigation, unallocated."""
    changes: dict[str, Any] = {}
    if target != request.provider_id:
        status = Status.ALLOCATED if target is not None else Status.ACCEPTED
        changes = {
            "status": status.value,
            "provider_id": target,
            "provider_type": "asp" if target is not None else None,
            "assignee_id": None,
        }
    moved = await repository.transfer(session, request.id, changes)
    detail = {
        "from_school_id": _text(request.school_id),
        "school_id": _text(event.school_id),
        "from_provider_id": _text(request.provider_id),
        "provider_id": _text(moved.provider_id),
    }
    await repository.add_transition(
        session,
        {
            "referral_id": request.id,
            "action": TRANSFERRED,
            "from_status": request.status,
            "to_status": moved.status,
            "actor_id": ACTOR,
            "actor_org_id": None,
            "at": at,
            "detail": detail,
        },
    )
    await outbox.add(
        session,
        ReferralTransferred(
            referral_id=moved.id,
            subject_student_key=moved.student_key,
            actor_id=ACTOR,
            version=moved.version,
            at=at,
            from_school_id=request.school_id,
            school_id=event.school_id,
            from_provider_id=request.provider_id,
            provider_id=moved.provider_id,
            provider_type=moved.provider_type,
        ),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
