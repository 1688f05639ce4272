"""Tables of the referrals service."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from acms_platform.database import new_metadata
from acms_platform.projections import EnrolmentProjection, Projections

metadata = new_metadata()
projections = Projections(metadata, enrolments=True)
organisations = projections.organisations
staff_members = projections.staff
assert projections.enrolments is not None
enrolment_projection: EnrolmentProjection = projections.enrolments

# One row per request for support. Columns hold what policies and lists filter on;
# `details` holds the request as written (the `full` tier).
referrals = Table(
    "referrals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("student_key", String(64), nullable=False),
    Column("nsn", String(10)),
    Column("student_name", String(201), nullable=False),
    Column("school_id", Uuid),
    # The region of that school as the organisations projection knew it when the school
    # was set (null: no school, or a school the projection does not know).
    Column("school_region", String(100)),
    # Whether ENROL set the current school (true) or the creator named it (false): a
    # request at no school is a non-enrolment request only when its creator said so.
    Column("school_from_enrol", Boolean, nullable=False, server_default="false"),
    Column("created_by", String(64), nullable=False),
    Column("creator_org_id", Uuid, nullable=False),
    Column("primary_contact_id", Uuid),
    Column("reason_category", String(40)),
    Column("provider_id", Uuid),
    Column("provider_type", String(10)),
    Column("assignee_id", Uuid),
    Column("decline_reason", String(2000)),
    # The case the cases service opened from this request (its CaseOpened), once known: a
    # request with a case does not move with its student, the case does.
    Column("case_id", Uuid),
    # When that case last followed its student (its CaseTransferred's `at`): an earlier or
    # replayed move changes nothing. When it closed (CaseClosed): no longer an active case.
    Column("case_moved_at", DateTime(timezone=True)),
    Column("case_closed_at", DateTime(timezone=True)),
    # Whether the request followed its student to another school with its provider
    # (ACCESS-MODEL 6): then the school it was made at has lost it, its creator included,
    # until the student is at that school again.
    Column("followed_student", Boolean, nullable=False, server_default="false"),
    Column("details", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Each column a view rule of the policy compares, with the list's order: a list reads
    # every branch of its plan newest first in index order (`repository.page_statement`).
    Index("ix_referrals_school_created", "school_id", "created_at", "id"),
    Index("ix_referrals_creator_org_created", "creator_org_id", "created_at", "id"),
    Index("ix_referrals_created_by_created", "created_by", "created_at", "id"),
    Index("ix_referrals_provider_created", "provider_id", "created_at", "id"),
    Index("ix_referrals_assignee_created", "assignee_id", "created_at", "id"),
    Index("ix_referrals_status_created", "status", "created_at", "id"),
    Index("ix_referrals_created_at_id", "created_at", "id"),
    Index("ix_referrals_student_key", "student_key"),
)

# Every transition: who made it and when (append-only).
referral_transitions = Table(
    "referral_transitions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("referral_id", Uuid, ForeignKey("referrals.id"), nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_org_id", Uuid),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", JSONB, nullable=False),
)

# Which ASP's catchment holds each school (identity's CatchmentAssigned): where an
# allocated request goes when its student moves school.
catchments = Table(
    "catchments",
    metadata,
    Column("school_id", Uuid, primary_key=True),
    Column("asp_id", Uuid, nullable=False),
    Column("effective_from", Date, nullable=False),
)

# Identity's accounts (who may be a primary contact or a case manager, their names, and
# who a caller is now), the ASPs each regional contract manager monitors, and each
# student's current enrolment as ENROL last reported it (integrations'
# StudentEnrolmentChanged): the platform's projections.
staff = projections.staff.table
monitoring_links = projections.staff.monitoring_links
enrolments = enrolment_projection.table
