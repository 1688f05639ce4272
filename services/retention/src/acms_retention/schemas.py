"""API models of the retention service."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class TrailEntry(BaseModel):
    event_id: UUID
    event_type: str
    occurred_at: datetime
    account_id: str | None
    organisation_id: str | None
    roles: list[str]
    action: str | None
    outcome: str | None
    rule: str | None
    trace_id: str | None
    accesses: list[dict[str, Any]]
    chain: int
    seq: int
    envelope: dict[str, Any]


class TrailPage(BaseModel):
    entries: list[TrailEntry]
    truncated: bool


class StudentAccess(BaseModel):
    occurred_at: datetime
    account_id: str | None
    organisation_id: str | None
    roles: list[str]
    action: str | None
    record_id: str
    kind: str
    tiers: list[str]
    rule: str | None
    trace_id: str | None
    event_id: UUID


class StudentAccessReport(BaseModel):
    student_key: str
    accesses: list[StudentAccess]
    truncated: bool


class Alert(BaseModel):
    id: UUID
    rule: str
    account_id: str
    organisation_id: str | None
    summary: str
    first_seen_at: datetime
    last_seen_at: datetime
    count: int
    evidence: list[UUID]
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


class Acknowledgement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)


class TrailBreak(BaseModel):
    """The first broken link of a chain."""

    chain: int
    seq: int
    event_id: str | None
    reason: str
    message: str


class Verification(BaseModel):
    """The whole trail verified now: every link recomputed, every checkpoint checked."""

    intact: bool
    rows: int
    chains: dict[str, int] = Field(description="chain → the seq of its head")
    checkpoints: int
    breaks: list[TrailBreak]
