"""Tables of the integrations service."""

from sqlalchemy import Column, Date, DateTime, String, Table, Uuid, func

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
)
