"""HTTP routes of the referrals service: each turns input into one use-case call."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, status

from acms_platform.dependencies import CurrentPrincipal, DbSession
from acms_platform.identity_projection import OrganisationView
from acms_referrals.dependencies import CurrentActor, ReferralsContext
from acms_referrals.domain import Status
from acms_referrals.repository import ListFilters
from acms_referrals.schemas import Allocate, Assign, Decline, EditDraft, RequestContent, VersionOnly
from acms_referrals.service import drafting, reading, triage
from acms_referrals.tables import organisations

router = APIRouter()
requests = APIRouter(prefix="/referrals", tags=["requests for support"])


@router.get("/organisations/{organisation_id}", response_model=OrganisationView)
async def get_organisation(
    organisation_id: UUID, session: DbSession, principal: CurrentPrincipal
) -> OrganisationView:
    """This service's projection of an organisation registered in identity (any signed-in
    caller: organisations hold no personal information, but nothing here is anonymous)."""
    found = await organisations.get(session, organisation_id)
    if found is None:
        raise HTTPException(404, detail=f"organisation {organisation_id} not known here")
    return found


@requests.post("", status_code=status.HTTP_201_CREATED)
async def create_draft(
    content: RequestContent, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await drafting.create_draft(ctx, actor, content)


@requests.get("")
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
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[dict[str, Any]]:
    """Requests the caller may see, newest first; filtered in SQL by the policy's plan."""
    filters = ListFilters(
        status=status.value if status else None,
        school_id=school_id,
        provider_id=provider_id,
        assignee_id=assignee_id,
        created_from=created_from,
        created_to=created_to,
        text=q,
        limit=limit,
        offset=offset,
    )
    return await reading.list_referrals(ctx, actor, filters)


@requests.get("/{referral_id}")
async def view_referral(
    referral_id: UUID, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await reading.view_referral(ctx, actor, referral_id)


@requests.put("/{referral_id}")
async def edit_draft(
    referral_id: UUID, command: EditDraft, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await drafting.edit_draft(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/submit")
async def submit(
    referral_id: UUID, command: VersionOnly, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await drafting.submit(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/withdraw")
async def withdraw(
    referral_id: UUID, command: VersionOnly, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await drafting.withdraw(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/accept")
async def accept(
    referral_id: UUID, command: VersionOnly, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await triage.accept(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/decline")
async def decline(
    referral_id: UUID, command: Decline, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await triage.decline(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/allocate")
async def allocate(
    referral_id: UUID, command: Allocate, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await triage.allocate(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/reallocate")
async def reallocate(
    referral_id: UUID, command: Allocate, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await triage.reallocate(ctx, actor, referral_id, command)


@requests.post("/{referral_id}/assign")
async def assign(
    referral_id: UUID, command: Assign, ctx: ReferralsContext, actor: CurrentActor
) -> dict[str, Any]:
    return await triage.assign(ctx, actor, referral_id, command)


router.include_router(requests)
