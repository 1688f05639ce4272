"""Staff lists and account details (ACCESS-MODEL.md section 4): rows filtered in SQL
from the policy's plan, fields projected to the tiers the policy grants, every read
audited. An account the caller may not see is 404."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from acms_identity import repository
from acms_identity.schemas import AccountOut
from acms_identity.service.context import ACCOUNT, Actor, Context
from acms_identity.tables import accounts
from acms_platform.policy import PolicyResource, project_tiers

KIND = ACCOUNT.name
FIELD_TIER = {
    "id": "staff_directory",
    "organisation_id": "staff_directory",
    "org_type": "staff_directory",
    "display_name": "staff_directory",
    "is_service": "staff_directory",
    "disabled": "staff_directory",
    "pending_activation": "staff_directory",
    "roles": "staff_directory",
    "pending_roles": "staff_directory",
    "email": "staff_contact",
}


def account_resource(
    account_id: UUID | str,
    organisation_id: UUID,
    org_type: str,
    roles: list[str] | None = None,
    *,
    role: str = "",
    org_has_lead: bool = True,
    pending_activation: bool = False,
) -> PolicyResource:
    """The account as the policy sees it. `roles`: the roles it holds (or, to create it,
    those asked for); `role`: the one being granted or revoked ("" otherwise);
    `org_has_lead`: whether its organisation already has a leader / lead (the platform
    admin invites only the first). A view's plan mentions only org_id and org_type."""
    return PolicyResource(
        KIND,
        str(account_id),
        {
            "org_id": str(organisation_id),
            "org_type": org_type,
            "roles": sorted(roles or []),
            "role": role,
            "org_has_lead": org_has_lead,
            "pending_activation": pending_activation,
        },
    )


def resource_of(row: Row[Any], *, role: str = "") -> PolicyResource:
    """The policy resource of an existing account row (`account_statement`)."""
    return account_resource(
        row.id,
        row.organisation_id,
        row.org_type,
        list(row.roles),
        role=role,
        pending_activation=bool(row.pending_activation),
    )


def account_out(row: Row[Any], tiers: list[str] | None = None) -> AccountOut:
    """The account as the caller may see it: fields of ungranted tiers are left unset
    (and so absent from the response). None: everything (the caller manages it)."""
    record = {
        "id": row.id,
        "organisation_id": row.organisation_id,
        "org_type": row.org_type,
        "display_name": row.display_name,
        "email": row.email,
        "is_service": row.is_service,
        "disabled": row.disabled_at is not None,
        "pending_activation": bool(row.pending_activation),
        "roles": sorted(row.roles),
        "pending_roles": sorted(row.pending_roles),
    }
    if tiers is not None:
        record = project_tiers(record, FIELD_TIER, tiers)
    return AccountOut(**record)


async def view_account(ctx: Context, actor: Actor, account_id: UUID) -> AccountOut:
    row = await repository.get_account(ctx.session, account_id)
    if row is None:
        raise ctx.request.missing(ACCOUNT, account_id)
    decision = await ctx.authorise(ACCOUNT, resource_of(row))  # one round trip, every tier
    ctx.request.returned(ACCOUNT, account_id, None, decision.tiers)
    return account_out(row, decision.tiers)


async def list_accounts(
    ctx: Context, actor: Actor, organisation_id: UUID | None, limit: int, offset: int
) -> list[AccountOut]:
    """The staff list: rows filtered in SQL from the policy's plan, then each row's
    tiers decided in one batched check."""
    readable = await ctx.request.readable(
        ACCOUNT, accounts, repository.ACCOUNT_POLICY_COLUMNS, repository.ACCOUNT_POLICY_JOINS
    )
    rows = await repository.readable_accounts(
        ctx.session, readable, organisation_id=organisation_id, limit=limit, offset=offset
    )
    resources = [resource_of(r) for r in rows]
    tiers = await ctx.request.tiers_of(ACCOUNT, resources)
    listed = []
    for row in rows:
        granted = tiers.get(str(row.id), [])
        if "staff_directory" not in granted:
            continue  # the plan and the check disagree: never show the row (fail closed)
        ctx.request.returned(ACCOUNT, row.id, None, granted)
        listed.append(account_out(row, granted))
    return listed
