"""Information requests from Central Investigation to Immigration, MSD, Oranga Tamariki
and Police, to help locate a student or parent (ACCESS-MODEL sections 5 and 7).

A request carries only fields its agency's agreement (`agreements.yaml`) lists. It is
written with its delivery due at once; `delivery.py` sends it. The agency answers through
the partner API; the answer stays with the request, the case hears of it by event, and
Central Investigation records the location details it takes from it.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row

from acms_contracts.agencies import AgencyInformationReturned, AgencyLocationRecorded
from acms_integrations import case_relationships
from acms_integrations.agency_context import (
    AGENCY_LINK,
    AGENCY_REQUEST,
    SharingContext,
    org_type_of,
)
from acms_integrations.agency_schemas import (
    AgencyLink,
    AgencyView,
    Answer,
    Delivery,
    InformationRequestView,
    LocationRecord,
    NewInformationRequest,
    PartnerRequestView,
)
from acms_integrations.agency_tables import agency_links, agency_requests
from acms_integrations.agreements import AGREEMENTS, Agency
from acms_integrations.errors import Invalid
from acms_platform.errors import Conflict, Forbidden
from acms_platform.policy import PolicyResource

POLICY_COLUMNS = {
    "request.resource.attr.agency_org_id": agency_requests.c.agency_org_id,
    "request.resource.attr.status": agency_requests.c.status,
}


def request_resource(row: Any) -> PolicyResource:
    return PolicyResource(
        "agency_request",
        str(row.id),
        {"agency_org_id": str(row.agency_org_id), "status": row.status},
    )


NEW_REQUEST_ID = "new"


def new_request_resource(agency_org_id: UUID | None) -> PolicyResource:
    """A request about to be made to the agency linked to `agency_org_id` (None: none yet)."""
    return PolicyResource(
        "agency_request",
        NEW_REQUEST_ID,
        {"agency_org_id": str(agency_org_id or ""), "status": "pending"},
    )


async def _links(ctx: SharingContext) -> dict[str, UUID]:
    rows = await ctx.session.execute(select(agency_links))
    return {row.agency: row.organisation_id for row in rows}


async def list_agencies(ctx: SharingContext) -> list[AgencyView]:
    links = await _links(ctx)
    views = []
    for agency in AGREEMENTS:
        await ctx.access.authorise(AGENCY_LINK, PolicyResource("agency_link", agency.value))
        views.append(agency_view(agency, links.get(agency.value)))
    return views


def agency_view(agency: Agency, organisation_id: UUID | None) -> AgencyView:
    agreement = AGREEMENTS[agency]
    return AgencyView(
        agency=agency,
        agreement_name=agreement.name,
        agreement_version=agreement.version,
        purpose=agreement.purpose,
        fields=sorted(agreement.fields),
        organisation_id=organisation_id,
    )


async def link_agency(ctx: SharingContext, agency: Agency, link: AgencyLink) -> AgencyView:
    """Say which identity organisation is `agency` (the platform admin)."""
    await ctx.access.authorise(AGENCY_LINK, PolicyResource("agency_link", agency.value), "link")
    if await org_type_of(ctx.session, link.organisation_id) != "agency":
        raise Invalid(
            [("organisation_id", f"no agency organisation {link.organisation_id} is known here")]
        )
    taken = (
        await ctx.session.execute(
            select(agency_links.c.agency).where(
                agency_links.c.organisation_id == link.organisation_id,
                agency_links.c.agency != agency.value,
            )
        )
    ).scalar_one_or_none()
    if taken is not None:
        raise Invalid([("organisation_id", f"already linked to {taken}")])
    values = {
        "organisation_id": link.organisation_id,
        "linked_by": ctx.actor_id,
        "linked_at": ctx.now(),
    }
    statement = insert(agency_links).values(agency=agency.value, **values)
    await ctx.session.execute(
        statement.on_conflict_do_update(index_elements=[agency_links.c.agency], set_=values)
    )
    return agency_view(agency, link.organisation_id)


async def create_request(
    ctx: SharingContext, command: NewInformationRequest
) -> InformationRequestView:
    agreement = AGREEMENTS[command.agency]
    linked = (await _links(ctx)).get(command.agency.value)
    resource = new_request_resource(linked)
    if not await ctx.access.allowed(AGENCY_REQUEST, resource, "create"):
        raise Forbidden("only Central Investigation makes information requests to agencies")
    problems = [
        (f"fields.{name}", f"not in the {agreement.label} agreement with {command.agency.value}")
        for name in sorted(command.fields)
        if name not in agreement.fields
    ]
    if linked is None:
        problems.append(("agency", f"{command.agency.value} is not linked to an organisation yet"))
    case = await case_relationships.relationship(ctx.session, command.case_id)
    if case is None:
        problems.append(("case_id", f"no case {command.case_id} is known here"))
    if problems:
        raise Invalid(problems)
    now = ctx.now()
    row = (
        await ctx.session.execute(
            insert(agency_requests)
            .values(
                id=uuid.uuid4(),
                agency=command.agency.value,
                agency_org_id=linked,
                agreement_name=agreement.name,
                agreement_version=agreement.version,
                case_id=command.case_id,
                student_key=case.student_key,
                subject=command.subject,
                purpose=agreement.purpose,
                fields=dict(command.fields),
                requested_by=ctx.actor_id,
                requested_at=now,
                status="pending",
                delivery_attempts=0,
                next_attempt_at=now,
            )
            .returning(agency_requests)
        )
    ).one()
    ctx.access.returned(
        AGENCY_REQUEST, row.id, row.student_key, ["full"], decided_on=NEW_REQUEST_ID
    )
    return request_view(row)


async def _load(ctx: SharingContext, request_id: UUID, *, lock: bool = False) -> Row[Any]:
    statement = select(agency_requests).where(agency_requests.c.id == request_id)
    if lock:
        statement = statement.with_for_update()
    row = (await ctx.session.execute(statement)).first()
    if row is None:
        raise ctx.access.missing(AGENCY_REQUEST, request_id)
    return row


async def _authorised(
    ctx: SharingContext, request_id: UUID, action: str | None = None, *, lock: bool = False
) -> Row[Any]:
    row = await _load(ctx, request_id, lock=lock)
    await ctx.access.authorise(
        AGENCY_REQUEST, request_resource(row), action, student_key=row.student_key
    )
    if action is None:
        ctx.access.returned(AGENCY_REQUEST, row.id, row.student_key, ["full"])
    return row


async def view_request(ctx: SharingContext, request_id: UUID) -> InformationRequestView:
    return request_view(await _authorised(ctx, request_id))


async def list_requests(
    ctx: SharingContext, *, case_id: UUID | None, status: str | None, limit: int
) -> list[Row[Any]]:
    """The requests the caller may see (the policy's plan, in SQL), newest first."""
    condition = await ctx.access.readable(AGENCY_REQUEST, agency_requests, POLICY_COLUMNS)
    statement = select(agency_requests).where(condition)
    if case_id is not None:
        statement = statement.where(agency_requests.c.case_id == case_id)
    if status is not None:
        statement = statement.where(agency_requests.c.status == status)
    statement = statement.order_by(agency_requests.c.requested_at.desc()).limit(limit)
    rows = list((await ctx.session.execute(statement)).all())
    granted = await ctx.access.tiers_of(AGENCY_REQUEST, [request_resource(r) for r in rows])
    visible = [r for r in rows if "full" in granted.get(str(r.id), [])]  # fail closed
    for row in visible:
        ctx.access.returned(AGENCY_REQUEST, row.id, row.student_key, ["full"])
    return visible


async def list_for_ci(ctx: SharingContext, **filters: Any) -> list[InformationRequestView]:
    return [request_view(r) for r in await list_requests(ctx, **filters)]


async def list_for_agency(ctx: SharingContext, **filters: Any) -> list[PartnerRequestView]:
    return [partner_view(r) for r in await list_requests(ctx, case_id=None, **filters)]


async def view_for_agency(ctx: SharingContext, request_id: UUID) -> PartnerRequestView:
    return partner_view(await _authorised(ctx, request_id))


async def answer(ctx: SharingContext, request_id: UUID, body: Answer) -> PartnerRequestView:
    """The agency's answer, once: stored with the request; the case hears of it by event."""
    row = await _authorised(ctx, request_id, "answer", lock=True)
    if row.answered_at is not None:
        raise Conflict("this request has been answered already")
    now = ctx.now()
    updated = (
        await ctx.session.execute(
            update(agency_requests)
            .where(agency_requests.c.id == row.id)
            .values(
                status="answered",
                answer=body.model_dump(mode="json"),
                answered_by=ctx.actor_id,
                answered_at=now,
            )
            .returning(agency_requests)
        )
    ).one()
    await ctx.outbox.add(
        ctx.session,
        AgencyInformationReturned(
            request_id=row.id,
            case_id=row.case_id,
            agency=row.agency,
            subject_student_key=row.student_key,
            at=now,
            found=body.found,
            location_returned=body.location is not None,
        ),
    )
    return partner_view(updated)


async def record_location(
    ctx: SharingContext, request_id: UUID, body: LocationRecord
) -> InformationRequestView:
    """Central Investigation's location details from the answer (kept with the request)."""
    row = await _authorised(ctx, request_id, "record_location", lock=True)
    if row.answered_at is None:
        raise Conflict("the agency has not answered this request yet")
    now = ctx.now()
    updated = (
        await ctx.session.execute(
            update(agency_requests)
            .where(agency_requests.c.id == row.id)
            .values(
                location=body.model_dump(mode="json"),
                location_recorded_by=ctx.actor_id,
                location_recorded_at=now,
            )
            .returning(agency_requests)
        )
    ).one()
    await ctx.outbox.add(
        ctx.session,
        AgencyLocationRecorded(
            request_id=row.id,
            case_id=row.case_id,
            agency=row.agency,
            subject_student_key=row.student_key,
            at=now,
            actor_id=str(ctx.actor_id),
        ),
    )
    return request_view(updated)


def request_view(row: Any) -> InformationRequestView:
    return InformationRequestView(
        id=row.id,
        agency=row.agency,
        agreement_name=row.agreement_name,
        agreement_version=row.agreement_version,
        case_id=row.case_id,
        subject=row.subject,
        purpose=row.purpose,
        fields=row.fields,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        status=row.status,
        delivery=Delivery(
            attempts=row.delivery_attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
        ),
        answer=row.answer,
        answered_at=row.answered_at,
        location=row.location,
        location_recorded_by=row.location_recorded_by,
        location_recorded_at=row.location_recorded_at,
    )


def partner_view(row: Any) -> PartnerRequestView:
    return PartnerRequestView(
        id=row.id,
        agreement_name=row.agreement_name,
        agreement_version=row.agreement_version,
        subject=row.subject,
        purpose=row.purpose,
        fields=row.fields,
        requested_at=row.requested_at,
        answer=row.answer,
        answered_at=row.answered_at,
    )
