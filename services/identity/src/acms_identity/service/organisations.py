"""Organisations, catchments and monitoring links: changed by the platform admin only."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from acms_contracts.identity import (
    CatchmentAssigned,
    MonitoringLinkAdded,
    MonitoringLinkRemoved,
    OrganisationRegistered,
)
from acms_contracts.vocabulary import OrgType, Role
from acms_identity import repository
from acms_identity.errors import Conflict, Invalid, NotFound
from acms_identity.schemas import (
    AssignCatchment,
    CatchmentOut,
    MonitoringLink,
    OrganisationOut,
    RegisterOrganisation,
)
from acms_identity.service.context import ORGANISATION, Actor, Context
from acms_identity.tables import catchments, monitoring_links, organisations
from acms_platform.policy import PolicyResource

KIND = "identity_organisation"


def _resource(organisation_id: UUID | str) -> PolicyResource:
    return PolicyResource(KIND, str(organisation_id))


async def register_organisation(
    ctx: Context, actor: Actor | None, command: RegisterOrganisation
) -> OrganisationOut:
    """`actor` None is the system itself (bootstrap, demo data), never an HTTP caller."""
    organisation_id = uuid4()
    if actor is not None:
        await ctx.require(ORGANISATION, _resource(organisation_id), "register")
    await _check_shape(ctx, command)
    values = command.model_dump()
    await ctx.session.execute(insert(organisations).values(id=organisation_id, **values))
    await ctx.outbox.add(
        ctx.session, OrganisationRegistered(organisation_id=organisation_id, **values)
    )
    return OrganisationOut(id=organisation_id, **values)


async def get_organisation(ctx: Context, organisation_id: UUID) -> OrganisationOut:
    row = await repository.get_organisation(ctx.session, organisation_id)
    if row is None:
        raise NotFound(f"organisation {organisation_id} not found")
    return OrganisationOut.model_validate(row)


async def assign_catchment(
    ctx: Context, actor: Actor | None, school_id: UUID, command: AssignCatchment
) -> CatchmentOut:
    """From `effective_from` the school lies in the ASP's catchment (and in no other)."""
    if actor is not None:
        await ctx.require(ORGANISATION, _resource(school_id), "assign_catchment")
    await _require_type(ctx, school_id, OrgType.SCHOOL, "school_id")
    await _require_type(ctx, command.asp_id, OrgType.ASP, "asp_id")
    existing = await ctx.session.execute(
        select(catchments.c.asp_id).where(
            catchments.c.school_id == school_id,
            catchments.c.effective_from == command.effective_from,
        )
    )
    if existing.first() is not None:
        raise Conflict(
            f"effective_from: school {school_id} already has a catchment from "
            f"{command.effective_from}; choose another date"
        )
    await ctx.session.execute(
        insert(catchments).values(
            school_id=school_id, asp_id=command.asp_id, effective_from=command.effective_from
        )
    )
    await ctx.outbox.add(
        ctx.session,
        CatchmentAssigned(
            organisation_id=school_id,
            asp_id=command.asp_id,
            effective_from=command.effective_from,
        ),
    )
    return CatchmentOut(school_id=school_id, **command.model_dump())


async def current_catchment(ctx: Context, school_id: UUID, on: date) -> CatchmentOut:
    row = await repository.current_catchment(ctx.session, school_id, on)
    if row is None:
        raise NotFound(f"school {school_id} is in no ASP's catchment on {on}")
    return CatchmentOut.model_validate(row)


async def link_monitoring(ctx: Context, actor: Actor | None, link: MonitoringLink) -> None:
    account = await repository.get_account(ctx.session, link.account_id)
    if account is None:
        raise Invalid("account_id", f"no account {link.account_id}")
    if actor is not None:
        await ctx.require(ORGANISATION, _resource(account.organisation_id), "link_monitoring")
    if Role.REGIONAL_CONTRACT_MANAGER.value not in account.roles:
        raise Invalid("account_id", "only a regional contract manager monitors ASPs")
    await _require_type(ctx, link.asp_id, OrgType.ASP, "asp_id")
    inserted = await ctx.session.execute(
        pg_insert(monitoring_links)
        .values(account_id=link.account_id, asp_id=link.asp_id)
        .on_conflict_do_nothing()
        .returning(monitoring_links.c.asp_id)
    )
    if inserted.first() is None:
        raise Conflict(f"account {link.account_id} already monitors ASP {link.asp_id}")
    await ctx.outbox.add(
        ctx.session,
        MonitoringLinkAdded(
            organisation_id=account.organisation_id,
            account_id=link.account_id,
            asp_id=link.asp_id,
        ),
    )


async def unlink_monitoring(ctx: Context, actor: Actor, link: MonitoringLink) -> None:
    account = await repository.get_account(ctx.session, link.account_id)
    if account is None:
        raise NotFound(f"no monitoring link of account {link.account_id}")
    await ctx.require(ORGANISATION, _resource(account.organisation_id), "unlink_monitoring")
    result = await ctx.session.execute(
        delete(monitoring_links)
        .where(monitoring_links.c.account_id == link.account_id)
        .where(monitoring_links.c.asp_id == link.asp_id)
        .returning(monitoring_links.c.asp_id)
    )
    if result.first() is None:
        raise NotFound(f"account {link.account_id} does not monitor ASP {link.asp_id}")
    await ctx.outbox.add(
        ctx.session,
        MonitoringLinkRemoved(
            organisation_id=account.organisation_id,
            account_id=link.account_id,
            asp_id=link.asp_id,
        ),
    )


async def monitored_asps(ctx: Context, account_id: UUID) -> list[UUID]:
    statement = select(monitoring_links.c.asp_id).where(monitoring_links.c.account_id == account_id)
    return list((await ctx.session.execute(statement)).scalars())


async def _check_shape(ctx: Context, command: RegisterOrganisation) -> None:
    if command.org_type is not OrgType.ISP:
        if command.parent_school_id is not None:
            raise Invalid("parent_school_id", "only an ISP is attached to a school")
        return
    if command.parent_school_id is None:
        raise Invalid("parent_school_id", "an ISP must be attached to one school")
    await _require_type(ctx, command.parent_school_id, OrgType.SCHOOL, "parent_school_id")


async def _require_type(ctx: Context, organisation_id: UUID, org_type: OrgType, field: str) -> None:
    row = await repository.get_organisation(ctx.session, organisation_id)
    if row is None or row.org_type != org_type.value:
        raise Invalid(field, f"{organisation_id} is not a registered {org_type.value}")
