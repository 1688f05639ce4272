"""What the Ministry's ENROL side publishes for integrations to take in: one record per
message, the same records the batch uploads carry (services/integrations/README.md).

Inbound, unlike every other contract here: the NSN travels (it is the Ministry's own data,
on the Ministry's topics); integrations turns it into the student key and publishes only
that. Keyed by the NSN so that one student's records stay in order.
"""

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from acms_contracts import topics
from acms_contracts.envelope import Event
from acms_contracts.student_keys import NSN_PATTERN

SESSION_PATTERN = r"^(AM|PM|P([1-9]|1[0-2]))$"


class EnrolmentRecordReported(Event):
    """ENROL's current enrolment record of one student, as of `as_of`."""

    event_type: ClassVar[str] = "EnrolmentRecordReported"
    topic: ClassVar[str] = topics.MINISTRY_ENROLMENTS

    nsn: str = Field(pattern=NSN_PATTERN)
    school_id: UUID = Field(description="the school of the enrolment, as identity registered it")
    student_type: str = Field(pattern=r"^[A-Z0-9]{1,4}$", description="ENROL's student type code")
    year_level: int = Field(ge=0, le=15)
    enrolled_on: date
    left_on: date | None = Field(default=None, description="none while still enrolled")
    leaving_reason: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9 ,.()/'-]{1,40}$", description="ENROL's leaving reason"
    )
    as_of: AwareDatetime = Field(description="ENROL's time of this record; orders a student's")

    def partition_key(self) -> str:
        return self.nsn


class AttendanceMarkReported(Event):
    """One row of the national daily attendance file: the code a school recorded for the
    student for one session of `on`."""

    event_type: ClassVar[str] = "AttendanceMarkReported"
    topic: ClassVar[str] = topics.MINISTRY_ATTENDANCE

    nsn: str = Field(pattern=NSN_PATTERN)
    school_id: UUID
    on: date
    session: str = Field(pattern=SESSION_PATTERN)
    # Not checked against the codes here: an unknown code is dead-lettered by the intake
    # with that reason, as the upload reports it.
    code: str = Field(min_length=1, max_length=2)
    as_of: AwareDatetime

    def partition_key(self) -> str:
        return self.nsn
