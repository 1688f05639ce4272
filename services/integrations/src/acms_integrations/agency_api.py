"""HTTP routes of agency information requests, the partner API, consents, shares and the
disclosure log: each turns input into one use-case call."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from acms_integrations import agency_requests, consent, disclosures
from acms_integrations.agency_context import SharingContext
from acms_integrations.agency_schemas import (
    AgencyLink,
    AgencyView,
    Answer,
    ConsentView,
    DisclosurePage,
    InformationRequestView,
    LocationRecord,
    NewConsent,
    NewInformationRequest,
    NewShare,
    PartnerRequestView,
    PartnerShareView,
    ShareView,
    Withdrawal,
)
from acms_integrations.agreements import Agency
from acms_platform.access import Access
from acms_platform.dependencies import DbSession, ServiceRuntime


def get_context(access: Access, session: DbSession, runtime: ServiceRuntime) -> SharingContext:
    return SharingContext(access, session, runtime.outbox, runtime.settings)


Ctx = Annotated[SharingContext, Depends(get_context)]
Limit = Annotated[int, Query(ge=1, le=500)]
StudentKey = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[0-9a-f-]{1,64}$")]
NSN = Annotated[str, Query(pattern=r"^[0-9]{9,10}$")]

_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found, or not visible to the caller"}
}
_403: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller sees the record but may not do this"}
}
_409: dict[int | str, dict[str, Any]] = {
    409: {"description": "the record is not in a state that allows this"}
}
_422: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid input (each problem names its field)"}
}

router = APIRouter(tags=["agency information requests"])
partner = APIRouter(prefix="/partner", tags=["partner API (agencies and third parties)"])
sharing = APIRouter(tags=["consent and sharing"])


@router.get("/agencies", responses=_404, description="The agencies, their agreements and links.")
async def list_agencies(ctx: Ctx) -> list[AgencyView]:
    return await agency_requests.list_agencies(ctx)


@router.put(
    "/agencies/{agency}/organisation",
    responses=_404 | _403 | _422,
    description="Link an identity organisation (type agency) to an agency (platform admin).",
)
async def link_agency(agency: Agency, body: AgencyLink, ctx: Ctx) -> AgencyView:
    return await agency_requests.link_agency(ctx, agency, body)


@router.post(
    "/information-requests",
    status_code=201,
    responses=_422 | {403: {"description": "only Central Investigation makes requests"}},
    description=(
        "Ask an agency for information to help locate a student or parent. Only the fields "
        "its information-sharing agreement lists may be sent (any other: 422 naming it). "
        "Delivered in the background, with retries, under the request's idempotency key."
    ),
)
async def create_information_request(
    body: NewInformationRequest, ctx: Ctx
) -> InformationRequestView:
    return await agency_requests.create_request(ctx, body)


@router.get("/information-requests", description="Requests the caller may see, newest first.")
async def list_information_requests(
    ctx: Ctx,
    case_id: UUID | None = None,
    status: Literal["pending", "delivered", "answered"] | None = None,
    limit: Limit = 100,
) -> list[InformationRequestView]:
    return await agency_requests.list_for_ci(ctx, case_id=case_id, status=status, limit=limit)


@router.get("/information-requests/{request_id}", responses=_404)
async def view_information_request(request_id: UUID, ctx: Ctx) -> InformationRequestView:
    return await agency_requests.view_request(ctx, request_id)


@router.post(
    "/information-requests/{request_id}/location",
    responses=_404 | _403 | _409 | _422,
    description="Record location details taken from the agency's answer (Central Investigation).",
)
async def record_location(
    request_id: UUID, body: LocationRecord, ctx: Ctx
) -> InformationRequestView:
    return await agency_requests.record_location(ctx, request_id, body)


@partner.get(
    "/information-requests",
    description="The requests delivered to the caller's agency, newest first.",
)
async def partner_requests(
    ctx: Ctx,
    status: Literal["delivered", "answered"] | None = None,
    limit: Limit = 100,
) -> list[PartnerRequestView]:
    return await agency_requests.list_for_agency(ctx, status=status, limit=limit)


@partner.get("/information-requests/{request_id}", responses=_404)
async def partner_request(request_id: UUID, ctx: Ctx) -> PartnerRequestView:
    return await agency_requests.view_for_agency(ctx, request_id)


@partner.post(
    "/information-requests/{request_id}/answer",
    responses=_404 | _403 | _409 | _422,
    description="The agency's answer (once).",
)
async def partner_answer(request_id: UUID, body: Answer, ctx: Ctx) -> PartnerRequestView:
    return await agency_requests.answer(ctx, request_id, body)


@partner.get(
    "/shares", description="What was shared with the caller's organisation, while consented."
)
async def partner_shares(ctx: Ctx, limit: Limit = 100) -> list[PartnerShareView]:
    return await consent.partner_shares(ctx, limit)


@partner.get("/shares/{share_id}", responses=_404)
async def partner_share(share_id: UUID, ctx: Ctx) -> PartnerShareView:
    return await consent.partner_share(ctx, share_id)


@sharing.post(
    "/cases/{case_id}/consents",
    status_code=201,
    responses=_404 | _403 | _422,
    description="Record a consent from the student or a parent (the case's team).",
)
async def record_consent(case_id: UUID, body: NewConsent, ctx: Ctx) -> ConsentView:
    return await consent.record_consent(ctx, case_id, body)


@sharing.get("/cases/{case_id}/consents", responses=_404)
async def list_consents(case_id: UUID, ctx: Ctx) -> list[ConsentView]:
    return await consent.list_consents(ctx, case_id)


@sharing.post(
    "/consents/{consent_id}/withdraw",
    responses=_404 | _403 | _409 | _422,
    description="Withdraw a consent: no share is made or read under it from now on.",
)
async def withdraw_consent(consent_id: UUID, body: Withdrawal, ctx: Ctx) -> ConsentView:
    return await consent.withdraw_consent(ctx, consent_id, body)


@sharing.post(
    "/cases/{case_id}/shares",
    status_code=201,
    responses=_404 | _403 | {422: {"description": "invalid input, or no valid consent covers it"}},
    description=(
        "Request additional support from an agency, or share with a third party: only under "
        "a valid consent covering the party, the purpose and every field."
    ),
)
async def share(case_id: UUID, body: NewShare, ctx: Ctx) -> ShareView:
    return await consent.share(ctx, case_id, body)


@sharing.get("/cases/{case_id}/shares", responses=_404)
async def list_shares(case_id: UUID, ctx: Ctx) -> list[ShareView]:
    return await consent.list_shares(ctx, case_id)


@sharing.get(
    "/disclosures",
    responses=_404 | _422,
    description="The disclosure log, newest first (privacy officer); per student by key or NSN.",
)
async def list_disclosures(
    ctx: Ctx,
    student_key: StudentKey | None = None,
    nsn: NSN | None = None,
    recipient_org_id: UUID | None = None,
    kind: Literal["information_request", "additional_support", "third_party"] | None = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Limit = 100,
) -> DisclosurePage:
    if nsn is not None:
        key = ctx.settings.student_key(nsn)
        if student_key is not None and student_key != key:
            from acms_integrations.errors import Invalid

            raise Invalid([("nsn", "names another student than student_key")])
        student_key = key
    return await disclosures.query(
        ctx,
        student_key=student_key,
        recipient_org_id=recipient_org_id,
        kind=kind,
        before=before,
        limit=limit,
    )


routers = [router, partner, sharing]
