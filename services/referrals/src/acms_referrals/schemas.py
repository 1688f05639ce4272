"""API models of the referrals service. Unknown fields and enum values are refused (422,
naming the field); completeness is checked only at submit (a draft may be partial)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from acms_contracts.student_keys import NSN_PATTERN
from acms_platform.access import TieredView, tier_field

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
# National Student Number: 9 or 10 digits, as every service accepts it.
Nsn = Annotated[str, StringConstraints(pattern=NSN_PATTERN)]
# NZ and international numbers: digits, spaces, dashes, brackets, optional leading +.
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()-]{5,19}$")]

MIN_AGE_YEARS, MAX_AGE_YEARS = 3, 21


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    ANOTHER = "another_gender"
    UNDISCLOSED = "undisclosed"


class ReasonCategory(StrEnum):
    CHRONIC_ABSENCE = "chronic_absence"
    NON_ENROLMENT = "non_enrolment"
    TRUANCY = "truancy"
    WELLBEING = "wellbeing"
    TRANSITION = "transition"
    OTHER = "other"


class Relationship(StrEnum):
    PARENT = "parent"
    CAREGIVER = "caregiver"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    WHANAU = "other_whanau"
    OTHER = "other"


class Address(Strict):
    line1: ShortText
    line2: ShortText | None = None
    suburb: ShortText | None = None
    city: ShortText
    postcode: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] | None = None


class Student(Strict):
    nsn: Nsn | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    ethnicity: list[ShortText] = Field(default_factory=list, max_length=6)
    iwi: list[ShortText] = Field(default_factory=list, max_length=10)
    address: Address | None = None
    languages: list[ShortText] = Field(default_factory=list, max_length=10)
    year_level: int | None = Field(default=None, ge=0, le=15)
    not_enrolled: bool = False

    @field_validator("date_of_birth")
    @classmethod
    def sane_birth_date(cls, value: date | None) -> date | None:
        if value is None:
            return value
        today = date.today()
        if value > today:
            raise ValueError("date of birth is in the future")
        age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
        if not MIN_AGE_YEARS <= age <= MAX_AGE_YEARS:
            raise ValueError(f"age {age} is outside {MIN_AGE_YEARS}-{MAX_AGE_YEARS} years")
        return value


class WhanauMember(Strict):
    name: ShortText
    relationship: Relationship
    phone: Phone | None = None
    email: EmailStr | None = None
    address: Address | None = None
    languages: list[ShortText] = Field(default_factory=list, max_length=10)


class Pastoral(Strict):
    iep: LongText | None = None
    previous_interventions: LongText | None = None
    medical: LongText | None = None


class RequestContent(Strict):
    """The request as written; every field optional while it is a draft."""

    student: Student = Field(default_factory=Student)
    school_id: UUID | None = None
    whanau: list[WhanauMember] = Field(default_factory=list, max_length=12)
    reason_category: ReasonCategory | None = None
    reason_text: LongText | None = None
    actions_taken: LongText | None = None
    pastoral: Pastoral = Field(default_factory=Pastoral)
    primary_contact_id: UUID | None = None


class EditDraft(RequestContent):
    version: int = Field(ge=1)


class VersionOnly(Strict):
    version: int = Field(ge=1)


class Decline(VersionOnly):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Allocate(VersionOnly):
    provider_id: UUID


class Assign(VersionOnly):
    assignee_id: UUID


# --- Responses ---------------------------------------------------------------------------
# A request as one caller may see it: each field belongs to a tier (ACCESS-MODEL section
# 3; `school`: where the request is now), and fields of tiers not granted are absent.


class HistoryEntry(BaseModel):
    """One transition; its details (providers, schools, dates) as the grant allows."""

    model_config = ConfigDict(extra="allow")

    action: str
    from_status: str | None
    to_status: str
    at: str = Field(description="ISO 8601")
    actor_id: str | None = Field(default=None, description="absent where it would tell where")


class DuplicateLink(BaseModel):
    """Another open request of the same student (same NSN), or the active case opened from
    it: a possible duplicate for Central Investigation to weigh at triage."""

    request_id: str
    status: str = Field(description="the other request's status")
    case_id: str | None = Field(default=None, description="its active case, if one is open")


class ReferralView(TieredView):
    id: str | None = tier_field("basic")
    status: str | None = tier_field("basic")
    version: int | None = tier_field("basic")
    student_name: str | None = tier_field("basic")
    primary_contact_name: str | None = tier_field("basic")
    opened_at: str | None = tier_field("basic", description="ISO 8601")
    school_id: str | None = tier_field("basic", "school")
    provider_id: str | None = tier_field("basic", "school")
    case_manager_name: str | None = tier_field("basic", "school")
    nsn: str | None = tier_field("summary")
    year_level: int | None = tier_field("summary")
    reason_category: str | None = tier_field("summary", or_in=["full"])
    decline_reason: str | None = tier_field("summary")
    updated_at: str | None = tier_field("summary", description="ISO 8601")
    history: list[HistoryEntry] | None = tier_field("summary")
    provider_type: str | None = tier_field("summary", "school")
    assignee_id: str | None = tier_field("summary", "school")
    student: dict[str, Any] | None = tier_field("full", description="as written")
    whanau: list[dict[str, Any]] | None = tier_field("full")
    reason_text: str | None = tier_field("full")
    actions_taken: str | None = tier_field("full")
    pastoral: dict[str, Any] | None = tier_field("full")
    primary_contact_id: str | None = tier_field("full")
    created_by: str | None = tier_field("full")
    creator_org_id: str | None = tier_field("full")
    possible_duplicate_of: list[DuplicateLink] | None = tier_field(
        "duplicates",
        description="the student's other open requests and active cases (Central "
        "Investigation only); empty: none",
    )
    tiers: list[str] = Field(description="the tiers granted: which fields may be present")


class TransitionOutcome(BaseModel):
    """What a transition answers: the new state only (the caller may no longer see the
    request afterwards, so no content)."""

    id: str
    status: str
    version: int
