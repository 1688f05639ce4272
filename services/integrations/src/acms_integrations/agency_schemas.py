"""Request and response bodies of agency information requests, consents, shares and the
disclosure log. Every string is bounded; every unknown field is refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from acms_integrations.agreements import Agency

FieldName = Annotated[str, StringConstraints(min_length=1, max_length=60)]
FieldValue = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Subject = Literal["student", "parent"]
SharePurpose = Literal["additional_support", "third_party"]

# What a consent may cover and a share may carry ([decision]: the biographical and contact
# details a support service or a transport provider needs, never case content).
SHAREABLE_FIELDS = frozenset(
    {
        "full_name",
        "preferred_name",
        "date_of_birth",
        "school",
        "year_level",
        "home_address",
        "parent_name",
        "parent_phone",
        "parent_email",
        "languages_spoken",
        "transport_needs",
        "support_needs",
    }
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgencyLink(_In):
    organisation_id: UUID = Field(description="the identity organisation (type agency)")


class AgencyView(BaseModel):
    agency: Agency
    agreement_name: str
    agreement_version: str
    purpose: str
    fields: list[str] = Field(description="the fields a request to this agency may carry")
    organisation_id: UUID | None = Field(description="the linked organisation; none yet")


class NewInformationRequest(_In):
    agency: Agency
    case_id: UUID = Field(description="the case the request helps (its student is sought)")
    subject: Subject = Field(description="who is sought: the student, or their parent")
    fields: dict[FieldName, FieldValue] = Field(
        min_length=1,
        max_length=10,
        description="field name → value sent; only fields the agency's agreement lists",
    )


class Location(_In):
    address: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    phone: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    as_at: date | None = Field(default=None, description="when the agency last knew it")


class Answer(_In):
    found: bool = Field(description="whether the agency holds anything on the person")
    location: Location | None = None
    departed_nz_on: date | None = Field(
        default=None, description="Immigration: the day the person left New Zealand"
    )
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class LocationRecord(_In):
    location: Location
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Delivery(BaseModel):
    attempts: int
    next_attempt_at: datetime | None = Field(description="none once delivered")
    last_error: str | None
    delivered_at: datetime | None


class InformationRequestView(BaseModel):
    """The request as Central Investigation sees it."""

    id: UUID
    agency: Agency
    agreement_name: str
    agreement_version: str
    case_id: UUID
    subject: Subject
    purpose: str
    fields: dict[str, str]
    requested_by: UUID
    requested_at: datetime
    status: Literal["pending", "delivered", "answered"]
    delivery: Delivery
    answer: Answer | None
    answered_at: datetime | None
    location: LocationRecord | None
    location_recorded_by: UUID | None
    location_recorded_at: datetime | None


class PartnerRequestView(BaseModel):
    """The request as the agency sees it: what its agreement allowed, and its answer."""

    id: UUID
    agreement_name: str
    agreement_version: str
    subject: Subject
    purpose: str
    fields: dict[str, str]
    requested_at: datetime
    answer: Answer | None
    answered_at: datetime | None


class NewConsent(_In):
    party_org_id: UUID = Field(description="the party (an agency-type organisation) covered")
    purpose: SharePurpose
    scope: list[FieldName] = Field(min_length=1, max_length=20, description="fields covered")
    given_by_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    given_by_relationship: Subject
    given_at: AwareDatetime
    expires_at: AwareDatetime


class Withdrawal(_In):
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ConsentView(BaseModel):
    id: UUID
    case_id: UUID
    party_org_id: UUID
    purpose: SharePurpose
    scope: list[str]
    given_by_name: str
    given_by_relationship: Subject
    given_at: datetime
    expires_at: datetime
    recorded_by: UUID
    recorded_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: UUID | None
    withdrawal_note: str | None
    valid: bool = Field(description="neither withdrawn nor expired now")


class NewShare(_In):
    party_org_id: UUID
    purpose: SharePurpose
    fields: dict[FieldName, FieldValue] = Field(min_length=1, max_length=20)
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ShareView(BaseModel):
    id: UUID
    consent_id: UUID
    case_id: UUID
    recipient_org_id: UUID
    purpose: SharePurpose
    fields: dict[str, str]
    note: str | None
    shared_by: UUID
    shared_at: datetime


class PartnerShareView(BaseModel):
    id: UUID
    purpose: SharePurpose
    fields: dict[str, str]
    note: str | None
    shared_at: datetime


class DisclosureView(BaseModel):
    id: int
    disclosed_at: datetime
    disclosed_by: UUID
    kind: str
    recipient_org_id: UUID
    recipient: str
    fields: list[str]
    agreement: str | None
    consent_id: UUID | None
    student_key: str
    case_id: UUID
    record_id: UUID


class DisclosurePage(BaseModel):
    disclosures: list[DisclosureView]
    next_before: int | None = Field(description="pass as `before` for the next page")
