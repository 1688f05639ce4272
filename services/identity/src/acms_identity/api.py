"""HTTP routes of the identity service."""

from uuid import UUID

from acms_platform.dependencies import DbSession, ServiceOutbox
from fastapi import APIRouter, HTTPException, status

from acms_identity import service
from acms_identity.schemas import OrganisationOut, RegisterOrganisation

router = APIRouter()


@router.post("/organisations", status_code=status.HTTP_201_CREATED)
async def register_organisation(
    command: RegisterOrganisation, session: DbSession, outbox: ServiceOutbox
) -> OrganisationOut:
    try:
        return await service.register_organisation(session, outbox, command)
    except service.InvalidOrganisation as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None


@router.get("/organisations/{organisation_id}")
async def get_organisation(organisation_id: UUID, session: DbSession) -> OrganisationOut:
    found = await service.get_organisation(session, organisation_id)
    if found is None:
        raise HTTPException(404, detail=f"organisation {organisation_id} not found")
    return found
