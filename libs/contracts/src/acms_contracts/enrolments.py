"""Events published by the integrations service from the ENROL feed: which school a
student is enrolled at now. Keyed by the student key (`student_keys.student_key_for_nsn`), so
that a student's enrolment changes stay in order with their requests and cases.

The NSN itself does not travel: every consumer matches the student by key.
"""

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from acms_contracts import topics
from acms_contracts.envelope import Event


class StudentEnrolmentChanged(Event):
    """ENROL says the student's current enrolment is at `school_id` (None: enrolled
    nowhere) as of `as_of`. Consumers apply it only if `as_of` is later than the enrolment
    they already hold for the student; an equal or older one is a duplicate or stale."""

    event_type: ClassVar[str] = "StudentEnrolmentChanged"
    topic: ClassVar[str] = topics.ENROLMENTS

    subject_student_key: str = Field(min_length=1, max_length=64)
    school_id: UUID | None = Field(description="the student's current school; none: not enrolled")
    effective_on: date = Field(description="the day the enrolment (or its end) took effect")
    as_of: AwareDatetime = Field(
        description="ENROL's time of this record; orders one student's changes"
    )
    # From ENROL's full records (batch upload, Kafka); absent from a single-change report.
    # The leaving reason does not travel: no consumer needs it.
    student_type: str | None = Field(default=None, description="ENROL's student type code")
    year_level: int | None = Field(default=None, ge=0, le=15)
    enrolled_on: date | None = Field(default=None, description="start of the enrolment")
    left_on: date | None = Field(default=None, description="end of the enrolment, if it ended")

    def partition_key(self) -> str:
        return self.subject_student_key

    def student_key(self) -> str | None:
        return self.subject_student_key
