"""HTTP routes of the referrals service: each turns input into one use-case call."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status

from acms_referrals.dependencies import CurrentActor, ReferralsContext
from acms_referrals.domain import Status
from acms_referrals.repository import ListFilters
from acms_referrals.schemas import (
    Allocate,
    Assign,
    Decline,
    EditDraft,
    ReferralView,
    RequestContent,
    TransitionOutcome,
    VersionOnly,
)
from acms_referrals.service import drafting, reading, triage

router = APIRouter()
requests = APIRouter(prefix="/referrals", tags=["requests for support"])
# A view holds only the fields of the tiers granted: the others are absent, not null.
NOT_VISIBLE: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such request visible to the caller"}
}
VIEW: dict[str, Any] = {"response_model_exclude_unset": True, "responses": NOT_VISIBLE}
TRANSITION: dict[int | str, dict[str, Any]] = {
    **NOT_VISIBLE,
    403: {"description": "the caller sees the request but may not do this"},
    409: {"description": "wrong state or stale version: the current one is in the answer"},
}


@requests.post("", status_code=status.HTTP_201_CREATED, response_model_exclude_unset=True)
async def create_draft(
    content: RequestContent, ctx: ReferralsContext, actor: CurrentActor
) -> ReferralView:
    return await drafting.create_draft(ctx, actor, content)


@requests.get("", response_model_exclude_unset=True)
async def list_referrals(
    ctx: ReferralsContext,
    actor: CurrentActor,
    status: Status | None = None,
    school_id: UUID | None = None,
    provider_id: UUID | None = None,
    assignee_id: UUID | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(min_length=2, max_length=100)] = None,
    possible_duplicate: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[ReferralView]:
    """Requests the caller may see, newest first; filtered in SQL by the policy's plan."""
    filters = ListFilters(
        status=status.value if status else None,
        school_id=school_id,
        provider_id=provider_id,
        assignee_id=assignee_id,
        created_from=created_from,
        created_to=created_to,
        text=q,
        possible_duplicate=possible_duplicate,
        limit=limit,
        offset=offset,
    )
    return await reading.list_referrals(ctx, actor, filters)


@requests.get("/{referral_id}", **VIEW)
async def view_referral(
    referral_id: UUID, ctx: ReferralsContext, actor: CurrentActor
) -> ReferralView:
    return await reading.view_referral(ctx, actor, referral_id)


@requests.put("/{referral_id}", **VIEW)
async def edit_draft(
    referral_id: UUID, command: EditDraft, ctx: ReferralsContext, actor: CurrentActor
) -> ReferralView:
    return await drafting.edit_draft(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/submit", responses=TRANSITION)
async def submit(
    referral_id: UUID, command: VersionOnly, ctx: ReferralsContext, actor: CurrentActor
) -> TransitionOutcome:
    return await drafting.submit(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/withdraw", responses=TRANSITION)
async def withdraw(
    referral_id: UUID, command: VersionOnly, ctx: ReferralsContext, actor: CurrentActor
) -> TransitionOutcome:
    return await drafting.withdraw(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/accept", responses=TRANSITION)
async def accept(
    referral_id: UUID, command: VersionOnly, ctx: ReferralsContext, actor: CurrentActor
) -> TransitionOutcome:
    return await triage.accept(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/decline", responses=TRANSITION)
async def decline(
    referral_id: UUID, command: Decline, ctx: ReferralsContext, actor: CurrentActor
) -> TransitionOutcome:
    return await triage.decline(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/allocate", responses=TRANSITION)
async def allocate(
    referral_id: UUID, command: Allocate, ctx: ReferralsContext, actor: CurrentActor
) -> TransitionOutcome:
    return await triage.allocate(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/reallocate", responses=TRANSITION)
async def reallocate(
    referral_id: UUID, command: Allocate, ctx: ReferralsContext, actor: CurrentActor
) -> TransitionOutcome:
    return await triage.reallocate(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/assign", responses=TRANSITION)
async def assign(
    referral_id: UUID, command: Assign, ctx: ReferralsContext, actor: CurrentActor
) -> TransitionOutcome:
    return await triage.assign(ctx, actor, referral_id, command)


router.include_router(requests)
