"""Events published by the referrals service: a request for support from draft to
assignment. All travel on one topic keyed by the stable student key, so that one
student's requests, and the cases opened from them, stay in order."""

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from acms_contracts import topics
from acms_contracts.envelope import Event


class _ReferralEvent(Event):
    topic: ClassVar[str] = topics.REFERRALS

    referral_id: UUID
    subject_student_key: str = Field(min_length=1, max_length=64)
    actor_id: str = Field(description="account that made the transition")
    version: int = Field(ge=1, description="the request's version after the transition")
    at: datetime

    def partition_key(self) -> str:
        return self.subject_student_key

    def student_key(self) -> str | None:
        return self.subject_student_key


class ReferralDrafted(_ReferralEvent):
    event_type: ClassVar[str] = "ReferralDrafted"
    school_id: UUID | None = Field(description="the student's school; none if not enrolled")
    created_by_org_id: UUID


class ReferralSubmitted(_ReferralEvent):
    event_type: ClassVar[str] = "ReferralSubmitted"
    school_id: UUID | None
    reason_category: str


class ReferralWithdrawn(_ReferralEvent):
    event_type: ClassVar[str] = "ReferralWithdrawn"


class ReferralDeclined(_ReferralEvent):
    event_type: ClassVar[str] = "ReferralDeclined"
    reason: str = Field(min_length=1, max_length=2000)


class ReferralAccepted(_ReferralEvent):
    event_type: ClassVar[str] = "ReferralAccepted"


class ReferralAllocated(_ReferralEvent):
    event_type: ClassVar[str] = "ReferralAllocated"
    provider_id: UUID
    provider_type: str = Field(description="asp or isp")


class ReferralReallocated(_ReferralEvent):
    event_type: ClassVar[str] = "ReferralReallocated"
    from_provider_id: UUID
    provider_id: UUID
    provider_type: str = Field(description="asp or isp")


class ReferralTransferred(_ReferralEvent):
    """The request followed its student to another school (ACCESS-MODEL 6): allocated or
        assigned with no case yet when ENROL reported the move, it went to the ASP whose
        catchment holds the new school (an ISP's request too), losing its assignee when the
        provider changed; with no such ASP known it went back to Central Investigation to be
        allocated (`provider_id` none). Or the case opened from it moved (CaseTransferred): it went
    with the case, to the case's provider (none: awaiting re-allocation), keeping its status.
    The former school, provider and assignee lose it."""

    event_type: ClassVar[str] = "ReferralTransferred"
    from_school_id: UUID | None
    school_id: UUID | None = Field(description="the student's new school; none: enrolled nowhere")
    from_provider_id: UUID | None
    provider_id: UUID | None = Field(
        description="the ASP whose catchment holds the new school; none: awaiting allocation"
    )
    provider_type: str | None = Field(default=None, description="asp, or none")


class ReferralHistoryEntry(BaseModel):
    """One transition of the request, as the cases service keeps it in the case."""

    action: str
    from_status: str | None = None
    to_status: str
    at: datetime
    actor_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ReferralAssigned(_ReferralEvent):
    """What the cases service opens a case from: the request as written (student, whānau,
    reason, pastoral information) and its history travel with it, so the case holds them
    without calling referrals. The content fields were added in a backward-compatible way
    (all optional): an event from an older producer opens a case with what it carries."""

    event_type: ClassVar[str] = "ReferralAssigned"
    school_id: UUID | None
    provider_id: UUID
    assignee_id: UUID
    provider_type: str | None = Field(default=None, description="asp or isp")
    nsn: str | None = None
    student_name: str | None = None
    year_level: int | None = None
    reason_category: str | None = None
    reason_text: str | None = None
    actions_taken: str | None = None
    primary_contact_id: UUID | None = None
    student: dict[str, Any] | None = Field(default=None, description="as written")
    whanau: list[dict[str, Any]] = Field(default_factory=list)
    pastoral: dict[str, Any] | None = None
    history: list[ReferralHistoryEntry] = Field(default_factory=list)
