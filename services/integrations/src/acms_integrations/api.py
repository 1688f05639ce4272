"""HTTP routes of the integrations service: each turns input into one use-case call."""

from fastapi import APIRouter

from acms_integrations import agency_api, service
from acms_integrations.dependencies import EnrolFeedClient, IntegrationsContext
from acms_integrations.schemas import MAX_CHANGES_PER_BATCH, EnrolmentChanges, IntakeReport
from acms_integrations.tables import projections

router = APIRouter()


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


routers = [projections.router, router, *agency_api.routers]
