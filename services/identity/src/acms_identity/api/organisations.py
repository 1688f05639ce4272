"""Organisations, catchments and monitoring links."""

from datetime import date
from uuid import UUID

from fastapi import APIRouter, status

from acms_identity.api.dependencies import CurrentActor, IdentityContext
from acms_identity.schemas import (
    AssignCatchment,
    CatchmentOut,
    MonitoringLink,
    OrganisationOut,
    RegisterOrganisation,
)
from acms_identity.service import organisations

router = APIRouter(tags=["organisations"])


@router.post("/organisations", status_code=status.HTTP_201_CREATED)
async def register_organisation(
    command: RegisterOrganisation, ctx: IdentityContext, actor: CurrentActor
) -> OrganisationOut:
    return await organisations.register_organisation(ctx, actor, command)


@router.get("/organisations/{organisation_id}")
async def get_organisation(
    organisation_id: UUID, ctx: IdentityContext, actor: CurrentActor
) -> OrganisationOut:
    return await organisations.get_organisation(ctx, organisation_id)


@router.post("/organisations/{school_id}/catchments", status_code=status.HTTP_201_CREATED)
async def assign_catchment(
    school_id: UUID, command: AssignCatchment, ctx: IdentityContext, actor: CurrentActor
) -> CatchmentOut:
    return await organisations.assign_catchment(ctx, actor, school_id, command)


@router.get("/organisations/{school_id}/catchment")
async def current_catchment(
    school_id: UUID, ctx: IdentityContext, actor: CurrentActor, on: date | None = None
) -> CatchmentOut:
    return await organisations.current_catchment(ctx, school_id, on or date.today())


@router.post("/monitoring-links", status_code=status.HTTP_201_CREATED)
async def link_monitoring(
    link: MonitoringLink, ctx: IdentityContext, actor: CurrentActor
) -> MonitoringLink:
    await organisations.link_monitoring(ctx, actor, link)
    return link


@router.delete("/monitoring-links/{account_id}/{asp_id}", status_code=204)
async def unlink_monitoring(
    account_id: UUID, asp_id: UUID, ctx: IdentityContext, actor: CurrentActor
) -> None:
    link = MonitoringLink(account_id=account_id, asp_id=asp_id)
    await organisations.unlink_monitoring(ctx, actor, link)
