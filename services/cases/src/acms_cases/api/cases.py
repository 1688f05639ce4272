"""Routes of the case record: lists, the case's view, its timeline and lifecycle."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from acms_cases import attention, service
from acms_cases.api.common import CHANGE, NOT_VISIBLE, READ, VIEW, CasesContext
from acms_cases.repository import ListFilters
from acms_cases.schemas import (
    AttendanceView,
    CaseOutcome,
    CaseStatus,
    CaseView,
    ChangePrimaryContact,
    Close,
    Reallocate,
    TimelineEntry,
)

cases = APIRouter(prefix="/cases", tags=["cases"])


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


@cases.get("/{case_id}/attendance", responses=READ)
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


@cases.post("/{case_id}/reallocate", responses=CHANGE)
async def reallocate_case(case_id: UUID, command: Reallocate, ctx: CasesContext) -> CaseOutcome:
    """Central Investigation (to an ASP, or the ISP of the case's school) and the case's
    ASP workflow lead (to another ASP), on an active case: the former provider, its case
    manager and team lose it."""
    return await service.reallocate(ctx, case_id, command)


@cases.post("/{case_id}/primary-contact", responses=CHANGE)
async def change_primary_contact(
    case_id: UUID, command: ChangePrimaryContact, ctx: CasesContext
) -> CaseOutcome:
    """School leaders and office support of the case's school, on an active case."""
    return await service.change_primary_contact(ctx, case_id, command)
