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

[decision] A request drafted *after* a change keeps the school its creator named until
ENROL reports the student's next change: a school often raises a request for a student
who has just arrived, before ENROL records the enrolment.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_referrals import repository

ACTION = "enrolment_changed"
ACTOR = "enrol"  # the ENROL feed, not an account


async def follow_enrolment_change(
    event: StudentEnrolmentChanged, envelope: EventEnvelope, session: AsyncSession
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


def _text(value: object) -> str | None:
    return None if value is None else str(value)
