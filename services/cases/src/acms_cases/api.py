"""HTTP routes of the cases service: each turns input into one use-case call."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from acms_cases import attention, service
from acms_cases.repository import ListFilters
from acms_cases.schemas import (
    AttendanceView,
    CaseOutcome,
    CaseStatus,
    CaseView,
    ChangePrimaryContact,
    Close,
    NewNote,
    NoteView,
    ReviseNote,
    TimelineEntry,
)
from acms_cases.tables import projections
from acms_platform.access import Access
from acms_platform.dependencies import DbSession, ServiceOutbox


def get_context(session: DbSession, outbox: ServiceOutbox, access: Access) -> service.Context:
    return service.Context(session=session, outbox=outbox, access=access)


CasesContext = Annotated[service.Context, Depends(get_context)]

cases = APIRouter(prefix="/cases", tags=["cases"])
NOT_VISIBLE = {404: {"description": "no such case visible to the caller"}}
# A view holds only the fields of the tiers granted: the others are absent, not null.
VIEW: dict[str, Any] = {"response_model_exclude_unset": True, "responses": NOT_VISIBLE}
VIEW_TIER: dict[int | str, dict[str, Any]] = {
    **NOT_VISIBLE,
    403: {"description": "the caller sees the case but not this part of it"},
}
CHANGE: dict[int | str, dict[str, Any]] = {
    **NOT_VISIBLE,
    403: {"description": "the caller sees the case but may not do this"},
    409: {"description": "the case's state does not allow it: the state is in the answer"},
}


@cases.get("", response_model_exclude_unset=True)
async def list_cases(
    ctx: CasesContext,
    status: CaseStatus | None = None,
    school_id: UUID | None = None,
    provider_id: UUID | None = None,
    case_manager_id: UUID | None = None,
    mine: bool = False,
    needs_attention: Annotated[
        bool, Query(description="only cases that need attention (idle, overdue entries)")
    ] = False,
    q: Annotated[
        str | None,
        Query(min_length=2, max_length=100, description="name, NSN or reference"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[CaseView]:
    """Cases the caller may see, newest first, filtered in SQL by the policy's plan:
    a caseload (`mine=true`: assigned to the caller), a provider's or a school's list."""
    filters = ListFilters(
        status=status.value if status else None,
        school_id=school_id,
        provider_id=provider_id,
        case_manager_id=ctx.actor.account_id if mine else case_manager_id,
        text=q,
        needs_attention=needs_attention,
        limit=limit,
        offset=offset,
    )
    return await service.list_cases(ctx, filters)


@cases.get("/{case_id}", **VIEW)
async def view_case(case_id: UUID, ctx: CasesContext) -> CaseView:
    return await service.view_case(ctx, case_id)


@cases.get("/{case_id}/timeline", responses=NOT_VISIBLE)
async def case_timeline(case_id: UUID, ctx: CasesContext) -> list[TimelineEntry]:
    return await service.timeline(ctx, case_id)


@cases.get("/{case_id}/attendance", responses=VIEW_TIER)
async def case_attendance(
    case_id: UUID,
    ctx: CasesContext,
    since: Annotated[date | None, Query(ge=date(2000, 1, 1), le=date(2100, 12, 31))] = None,
    until: Annotated[date | None, Query(ge=date(2000, 1, 1), le=date(2100, 12, 31))] = None,
) -> AttendanceView:
    """The student's daily attendance received while the case was active, with a summary;
    for those granted the case's `attendance` tier (403 for others who see the case)."""
    return await attention.view(ctx, case_id, since, until)


@cases.post("/{case_id}/close", responses=CHANGE)
async def close_case(case_id: UUID, command: Close, ctx: CasesContext) -> CaseOutcome:
    return await service.close(ctx, case_id, command)


@cases.post("/{case_id}/prosecution-notice", responses=CHANGE)
async def notify_prosecution(case_id: UUID, ctx: CasesContext) -> CaseOutcome:
    return await service.notify_prosecution(ctx, case_id)


@cases.post("/{case_id}/prosecution-notice/withdraw", responses=CHANGE)
async def withdraw_prosecution(case_id: UUID, ctx: CasesContext) -> CaseOutcome:
    return await service.withdraw_prosecution(ctx, case_id)


@cases.post("/{case_id}/primary-contact", responses=CHANGE)
async def change_primary_contact(
    case_id: UUID, command: ChangePrimaryContact, ctx: CasesContext
) -> CaseOutcome:
    """School leaders and office support of the case's school, on an active case."""
    return await service.change_primary_contact(ctx, case_id, command)


@cases.get("/{case_id}/notes", responses=CHANGE)
async def list_notes(case_id: UUID, ctx: CasesContext) -> list[NoteView]:
    return await service.notes(ctx, case_id)


@cases.post("/{case_id}/notes", status_code=status.HTTP_201_CREATED, responses=CHANGE)
async def add_note(case_id: UUID, command: NewNote, ctx: CasesContext) -> NoteView:
    return await service.add_note(ctx, case_id, command)


@cases.put("/{case_id}/notes/{note_id}", responses=CHANGE)
async def revise_note(
    case_id: UUID, note_id: UUID, command: ReviseNote, ctx: CasesContext
) -> NoteView:
    """A new version of the note; every earlier one is kept and shown in its history."""
    return await service.revise_note(ctx, case_id, note_id, command)


routers = [projections.router, cases]
