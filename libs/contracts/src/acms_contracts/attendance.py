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


# The Ministry of Education's attendance codes from Term 1 2025 ("refreshed attendance
# codes": 26 codes reduced to 15, none new), each with how it counts in the half-day
# calculation. Sources: education.govt.nz/news/refreshed-attendance-codes-term-1-2025
# (the count; the table itself is a DOCX, "Attendance codes comparison table") and an SMS
# vendor's revised code table (?, A, D, E with their truancy and half-day columns). The
# rest follows the Ministry's comparison table as we read it: check against the DOCX when
# the Ministry revises it; an unknown code is refused by the intake, never guessed.
ATTENDANCE_CODES: dict[str, tuple[AttendanceCategory, str]] = {
    "P": (AttendanceCategory.PRESENT, "present"),
    "L": (AttendanceCategory.PRESENT, "late"),
    "A": (AttendanceCategory.PRESENT, "present at a Ministry-approved alternative provision"),
    # Counted present in the half-day calculation, justified for truancy.
    "D": (AttendanceCategory.PRESENT, "approved external appointment (medical, court)"),
    "I": (AttendanceCategory.PRESENT, "internal school appointment or school activity"),
    "J": (AttendanceCategory.JUSTIFIED, "justified absence"),
    "M": (AttendanceCategory.JUSTIFIED, "medical: illness or injury"),
    "S": (AttendanceCategory.JUSTIFIED, "stand-down, suspension or exclusion"),
    "N": (AttendanceCategory.JUSTIFIED, "not required to attend"),
    "X": (AttendanceCategory.JUSTIFIED, "non-instructional day for the student"),
    "E": (AttendanceCategory.UNJUSTIFIED, "explained but not approved"),
    "G": (AttendanceCategory.UNJUSTIFIED, "overseas, not approved"),
    "H": (AttendanceCategory.UNJUSTIFIED, "holiday during term"),
    "T": (AttendanceCategory.UNJUSTIFIED, "truant: absent without explanation"),
    # Temporary, until the school learns the reason: unjustified until then.
    "?": (AttendanceCategory.UNKNOWN, "reason not yet known"),
}


def category_of(code: str) -> AttendanceCategory | None:
    """How the code counts; None for a code that is not one of the Ministry's."""
    known = ATTENDANCE_CODES.get(code)
    return known[0] if known else None


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
    code: str = Field(
        min_length=1, max_length=2, description="the Ministry attendance code (ATTENDANCE_CODES)"
    )
    category: AttendanceCategory
    as_of: AwareDatetime = Field(description="the file's time; orders one session's records")

    def partition_key(self) -> str:
        return self.subject_student_key

    def student_key(self) -> str | None:
        return self.subject_student_key
