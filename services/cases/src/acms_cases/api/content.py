"""Routes of a case's content items: one create / edit / list per kind, typed per kind,
and the item-wide reads, the sensitive label and sharing with the school."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from acms_cases import content as use
from acms_cases.api.common import CHANGE, NOT_VISIBLE, READ, CasesContext
from acms_cases.content_schemas import (
    ActivityView,
    CalendarEntryView,
    CommentView,
    CorrespondenceView,
    ItemKind,
    ItemReceipt,
    ItemView,
    Label,
    NewActivity,
    NewCalendarEntry,
    NewComment,
    NewCorrespondence,
    NewNote,
    NoteView,
    ReviseActivity,
    ReviseCalendarEntry,
    ReviseComment,
    ReviseCorrespondence,
    ReviseNote,
    Share,
    SupportPlanView,
    WriteSupportPlan,
)

content = APIRouter(prefix="/cases/{case_id}", tags=["case content"])
CREATED = status.HTTP_201_CREATED
CHANGE_ITEM = {**CHANGE, 422: {"description": "bad input, or a label the rules refuse"}}


# --- Any item ------------------------------------------------------------------------


@content.get("/items/{item_id}", responses=NOT_VISIBLE)
async def get_item(case_id: UUID, item_id: UUID, ctx: CasesContext) -> ItemView:
    """One item at its current version, with every version the caller may see."""
    return await use.get_item(ctx, case_id, item_id)


@content.post("/items/{item_id}/sensitive", responses=CHANGE_ITEM)
async def label_sensitive(
    case_id: UUID, item_id: UUID, command: Label, ctx: CasesContext
) -> ItemView:
    """The assigned case manager or a provider workflow lead sets or removes the label;
    labelling a shared item withdraws the share."""
    return await use.label_sensitive(ctx, case_id, item_id, command)


@content.post("/items/{item_id}/share", responses=CHANGE_ITEM)
async def share_with_school(
    case_id: UUID, item_id: UUID, command: Share, ctx: CasesContext
) -> ItemView:
    """The assigned case manager shares a note or comment with the school, or withdraws
    the share; a sensitive item is refused (422)."""
    return await use.share_with_school(ctx, case_id, item_id, command)


# --- Notes ---------------------------------------------------------------------------


@content.get("/notes", responses=READ)
async def list_notes(case_id: UUID, ctx: CasesContext) -> list[NoteView]:
    return await use.list_items(ctx, case_id, ItemKind.NOTE)


@content.post("/notes", status_code=CREATED, responses=CHANGE_ITEM)
async def add_note(case_id: UUID, command: NewNote, ctx: CasesContext) -> NoteView:
    return await use.add(ctx, case_id, ItemKind.NOTE, command, sensitive=command.sensitive)


@content.put("/notes/{item_id}", responses=CHANGE_ITEM)
async def revise_note(
    case_id: UUID, item_id: UUID, command: ReviseNote, ctx: CasesContext
) -> NoteView:
    """A new version of the note; every earlier one is kept and shown in its history."""
    return await use.revise(ctx, case_id, ItemKind.NOTE, item_id, command, command.version)


# --- Correspondence ------------------------------------------------------------------


@content.get("/correspondence", responses=READ)
async def list_correspondence(case_id: UUID, ctx: CasesContext) -> list[CorrespondenceView]:
    return await use.list_items(ctx, case_id, ItemKind.CORRESPONDENCE)


@content.post("/correspondence", status_code=CREATED, responses=CHANGE_ITEM)
async def add_correspondence(
    case_id: UUID, command: NewCorrespondence, ctx: CasesContext
) -> CorrespondenceView:
    """A message or email sent or received, with its parties."""
    kind = ItemKind.CORRESPONDENCE
    return await use.add(ctx, case_id, kind, command, sensitive=command.sensitive)


@content.put("/correspondence/{item_id}", responses=CHANGE_ITEM)
async def revise_correspondence(
    case_id: UUID, item_id: UUID, command: ReviseCorrespondence, ctx: CasesContext
) -> CorrespondenceView:
    kind = ItemKind.CORRESPONDENCE
    return await use.revise(ctx, case_id, kind, item_id, command, command.version)


# --- Activities ----------------------------------------------------------------------


@content.get("/activities", responses=READ)
async def list_activities(case_id: UUID, ctx: CasesContext) -> list[ActivityView]:
    return await use.list_items(ctx, case_id, ItemKind.ACTIVITY)


@content.post("/activities", status_code=CREATED, responses=CHANGE_ITEM)
async def add_activity(case_id: UUID, command: NewActivity, ctx: CasesContext) -> ActivityView:
    """A meeting, home visit, call or other activity, with its outcome."""
    kind = ItemKind.ACTIVITY
    return await use.add(ctx, case_id, kind, command, sensitive=command.sensitive)


@content.put("/activities/{item_id}", responses=CHANGE_ITEM)
async def revise_activity(
    case_id: UUID, item_id: UUID, command: ReviseActivity, ctx: CasesContext
) -> ActivityView:
    return await use.revise(ctx, case_id, ItemKind.ACTIVITY, item_id, command, command.version)


# --- Calendar ------------------------------------------------------------------------


@content.get("/calendar", responses=READ)
async def list_calendar(case_id: UUID, ctx: CasesContext) -> list[CalendarEntryView]:
    return await use.list_items(ctx, case_id, ItemKind.CALENDAR_ENTRY)


@content.post("/calendar", status_code=CREATED, responses=CHANGE_ITEM)
async def add_calendar_entry(
    case_id: UUID, command: NewCalendarEntry, ctx: CasesContext
) -> CalendarEntryView:
    kind = ItemKind.CALENDAR_ENTRY
    return await use.add(ctx, case_id, kind, command, sensitive=command.sensitive)


@content.put("/calendar/{item_id}", responses=CHANGE_ITEM)
async def revise_calendar_entry(
    case_id: UUID, item_id: UUID, command: ReviseCalendarEntry, ctx: CasesContext
) -> CalendarEntryView:
    """An edit (marking it done is one): a new version."""
    kind = ItemKind.CALENDAR_ENTRY
    return await use.revise(ctx, case_id, kind, item_id, command, command.version)


# --- The support plan ----------------------------------------------------------------


@content.get("/support-plan", responses=READ)
async def get_support_plan(case_id: UUID, ctx: CasesContext) -> SupportPlanView:
    return await use.support_plan(ctx, case_id)


@content.put("/support-plan", responses=CHANGE_ITEM)
async def write_support_plan(
    case_id: UUID, command: WriteSupportPlan, ctx: CasesContext
) -> SupportPlanView:
    """The case's one support plan: its first version without `version`, else an edit."""
    return await use.write_support_plan(ctx, case_id, command)


# --- Comments (the school side and the provider) -------------------------------------


@content.get("/comments", responses=READ)
async def list_comments(case_id: UUID, ctx: CasesContext) -> list[CommentView]:
    return await use.list_items(ctx, case_id, ItemKind.COMMENT)


@content.post("/comments", status_code=CREATED, responses=CHANGE_ITEM)
async def add_comment(case_id: UUID, command: NewComment, ctx: CasesContext) -> ItemReceipt:
    """School leaders, office support and the primary contact (and the provider) comment
    on an active case; a comment is shared with the school."""
    return await use.add_comment(ctx, case_id, command)


@content.put("/comments/{item_id}", responses=CHANGE_ITEM)
async def revise_comment(
    case_id: UUID, item_id: UUID, command: ReviseComment, ctx: CasesContext
) -> CommentView:
    """Its author edits a comment they still see."""
    return await use.revise(
        ctx,
        case_id,
        ItemKind.COMMENT,
        item_id,
        command,
        command.version,
        action="comment",
        authors_only=True,
    )
