"""API models of the batch uploads (ENROL records, daily attendance)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from acms_integrations.schemas import CLOCK_SKEW


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class JobStatus(StrEnum):
    AWAITING_FILE = "awaiting_file"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class NewBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: FileFormat = Field(description="csv (a header line first) or jsonl")
    as_of: AwareDatetime = Field(
        description="the time of the extract, with its offset: orders these records after "
        "older ones and before newer ones, whichever arrives first"
    )

    @field_validator("as_of")
    @classmethod
    def not_ahead_of_now(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("is in the future")
        return value


class BatchJob(BaseModel):
    """An upload and how far it got. Counts grow while it runs (committed every chunk of
    rows); `rows_read` = rejected + applied + unchanged + stale + dropped."""

    id: UUID
    kind: str = Field(description="enrolments or attendance")
    format: FileFormat
    as_of: datetime
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    bytes_received: int
    rows_read: int = Field(description="rows taken so far (blank lines are not rows)")
    rejected: int = Field(description="bad rows: see the rejections report")
    applied: int = Field(description="rows that changed what is held: each published once")
    unchanged: int = Field(description="rows equal to what is held: nothing published")
    stale: int = Field(description="rows older than what is held: nothing changed")
    dropped: int = Field(description="attendance rows of students without an active case")
    sha256: str | None = Field(description="of the file as received, once complete")
    failure: str | None = Field(description="why the upload stopped, if it failed")
