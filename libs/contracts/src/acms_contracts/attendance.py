"""Daily attendance published by the integrations service from the national daily file,
for students with an active case only (the rest are dropped unstored). Keyed by the student
key, so a student's attendance stays in order with their enrolments and cases.

The NSN does not travel: the cases service matches the student by key.
"""

from datetime import date
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from acms_contracts import topics
from acms_contracts.envelope import Event


class AttendanceCategory(StrEnum):
    """How a code counts: the half-day calculation the Ministry's codes map to."""

    PRESENT = "present"
    JUSTIFIED = "justified"
    UNJUSTIFIED = "unjustified"
    UNKNOWN = "unknown"


class StudentAttendanceRecorded(Event):
    """The school recorded `code` for the student for one session (half-day `AM`/`PM`,
    or a period `P1`..`P12`) of `on`. A later record for the same student, school, day
    and session replaces an earlier one (`as_of` orders them)."""

    event_type: ClassVar[str] = "StudentAttendanceRecorded"
    topic: ClassVar[str] = topics.ATTENDANCE

    subject_student_key: str = Field(min_length=1, max_length=64)
    school_id: UUID
    on: date = Field(description="the school day")
    session: str = Field(pattern=r"^(AM|PM|P([1-9]|1[0-2]))$")
    code: str = Field(min_length=1, max_length=2, description="the Ministry attendance code")
    category: AttendanceCategory
    as_of: AwareDatetime = Field(description="the file's time; orders one session's records")

    def partition_key(self) -> str:
        return self.subject_student_key

    def student_key(self) -> str | None:
        return self.subject_student_key
