"""The Ministry's Kafka topics in: one ENROL record or attendance mark per message,
validated by the same rules as an uploaded row (`feed_rows`) and applied by the same code
(`enrol_batch`, `attendance`). The platform's consumer makes it idempotent (inbox) and
parks a message that can never be applied on the topic's dead-letter topic with the
reasons (an unknown school or code, a bad date), then carries on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.ministry import AttendanceMarkReported, EnrolmentRecordReported
from acms_integrations import repository
from acms_integrations.attendance import apply_marks
from acms_integrations.enrol_batch import apply_enrolments
from acms_integrations.feed_rows import (
    RowContext,
    Validator,
    validate_attendance,
    validate_enrolment,
)
from acms_integrations.jobs import DATE_LINE_SLACK
from acms_platform.messaging import DeadLetter, EventHandlers
from acms_platform.outbox import Outbox

outbox = Outbox("integrations")


class StudentKeys:
    """The deployment's student key of an NSN, for handlers (which get no settings):
    set by `app.create` from the settings the service runs with."""

    of: Callable[[str], str] | None = None

    @classmethod
    def key(cls, nsn: str) -> str:
        if cls.of is None:
            raise RuntimeError("StudentKeys not configured: app.create sets it")
        return cls.of(nsn)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def _validated(
    session: AsyncSession, validate: Validator, row: dict[str, Any], school: Any
) -> Any:
    schools = frozenset(await repository.known_schools(session, {school}))
    context = RowContext(schools, (datetime.now(UTC) + DATE_LINE_SLACK).date())
    record, problems = validate({k: _iso(v) for k, v in row.items()}, context)
    if problems:
        raise DeadLetter("; ".join(problems))
    return record


async def take_enrolment_record(
    event: EnrolmentRecordReported, envelope: EventEnvelope, session: AsyncSession
) -> None:
    row = event.model_dump(exclude={"as_of"})
    row["school_id"] = str(event.school_id)
    record = await _validated(session, validate_enrolment, row, event.school_id)
    await apply_enrolments(session, outbox, StudentKeys.key, [(0, record)], event.as_of, None)


async def take_attendance_mark(
    event: AttendanceMarkReported, envelope: EventEnvelope, session: AsyncSession
) -> None:
    row = event.model_dump(exclude={"as_of", "on"})
    row |= {"school_id": str(event.school_id), "date": event.on}
    mark = await _validated(session, validate_attendance, row, event.school_id)
    await apply_marks(session, outbox, StudentKeys.key, [(0, mark)], event.as_of, None)


def register(handlers: EventHandlers) -> None:
    handlers.on(EnrolmentRecordReported)(take_enrolment_record)
    handlers.on(AttendanceMarkReported)(take_attendance_mark)
