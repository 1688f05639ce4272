"""API models of a case's content items: one request model per kind (what may be written),
one version model and one item view per kind (what is answered). Every kind is versioned
the same way: an item's view is its current version plus the history the caller may see.

Dates must be timezone-aware and within years 2000-2100, an end never before its start,
and text is never empty: each is a 422 naming the field."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

FIRST_YEAR, LAST_YEAR = 2000, 2100

ItemText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
PlanText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Party = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _within_years(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be within the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


When = Annotated[AwareDatetime, AfterValidator(_within_years)]


class ItemKind(StrEnum):
    NOTE = "note"
    CORRESPONDENCE = "correspondence"
    ACTIVITY = "activity"
    CALENDAR_ENTRY = "calendar_entry"
    SUPPORT_PLAN = "support_plan"
    COMMENT = "comment"


class Channel(StrEnum):
    MESSAGE = "message"
    EMAIL = "email"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class ActivityType(StrEnum):
    MEETING = "meeting"
    HOME_VISIT = "home_visit"
    CALL = "call"
    OTHER = "other"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- What may be written, per kind ----------------------------------------------------
# `<Kind>Content` is the content; `New<Kind>` adds the sensitive label a new item may
# carry; `Revise<Kind>` adds the version the edit was made on (a stale one is 409). An
# edit keeps the item's labels: labelling and sharing have their own routes.


class Content(Strict):
    # The column every kind's main text lives in; the rest goes to the version's fields.
    TEXT_FIELD: ClassVar[str] = "text"

    def text_and_fields(self) -> tuple[str, dict[str, Any]]:
        values = self.model_dump(mode="json", exclude={"sensitive", "version"})
        return values.pop(self.TEXT_FIELD), values


class Revision(Strict):
    version: int = Field(ge=1, description="the version the edit was made on")


class NoteContent(Content):
    text: ItemText


class NewNote(NoteContent):
    sensitive: bool = False


class ReviseNote(NoteContent, Revision):
    pass


class CorrespondenceContent(Content):
    TEXT_FIELD: ClassVar[str] = "body"
    channel: Channel
    direction: Direction = Field(description="in: received by the provider; out: sent by it")
    parties: list[Party] = Field(min_length=1, max_length=20, description="who wrote / received")
    subject: Title | None = None
    body: ItemText
    sent_at: When


class NewCorrespondence(CorrespondenceContent):
    sensitive: bool = False


class ReviseCorrespondence(CorrespondenceContent, Revision):
    pass


class ActivityContent(Content):
    TEXT_FIELD: ClassVar[str] = "outcome"
    activity_type: ActivityType
    occurred_at: When
    outcome: ItemText


class NewActivity(ActivityContent):
    sensitive: bool = False


class ReviseActivity(ActivityContent, Revision):
    pass


class CalendarEntryContent(Content):
    TEXT_FIELD: ClassVar[str] = "title"
    title: Title
    starts_at: When
    ends_at: When | None = None
    done: bool = False

    @field_validator("ends_at")
    @classmethod
    def _ends_after_it_starts(cls, value: datetime | None, info: ValidationInfo) -> Any:
        starts = info.data.get("starts_at")
        if value is not None and starts is not None and value < starts:
            raise ValueError("must not be before starts_at")
        return value


class NewCalendarEntry(CalendarEntryContent):
    sensitive: bool = False


class ReviseCalendarEntry(CalendarEntryContent, Revision):
    pass


class SupportPlanContent(Content):
    text: PlanText


class WriteSupportPlan(SupportPlanContent):
    version: int | None = Field(
        default=None,
        ge=1,
        description="the version the edit was made on; none for the case's first plan",
    )


class CommentContent(Content):
    text: ItemText


class NewComment(CommentContent):
    pass


class ReviseComment(CommentContent, Revision):
    pass


class Label(Revision):
    sensitive: bool = Field(description="true labels the item sensitive, false removes it")


class Share(Revision):
    shared: bool = Field(description="true shares the item with the school, false withdraws")


# --- What is answered -----------------------------------------------------------------


class ItemReceipt(BaseModel):
    """What writing a comment answers: the new item, not its content."""

    id: str
    kind: ItemKind
    version: int
    at: str = Field(description="ISO 8601")


class ItemVersion(BaseModel):
    version: int
    change: str = Field(description="create, revise, label, unlabel, share or unshare")
    sensitive: bool
    shared: bool = Field(description="shared with the school at this version")
    author_id: str
    at: str = Field(description="ISO 8601")


class NoteVersion(ItemVersion):
    text: str


class CorrespondenceVersion(ItemVersion):
    channel: Channel
    direction: Direction
    parties: list[str]
    subject: str | None = None
    body: str
    sent_at: datetime


class ActivityVersion(ItemVersion):
    activity_type: ActivityType
    occurred_at: datetime
    outcome: str


class CalendarEntryVersion(ItemVersion):
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    done: bool


class SupportPlanVersion(ItemVersion):
    text: str


class CommentVersion(ItemVersion):
    text: str


class _Item(BaseModel):
    id: str
    created_by: str
    created_at: str = Field(description="ISO 8601")


class NoteView(NoteVersion, _Item):
    """The note at its current version; `history` every version the caller may see."""

    kind: Literal["note"] = "note"
    history: list[NoteVersion]


class CorrespondenceView(CorrespondenceVersion, _Item):
    kind: Literal["correspondence"] = "correspondence"
    history: list[CorrespondenceVersion]


class ActivityView(ActivityVersion, _Item):
    kind: Literal["activity"] = "activity"
    history: list[ActivityVersion]


class CalendarEntryView(CalendarEntryVersion, _Item):
    kind: Literal["calendar_entry"] = "calendar_entry"
    history: list[CalendarEntryVersion]


class SupportPlanView(SupportPlanVersion, _Item):
    kind: Literal["support_plan"] = "support_plan"
    history: list[SupportPlanVersion]


class CommentView(CommentVersion, _Item):
    kind: Literal["comment"] = "comment"
    history: list[CommentVersion]


ItemView = Annotated[
    NoteView
    | CorrespondenceView
    | ActivityView
    | CalendarEntryView
    | SupportPlanView
    | CommentView,
    Field(discriminator="kind"),
]

# Each kind: its version model and its item view.
MODELS: dict[ItemKind, tuple[type[ItemVersion], type[_Item]]] = {
    ItemKind.NOTE: (NoteVersion, NoteView),
    ItemKind.CORRESPONDENCE: (CorrespondenceVersion, CorrespondenceView),
    ItemKind.ACTIVITY: (ActivityVersion, ActivityView),
    ItemKind.CALENDAR_ENTRY: (CalendarEntryVersion, CalendarEntryView),
    ItemKind.SUPPORT_PLAN: (SupportPlanVersion, SupportPlanView),
    ItemKind.COMMENT: (CommentVersion, CommentView),
}
TEXT_FIELDS: dict[ItemKind, str] = {
    ItemKind.NOTE: "text",
    ItemKind.CORRESPONDENCE: "body",
    ItemKind.ACTIVITY: "outcome",
    ItemKind.CALENDAR_ENTRY: "title",
    ItemKind.SUPPORT_PLAN: "text",
    ItemKind.COMMENT: "text",
}
