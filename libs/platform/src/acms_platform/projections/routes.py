"""`GET /organisations/{id}` of every service, from its organisations projection."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from acms_platform.access.dependencies import CurrentActor
from acms_platform.dependencies import DbSession
from acms_platform.errors import NotFound
from acms_platform.projections.organisations import OrganisationProjection, OrganisationView


def organisations_router(organisations: OrganisationProjection) -> APIRouter:
    router = APIRouter(tags=["organisations"])

    @router.get(
        "/organisations/{organisation_id}",
        responses={404: {"description": "no such organisation known to this service"}},
    )
    async def get_organisation(
        organisation_id: UUID, session: DbSession, actor: CurrentActor
    ) -> OrganisationView:
        """This service's projection of an organisation registered in identity (any
        signed-in caller: organisations hold no personal information, but nothing here
        is anonymous)."""
        found = await organisations.get(session, organisation_id)
        if found is None:
            raise NotFound(f"organisation {organisation_id} not known here")
        return found

    return router
