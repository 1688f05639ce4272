"""ENROL's full records (batch upload and the Ministry's Kafka topic) applied to the
current enrolment of each student: a record that changes what is held is recorded and
published once as `StudentEnrolmentChanged`; one equal to it, or older, changes nothing.

Which record stands, for one student (the held one has `as_of` H, from job J):
- no record held, or a later `as_of` with other values: this one (published);
- a later `as_of`, same values: the time is recorded, nothing published;
- the same `as_of`: a later line of the same upload replaces it (the file says so);
  another upload's equal record is "unchanged", a different one "stale": the first
  upload of that moment stands, so uploading a file again changes nothing;
- an older `as_of`: stale.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Date, DateTime, SmallInteger, String, Uuid, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_integrations.feed_rows import ENROLMENT_FIELDS, EnrolmentRecord, validate_enrolment
from acms_integrations.jobs import FeedKind, Tally
from acms_platform.outbox import Outbox

StudentKey = Callable[[str], str]

_HELD = text(
    "SELECT student_key, record_school_id, student_type, year_level, enrolled_on, left_on,"
    " leaving_reason, as_of, job_id FROM enrolments WHERE student_key = ANY(:keys)"
).bindparams(bindparam("keys", type_=ARRAY(String)))

_COLUMNS = (
    ("student_key", String),
    ("nsn", String),
    ("school_id", Uuid),
    ("record_school_id", Uuid),
    ("student_type", String),
    ("year_level", SmallInteger),
    ("enrolled_on", Date),
    ("left_on", Date),
    ("leaving_reason", String),
    ("effective_on", Date),
)
# _HELD takes no lock: locking every row of a file writes every row (its xmax), even when
# nothing changed, which made re-sending a file cost as much as a first load. The WHERE
# keeps a student's order right against a row another transaction wrote since; what such a
# race can cost is an event computed against the older row (consumers apply by `as_of`).
_RECORD = text(
    "INSERT INTO enrolments (student_key, nsn, school_id, record_school_id, student_type,"
    " year_level, enrolled_on, left_on, leaving_reason, effective_on, as_of, job_id,"
    " updated_at)"
    " SELECT u.*, :as_of, :job_id, now() FROM unnest(:student_key, :nsn, :school_id,"
    " :record_school_id, :student_type, :year_level, :enrolled_on, :left_on, :leaving_reason,"
    " :effective_on) AS u(student_key, nsn, school_id, record_school_id, student_type,"
    " year_level, enrolled_on, left_on, leaving_reason, effective_on)"
    " ON CONFLICT (student_key) DO UPDATE SET nsn = excluded.nsn,"
    " school_id = excluded.school_id, record_school_id = excluded.record_school_id,"
    " student_type = excluded.student_type, year_level = excluded.year_level,"
    " enrolled_on = excluded.enrolled_on, left_on = excluded.left_on,"
    " leaving_reason = excluded.leaving_reason, effective_on = excluded.effective_on,"
    " as_of = excluded.as_of, job_id = excluded.job_id, updated_at = excluded.updated_at,"
    " previous_school_id = enrolments.school_id, previous_as_of = enrolments.as_of"
    " WHERE enrolments.as_of <= excluded.as_of"
).bindparams(
    *(bindparam(name, type_=ARRAY(kind)) for name, kind in _COLUMNS),
    bindparam("as_of", type_=DateTime(timezone=True)),
    bindparam("job_id", type_=Uuid),
)


def _values(record: EnrolmentRecord) -> tuple[Any, ...]:
    return (
        record.school_id,
        record.student_type,
        record.year_level,
        record.enrolled_on,
        record.left_on,
        record.leaving_reason,
    )


def _held_values(held: Any) -> tuple[Any, ...]:
    return (
        held.record_school_id,
        held.student_type,
        held.year_level,
        held.enrolled_on,
        held.left_on,
        held.leaving_reason,
    )


def _event(student_key: str, record: EnrolmentRecord, as_of: datetime) -> StudentEnrolmentChanged:
    return StudentEnrolmentChanged(
        subject_student_key=student_key,
        school_id=None if record.left_on else record.school_id,
        effective_on=record.left_on or record.enrolled_on,
        as_of=as_of,
        student_type=record.student_type,
        year_level=record.year_level,
        enrolled_on=record.enrolled_on,
        left_on=record.left_on,
    )


async def apply_enrolments(
    session: AsyncSession,
    outbox: Outbox,
    student_key: StudentKey,
    records: list[tuple[int, EnrolmentRecord]],
    as_of: datetime,
    job_id: UUID | None,
) -> Tally:
    tally = Tally()
    # A student twice in one chunk: the later line is the one that stands.
    latest: dict[str, EnrolmentRecord] = {}
    for _, record in records:
        key = student_key(record.nsn)
        if key in latest:
            tally.unchanged += 1
        latest[key] = record
    held = {row.student_key: row for row in await session.execute(_HELD, {"keys": list(latest)})}
    changed: list[tuple[str, EnrolmentRecord]] = []
    later_same: list[tuple[str, EnrolmentRecord]] = []
    for key, record in latest.items():
        current = held.get(key)
        if current is None:
            changed.append((key, record))
            continue
        same = _values(record) == _held_values(current)
        if current.as_of < as_of:
            (later_same if same else changed).append((key, record))
        elif current.as_of > as_of:
            tally.stale += 1
        elif same:
            tally.unchanged += 1
        elif current.job_id == job_id:
            changed.append((key, record))
        else:
            tally.stale += 1
    to_write = changed + later_same
    if to_write:
        await session.execute(_RECORD, _parameters(to_write, as_of, job_id))
    for key, record in changed:
        await outbox.add(session, _event(key, record, as_of))
    tally.applied += len(changed)
    tally.unchanged += len(later_same)
    return tally


def _parameters(
    rows: list[tuple[str, EnrolmentRecord]], as_of: datetime, job_id: UUID | None
) -> dict[str, Any]:
    records = [record for _, record in rows]
    return {
        "student_key": [key for key, _ in rows],
        "nsn": [r.nsn for r in records],
        "school_id": [None if r.left_on else r.school_id for r in records],
        "record_school_id": [r.school_id for r in records],
        "student_type": [r.student_type for r in records],
        "year_level": [r.year_level for r in records],
        "enrolled_on": [r.enrolled_on for r in records],
        "left_on": [r.left_on for r in records],
        "leaving_reason": [r.leaving_reason for r in records],
        "effective_on": [r.left_on or r.enrolled_on for r in records],
        "as_of": as_of,
        "job_id": job_id,
    }


def enrolment_kind(outbox: Outbox, student_key: StudentKey) -> FeedKind:
    """ENROL record uploads, applied as above."""

    async def apply(session: AsyncSession, records: list[tuple[int, Any]], job: Any) -> Tally:
        return await apply_enrolments(session, outbox, student_key, records, job.as_of, job.id)

    return FeedKind("enrolments", ENROLMENT_FIELDS, validate_enrolment, apply)
