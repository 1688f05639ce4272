"""API models of the integrations service. Unknown fields are refused (422 naming the
field); every change of a batch must be valid or none is taken."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from acms_contracts.student_keys import NSN_PATTERN

MAX_CHANGES_PER_BATCH = 500
# ENROL's clock may run a little ahead of ours; a record from further ahead than this is
# refused, or it would hide every real change of that student until then.
CLOCK_SKEW = timedelta(minutes=5)
# New Zealand's today can be UTC's tomorrow.
DATE_LINE_SLACK = timedelta(days=1)

Nsn = Annotated[str, StringConstraints(pattern=NSN_PATTERN)]


class EnrolmentChange(BaseModel):
    """One row of the ENROL feed: where the student is enrolled now."""

    model_config = ConfigDict(extra="forbid")

    nsn: Nsn = Field(description="National Student Number, 9 or 10 digits")
    school_id: UUID | None = Field(
        description="the school the student is enrolled at now; null: enrolled nowhere "
        "(required, so that an omitted field never un-enrols a student)"
    )
    effective_on: date = Field(description="the day the enrolment (or its end) took effect")
    as_of: AwareDatetime = Field(
        description="ENROL's time of this record, with its offset; orders a student's changes"
    )

    @field_validator("effective_on")
    @classmethod
    def not_in_the_future(cls, value: date) -> date:
        if value > datetime.now(UTC).date() + DATE_LINE_SLACK:
            raise ValueError("is in the future: send the change once it has taken effect")
        return value

    @field_validator("as_of")
    @classmethod
    def not_ahead_of_now(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("is in the future")
        return value


class EnrolmentChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: list[EnrolmentChange] = Field(min_length=1, max_length=MAX_CHANGES_PER_BATCH)


class Outcome(StrEnum):
    APPLIED = "applied"  # the student's current school changed (or is first known): published
    UNCHANGED = "unchanged"  # a later record of the same school: kept, nothing published
    IGNORED = "ignored"  # not later than the record held (a repeat or out of order)


class ChangeResult(BaseModel):
    index: int = Field(description="position of the change in the batch")
    outcome: Outcome


class IntakeReport(BaseModel):
    received: int
    applied: int
    unchanged: int
    ignored: int
    results: list[ChangeResult]
