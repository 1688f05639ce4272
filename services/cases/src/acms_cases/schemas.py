"""API models of the cases service. Unknown fields and enum values are refused (422,
naming the field). Responses are `TieredView`s: each field belongs to a tier of
ACCESS-MODEL section 3, and fields of tiers not granted are absent from the answer."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from acms_cases.content_schemas import ItemView, SupportPlanView
from acms_cases.document_schemas import DocumentView
from acms_platform.access import TieredView, tier_field

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class OutcomeCategory(StrEnum):
    ATTENDING_REGULARLY = "attending_regularly"
    ENROLLED_ELSEWHERE = "enrolled_elsewhere"
    LEFT_NEW_ZEALAND = "left_new_zealand"
    REFERRED_TO_AGENCY = "referred_to_agency"
    PROSECUTION = "prosecution"
    UNABLE_TO_ENGAGE = "unable_to_engage"
    OTHER = "other"


class Close(Strict):
    outcome_category: OutcomeCategory
    outcome_text: LongText


class Reallocate(Strict):
    provider_id: UUID = Field(
        description="the ASP (or, for Central Investigation, the ISP of the case's school) "
        "that takes the case"
    )


class ChangePrimaryContact(Strict):
    account_id: UUID = Field(description="an active staff member of the case's school")


# --- Responses ---------------------------------------------------------------------------

# What the case view's `shared` tier carries: items of any kind, and documents (their own
# tables, the same view as the documents list), told apart by `kind`.
SharedItem = Annotated[ItemView | DocumentView, Field(discriminator="kind")]


class CaseView(TieredView):
    id: str | None = tier_field("basic")
    reference: str | None = tier_field("basic")
    status: str | None = tier_field("basic")
    version: int | None = tier_field("basic")
    student_name: str | None = tier_field("basic")
    school_id: str | None = tier_field("basic")
    provider_id: str | None = tier_field("basic")
    case_manager_name: str | None = tier_field("basic")
    primary_contact_name: str | None = tier_field("basic")
    opened_at: str | None = tier_field("basic", description="ISO 8601")
    closed_at: str | None = tier_field("basic", description="ISO 8601")
    nsn: str | None = tier_field("summary")
    year_level: int | None = tier_field("summary")
    reason_category: str | None = tier_field("summary")
    provider_type: str | None = tier_field("summary")
    case_manager_id: str | None = tier_field("summary")
    referral_id: str | None = tier_field("summary")
    request_history: list[dict[str, Any]] | None = tier_field(
        "summary", description="the request's allocation and assignment history"
    )
    outcome_category: str | None = tier_field("summary")
    outcome_text: str | None = tier_field("summary")
    prosecution_notified: bool | None = tier_field("summary")
    note_count: int | None = tier_field("summary", description="notes not labelled sensitive")
    activity_count: int | None = tier_field(
        "summary", description="activities not labelled sensitive"
    )
    document_count: int | None = tier_field(
        "summary", description="documents not labelled sensitive (at their current version)"
    )
    updated_at: str | None = tier_field("summary", description="ISO 8601")
    home_address: dict[str, Any] | None = tier_field(
        "demographic", description="the student's last known home address"
    )
    school_last_attended: str | None = tier_field("demographic")
    support_plan: SupportPlanView | None = tier_field(
        "support_plan",
        description="the detailed support plan (null: none yet); in the case's own view only",
    )
    shared_items: list[SharedItem] | None = tier_field(
        "shared",
        description="the notes, comments and documents (at their current version) shared "
        "with the school; in the case's own view only",
    )
    student: dict[str, Any] | None = tier_field("full", description="as the request wrote it")
    whanau: list[dict[str, Any]] | None = tier_field("full")
    reason_text: str | None = tier_field("full")
    actions_taken: str | None = tier_field("full")
    pastoral: dict[str, Any] | None = tier_field("full")
    primary_contact_id: str | None = tier_field("full")
    sensitive_note_count: int | None = tier_field("sensitive")
    attendance: list[dict[str, Any]] | None = tier_field(
        "attendance", description="daily attendance while the case is active"
    )
    needs_attention: str | None = tier_field(
        "full", description="why the case needs attention now (no_recent_activity, ...)"
    )
    last_activity_at: str | None = tier_field("full", description="ISO 8601")
    tiers: list[str] = Field(description="the tiers granted: which fields may be present")


class CaseOutcome(BaseModel):
    """What a lifecycle change answers: the new state only (the caller may lose sight of
    the case by it)."""

    id: str
    reference: str
    status: str
    version: int
    prosecution_notified: bool


class TimelineEntry(BaseModel):
    kind: str
    actor_id: str
    at: str = Field(description="ISO 8601")
    detail: dict[str, Any]


class AddTeamMember(Strict):
    account_id: UUID = Field(description="an active staff member of the case's provider")


class AttendanceRecord(BaseModel):
    on: date
    session: str = Field(description="AM, PM or a period P1..P12")
    code: str = Field(description="the Ministry attendance code")
    category: str = Field(description="present, justified, unjustified or unknown")
    school_id: str


class AttendanceView(BaseModel):
    case_id: str
    summary: dict[str, Any] = Field(
        description="sessions by category and present_percent (justified counts as absent)"
    )
    records: list[AttendanceRecord] = Field(description="newest first")


class TeamMemberView(BaseModel):
    account_id: str
    name: str | None
    added_by: str
    added_at: str = Field(description="ISO 8601")
