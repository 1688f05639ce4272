"""HTTP routes of the cases service."""

from uuid import UUID

from fastapi import APIRouter, HTTPException

from acms_cases.tables import organisations
from acms_platform.dependencies import CurrentPrincipal, DbSession
from acms_platform.identity_projection import OrganisationView

router = APIRouter()


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
