"""Events published by the cases service: a case from opening to closure. All travel on
one topic keyed by the stable student key, in order with the student's requests. No
content (notes, pastoral information) travels: only what happened, to which case, by whom."""

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from acms_contracts import topics
from acms_contracts.envelope import Event


class _CaseEvent(Event):
    topic: ClassVar[str] = topics.CASES

    case_id: UUID
    reference: str = Field(description="the human-readable reference, AS-<year>-<6 digits>")
    subject_student_key: str = Field(min_length=1, max_length=64)
    actor_id: str = Field(description="account that made the change; 'system' for events")
    at: datetime

    def partition_key(self) -> str:
        return self.subject_student_key

    def student_key(self) -> str | None:
        return self.subject_student_key


class CaseOpened(_CaseEvent):
    """A case opened from an assigned request for support (exactly once per request)."""

    event_type: ClassVar[str] = "CaseOpened"
    referral_id: UUID
    school_id: UUID | None
    provider_id: UUID
    case_manager_id: UUID


class CaseClosed(_CaseEvent):
    event_type: ClassVar[str] = "CaseClosed"
    outcome_category: str


class CaseProsecutionNoticeGiven(_CaseEvent):
    """A provider workflow lead notified the case for potential prosecution."""

    event_type: ClassVar[str] = "CaseProsecutionNoticeGiven"


class CaseProsecutionNoticeWithdrawn(_CaseEvent):
    event_type: ClassVar[str] = "CaseProsecutionNoticeWithdrawn"


class CaseTransferred(_CaseEvent):
    """The case followed the student to another school and provider, or was re-allocated
    to another provider at the same school (ACCESS-MODEL 6): the former provider, its case
    manager and team lose it either way."""

    event_type: ClassVar[str] = "CaseTransferred"
    reason: Literal["moved", "reallocated"] = Field(
        default="moved", description="moved: ENROL moved the student; reallocated: a person"
    )
    from_school_id: UUID | None
    school_id: UUID | None
    from_provider_id: UUID | None
    provider_id: UUID | None = Field(
        description="the ASP whose catchment holds the new school; none if none is known"
    )


class CasePrimaryContactChanged(_CaseEvent):
    """A school leader or office support named another primary contact (so the new one
    can be notified)."""

    event_type: ClassVar[str] = "CasePrimaryContactChanged"
    school_id: UUID | None
    primary_contact_id: UUID


class CaseNeedsAttention(_CaseEvent):
    """A reminder for the case manager (and the provider's workflow leads): nothing was
    recorded on the active case for `idle_days`, or a calendar entry is overdue. Published
    once per episode, so notifications can be sent."""

    event_type: ClassVar[str] = "CaseNeedsAttention"
    reason: str = Field(description="no_recent_activity or overdue_calendar_entry")
    provider_id: UUID | None
    case_manager_id: UUID | None
    idle_days: int | None = None
    item_id: UUID | None = Field(default=None, description="the overdue calendar entry")
    due_at: datetime | None = None


class _CaseItemEvent(_CaseEvent):
    item_id: UUID
    item_kind: str = Field(description="note, comment, correspondence, activity, ...")
    version: int = Field(ge=1, description="the item's version the change made")


class CaseItemSharedWithSchool(_CaseItemEvent):
    """The assigned case manager shared an item (a note or a comment, later a document)
    with the school (so the school's leaders and the primary contact can be notified)."""

    event_type: ClassVar[str] = "CaseItemSharedWithSchool"
    school_id: UUID | None
    primary_contact_id: UUID | None


class CaseItemShareWithdrawn(_CaseItemEvent):
    """An item shared with the school no longer is (withdrawn, or labelled sensitive)."""

    event_type: ClassVar[str] = "CaseItemShareWithdrawn"
    school_id: UUID | None


class CaseItemLabelledSensitive(_CaseItemEvent):
    event_type: ClassVar[str] = "CaseItemLabelledSensitive"


class CaseItemSensitiveLabelRemoved(_CaseItemEvent):
    event_type: ClassVar[str] = "CaseItemSensitiveLabelRemoved"


class CaseTeamMemberAdded(_CaseEvent):
    """A provider workflow lead added a member of the provider's staff to the case's team."""

    event_type: ClassVar[str] = "CaseTeamMemberAdded"
    provider_id: UUID
    account_id: UUID


class CaseTeamMemberRemoved(_CaseEvent):
    """A member left the case's team (removed by a workflow lead, or the case moved to
    another provider)."""

    event_type: ClassVar[str] = "CaseTeamMemberRemoved"
    provider_id: UUID | None
    account_id: UUID
