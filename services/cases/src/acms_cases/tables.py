"""Tables of the cases service."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Sequence,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from acms_platform.database import new_metadata
from acms_platform.projections import Projections

metadata = new_metadata()
projections = Projections(metadata, enrolments=True)
assert projections.enrolments is not None
enrolment_projection = projections.enrolments
organisations = projections.organisations
staff_members = projections.staff

# The number in a case's reference `AS-<year>-<6 digits>`: one sequence for every year,
# so a reference is unique whatever the year.
case_reference_seq = Sequence("case_reference_seq", metadata=metadata)

# One row per case. Columns hold what the policy and lists filter on; `details` holds
# what the request carried (the `full` tier: student as written, whānau, reason text,
# actions taken, pastoral information) and never changes in place.
cases = Table(
    "cases",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(20), nullable=False, unique=True),
    # A request opens exactly one case: a replayed assignment finds this and stops.
    Column("referral_id", Uuid, nullable=False, unique=True),
    Column("status", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Column("student_key", String(64), nullable=False),
    Column("nsn", String(10)),
    Column("student_name", String(201), nullable=False),
    Column("year_level", Integer),
    # The case's school: the student's school when it opened, then where ENROL moves them.
    Column("school_id", Uuid),
    # The student's current school as ENROL last reported it (all the student's cases,
    # closed ones included): a school sees a case only while the student is theirs.
    Column("student_school_id", Uuid),
    # None: moved to a school in no known catchment, awaiting re-allocation.
    Column("provider_id", Uuid),
    Column("provider_type", String(10)),
    Column("case_manager_id", Uuid),
    Column("primary_contact_id", Uuid),
    Column("reason_category", String(40)),
    Column("prosecution_notified", Boolean, nullable=False, server_default="false"),
    Column("outcome_category", String(40)),
    Column("outcome_text", String(4000)),
    Column("details", JSONB, nullable=False),
    Column("request_history", JSONB, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The last change recorded on the case (any timeline entry by a person, or opening):
    # a case idle for `case_idle_days` needs attention.
    Column("last_activity_at", DateTime(timezone=True), nullable=False),
    # Why the case needs attention now (no_recent_activity, overdue_calendar_entry), set by
    # the reminder scan and cleared by the next recorded activity; None: nothing due.
    Column("attention_reason", String(40)),
    Column("attention_since", DateTime(timezone=True)),
    # Each column a view rule compares, with the lists' order (newest first).
    Index("ix_cases_school_opened", "school_id", "opened_at", "id"),
    Index("ix_cases_provider_opened", "provider_id", "opened_at", "id"),
    Index("ix_cases_case_manager_opened", "case_manager_id", "opened_at", "id"),
    Index("ix_cases_primary_contact_opened", "primary_contact_id", "opened_at", "id"),
    Index("ix_cases_opened_id", "opened_at", "id"),
    Index("ix_cases_student_key", "student_key"),
    # The reminder scan: active cases, oldest activity first.
    Index(
        "ix_cases_active_last_activity",
        "last_activity_at",
        postgresql_where=text("status = 'active'"),
    ),
)

# Every change on a case: who, what, when (append-only). `tier` is the tier a reader
# needs to see the entry (lifecycle: summary; content: full; sensitive content: sensitive).
case_timeline = Table(
    "case_timeline",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", JSONB, nullable=False),
)

# Content items (notes so far): the item, and its versions. An edit adds a version; no
# version is ever updated or deleted (ACCESS-MODEL 9).
case_items = Table(
    "case_items",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_case_items_case_created", "case_id", "created_at", "id"),
)

case_item_versions = Table(
    "case_item_versions",
    metadata,
    Column("item_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("sensitive", Boolean, nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["item_id"], ["case_items.id"]),
)

# Daily attendance of the student of an active case, as integrations publishes it
# (StudentAttendanceRecorded), one row per case, day and session; a later record of the
# same session replaces an earlier one (`as_of`). Only records received while the case
# is active are kept for it (ACCESS-MODEL 3, `attendance`).
case_attendance = Table(
    "case_attendance",
    metadata,
    Column("case_id", Uuid, ForeignKey("cases.id"), primary_key=True),
    Column("on", Date, primary_key=True),
    Column("session", String(3), primary_key=True),
    Column("school_id", Uuid, nullable=False),
    Column("code", String(2), nullable=False),
    Column("category", String(12), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
)

# Which ASP's catchment holds each school (identity's CatchmentAssigned): where a case
# goes when its student moves school.
catchments = Table(
    "catchments",
    metadata,
    Column("school_id", Uuid, primary_key=True),
    Column("asp_id", Uuid, nullable=False),
    Column("effective_from", Date, nullable=False),
)

staff = projections.staff.table
enrolments = enrolment_projection.table
