"""Tables of the integrations service."""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    func,
)

from acms_platform.database import new_metadata
from acms_platform.projections import Projections

metadata = new_metadata()
projections = Projections(metadata)
organisations = projections.organisations

# Each student's current enrolment as the ENROL feed last reported it, by student key, with
# the NSN the key was computed from (to re-key after a change of the student-key secret;
# null on a row from before migration 0003 that ENROL has not reported since). A feed row
# applies only if its `as_of` is later than the one held, so duplicate and out-of-order
# rows change nothing. `previous_*` is the record the current one superseded (null for the
# first), which tells a change from a repeat.
enrolments = Table(
    "enrolments",
    metadata,
    Column("student_key", String(64), primary_key=True),
    Column("nsn", String(10)),
    Column("school_id", Uuid),  # null: enrolled nowhere
    Column("effective_on", Date, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("previous_school_id", Uuid),
    Column("previous_as_of", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # ENROL's full record (batch upload, Kafka; migration 0005): null where only the
    # single-change route has reported the student. `record_school_id` is the school the
    # record names, enrolled or left; `school_id` stays the current school (null once left).
    Column("record_school_id", Uuid),
    Column("student_type", String(4)),
    Column("year_level", SmallInteger),
    Column("enrolled_on", Date),
    Column("left_on", Date),
    Column("leaving_reason", String(40)),
    # The upload that last set the row: a later line of the same upload with the same
    # `as_of` replaces it, another upload's with the same `as_of` does not (re-uploading a
    # file changes nothing).
    Column("job_id", Uuid),
)

# --- Batch uploads and the daily attendance (migration 0005) ------------------------------

# One upload of a file (ENROL records or the daily attendance) and how far it got. Counts
# are committed with each chunk of rows applied, so a reader sees progress while it runs.
ingest_jobs = Table(
    "ingest_jobs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),  # enrolments | attendance
    Column("format", String(8), nullable=False),  # csv | jsonl
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # awaiting_file, running, completed, failed
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("bytes_received", BigInteger, nullable=False, server_default="0"),
    Column("rows_read", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
    Column("applied", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("stale", Integer, nullable=False, server_default="0"),
    Column("dropped", Integer, nullable=False, server_default="0"),
    Column("sha256", String(64)),
    Column("failure", Text),
    Index("ix_ingest_jobs_created_by_created_at", "created_by", "created_at"),
)

# Every rejected row of a job: its line number and every reason, never its values (a row
# of the attendance file about a student without a case is not kept, even when bad).
ingest_rejections = Table(
    "ingest_rejections",
    metadata,
    Column("job_id", Uuid, primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("reasons", Text, nullable=False),
)

# The cases open now, from the cases service's events: which students' attendance is kept.
active_cases = Table(
    "active_cases",
    metadata,
    Column("case_id", Uuid, primary_key=True),
    Column("student_key", String(64), nullable=False, index=True),
    Column("school_id", Uuid),
    Column("opened_at", DateTime(timezone=True), nullable=False),
)

# The attendance kept: one row per student, school, day and session, for students with an
# active case only; removed when the student's last case closes.
attendance_records = Table(
    "attendance_records",
    metadata,
    Column("student_key", String(64), primary_key=True),
    Column("school_id", Uuid, primary_key=True),
    Column("on", Date, primary_key=True),
    Column("session", String(3), primary_key=True),
    Column("code", String(2), nullable=False),
    Column("category", String(16), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("job_id", Uuid),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
