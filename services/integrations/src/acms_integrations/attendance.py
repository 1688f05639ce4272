"""The national daily attendance (upload and the Ministry's Kafka topic): a mark is kept
and published as `StudentAttendanceRecorded` only for a student with an active case
(`active_cases`); every other mark is dropped without being stored, after validation.

One session's mark stands as an enrolment record does (`enrol_batch`): a later `as_of`
with another code replaces it (published), a later one with the same code only moves the
time, the same `as_of` from another upload changes nothing, so a file sent again
publishes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Date, DateTime, String, Uuid, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.attendance import StudentAttendanceRecorded
from acms_integrations.feed_rows import ATTENDANCE_FIELDS, AttendanceMark, validate_attendance
from acms_integrations.jobs import FeedKind, Tally
from acms_platform.outbox import Outbox

StudentKey = Callable[[str], str]
Session = tuple[str, UUID, date, str]  # student key, school, day, session

_WITH_CASE = text(
    "SELECT DISTINCT student_key FROM active_cases WHERE student_key = ANY(:keys)"
).bindparams(bindparam("keys", type_=ARRAY(String)))

_HELD = text(
    'SELECT student_key, school_id, "on", session, code, as_of, job_id'
    " FROM attendance_records"
    ' WHERE student_key = ANY(:keys) AND "on" BETWEEN :first AND :last'
).bindparams(
    bindparam("keys", type_=ARRAY(String)),
    bindparam("first", type_=Date),
    bindparam("last", type_=Date),
)

_RECORD = text(
    'INSERT INTO attendance_records (student_key, school_id, "on", session, code, category,'
    " as_of, job_id)"
    " SELECT u.*, :as_of, :job_id"
    " FROM unnest(:keys, :schools, :days, :sessions, :codes, :categories)"
    ' AS u(student_key, school_id, "on", session, code, category)'
    ' ON CONFLICT (student_key, school_id, "on", session) DO UPDATE SET code = excluded.code,'
    " category = excluded.category, as_of = excluded.as_of, job_id = excluded.job_id,"
    " recorded_at = now() WHERE attendance_records.as_of <= excluded.as_of"
).bindparams(
    bindparam("keys", type_=ARRAY(String)),
    bindparam("schools", type_=ARRAY(Uuid)),
    bindparam("days", type_=ARRAY(Date)),
    bindparam("sessions", type_=ARRAY(String)),
    bindparam("codes", type_=ARRAY(String)),
    bindparam("categories", type_=ARRAY(String)),
    bindparam("as_of", type_=DateTime(timezone=True)),
    bindparam("job_id", type_=Uuid),
)


async def apply_marks(
    session: AsyncSession,
    outbox: Outbox,
    student_key: StudentKey,
    marks: list[tuple[int, AttendanceMark]],
    as_of: datetime,
    job_id: UUID | None,
) -> Tally:
    tally = Tally()
    keyed = [(student_key(mark.nsn), mark) for _, mark in marks]
    keys = list({key for key, _ in keyed})
    with_case = set((await session.execute(_WITH_CASE, {"keys": keys})).scalars())
    latest: dict[Session, AttendanceMark] = {}
    for key, mark in keyed:
        if key not in with_case:
            tally.dropped += 1
            continue
        slot = (key, mark.school_id, mark.on, mark.session)
        if slot in latest:
            tally.unchanged += 1  # a later line of the file for the same session stands
        latest[slot] = mark
    if not latest:
        return tally
    days = [slot[2] for slot in latest]
    held_rows = await session.execute(
        _HELD, {"keys": list({s[0] for s in latest}), "first": min(days), "last": max(days)}
    )
    held = {(r.student_key, r.school_id, r.on, r.session): r for r in held_rows}
    changed: list[tuple[Session, AttendanceMark]] = []
    later_same: list[tuple[Session, AttendanceMark]] = []
    for slot, mark in latest.items():
        current = held.get(slot)
        if current is None:
            changed.append((slot, mark))
            continue
        same = current.code == mark.code
        if current.as_of < as_of:
            (later_same if same else changed).append((slot, mark))
        elif current.as_of > as_of:
            tally.stale += 1
        elif same:
            tally.unchanged += 1
        elif current.job_id == job_id:
            changed.append((slot, mark))
        else:
            tally.stale += 1
    to_write = changed + later_same
    if to_write:
        await session.execute(_RECORD, _parameters(to_write, as_of, job_id))
    for slot, mark in changed:
        await outbox.add(session, _event(slot[0], mark, as_of))
    tally.applied += len(changed)
    tally.unchanged += len(later_same)
    return tally


def _event(key: str, mark: AttendanceMark, as_of: datetime) -> StudentAttendanceRecorded:
    return StudentAttendanceRecorded(
        subject_student_key=key,
        school_id=mark.school_id,
        on=mark.on,
        session=mark.session,
        code=mark.code,
        category=mark.category,
        as_of=as_of,
    )


def _parameters(
    rows: list[tuple[Session, AttendanceMark]], as_of: datetime, job_id: UUID | None
) -> dict[str, Any]:
    return {
        "keys": [slot[0] for slot, _ in rows],
        "schools": [mark.school_id for _, mark in rows],
        "days": [mark.on for _, mark in rows],
        "sessions": [mark.session for _, mark in rows],
        "codes": [mark.code for _, mark in rows],
        "categories": [mark.category.value for _, mark in rows],
        "as_of": as_of,
        "job_id": job_id,
    }


def attendance_kind(outbox: Outbox, student_key: StudentKey) -> FeedKind:
    """Daily attendance uploads, applied as above."""

    async def apply(session: AsyncSession, marks: list[tuple[int, Any]], job: Any) -> Tally:
        return await apply_marks(session, outbox, student_key, marks, job.as_of, job.id)

    return FeedKind("attendance", ATTENDANCE_FIELDS, validate_attendance, apply)
