"""HTTP routes of the integrations service: each turns input into one use-case call."""

from uuid import UUID

from fastapi import APIRouter, HTTPException

from acms_integrations import service
from acms_integrations.dependencies import EnrolFeedClient, IntegrationsContext
from acms_integrations.schemas import MAX_CHANGES_PER_BATCH, EnrolmentChanges, IntakeReport
from acms_integrations.tables import organisations
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


@router.post(
    "/enrol/changes",
    tags=["ENROL feed"],
    description=(
        f"Enrolment changes from ENROL, at most {MAX_CHANGES_PER_BATCH} per batch: all are "
        "recorded or, if any is invalid, none. A change later than the student's recorded "
        "enrolment that names another school is published as StudentEnrolmentChanged; "
        "repeats and older rows are ignored. Only the ENROL feed's client may call it."
    ),
    responses={
        403: {"description": "the caller is not the ENROL feed's client"},
        422: {"description": "a change is invalid (each problem names its field); none taken"},
    },
)
async def report_enrolment_changes(
    batch: EnrolmentChanges, ctx: IntegrationsContext, client: EnrolFeedClient
) -> IntakeReport:
    return await service.report_enrolment_changes(ctx, batch)
