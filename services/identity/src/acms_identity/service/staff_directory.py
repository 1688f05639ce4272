"""Staff lists and account details (ACCESS-MODEL.md section 4): rows filtered in SQL
from the policy's plan, fields projected to the tiers the policy grants, every read
audited. An account the caller may not see is 404."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from acms_identity import repository
from acms_identity.errors import NotFound
from acms_identity.schemas import AccountOut
from acms_identity.service.context import Actor, Context
from acms_identity.tables import accounts
from acms_platform.policy import PolicyResource, granted_tiers, plan_filter, project_tiers

KIND = "identity_account"
# Tier → the policy action that grants it (ACCESS-MODEL.md section 3, for staff).
TIER_ACTIONS = {"staff_directory": "view", "staff_contact": "view_contact"}
FIELD_TIER = {
    "id": "staff_directory",
    "organisation_id": "staff_directory",
    "org_type": "staff_directory",
    "display_name": "staff_directory",
    "is_service": "staff_directory",
    "disabled": "staff_directory",
    "roles": "staff_directory",
    "email": "staff_contact",
}


def account_resource(
    account_id: UUID | str, organisation_id: UUID, org_type: str
) -> PolicyResource:
    return PolicyResource(
        KIND, str(account_id), {"org_id": str(organisation_id), "org_type": org_type}
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
        "roles": sorted(row.roles),
    }
    if tiers is not None:
        record = project_tiers(record, FIELD_TIER, tiers)
    return AccountOut(**record)


async def view_account(ctx: Context, actor: Actor, account_id: UUID) -> AccountOut:
    row = await repository.get_account(ctx.session, account_id)
    if row is None:
        raise NotFound(f"account {account_id} not found")
    resource = account_resource(account_id, row.organisation_id, row.org_type)
    decisions = await ctx.pdp.check(actor.policy_principal, [resource], list(TIER_ACTIONS.values()))
    tiers = granted_tiers(decisions.get(resource.id), TIER_ACTIONS)
    if "staff_directory" not in tiers:
        await ctx.record_denial(actor, resource, "view")
        raise NotFound(f"account {account_id} not found")
    await ctx.record_read(actor, KIND, str(account_id), tiers, "identity_account:view")
    return account_out(row, tiers)


async def list_accounts(
    ctx: Context, actor: Actor, organisation_id: UUID | None, limit: int, offset: int
) -> list[AccountOut]:
    """The staff list: rows filtered in SQL from the policy's plan, then each row's
    tiers decided in one batched check."""
    plan = await ctx.pdp.plan(actor.policy_principal, KIND, "view")
    readable = plan_filter(
        plan, accounts, repository.ACCOUNT_POLICY_COLUMNS, repository.ACCOUNT_POLICY_JOINS
    )
    rows = await repository.readable_accounts(
        ctx.session, readable, organisation_id=organisation_id, limit=limit, offset=offset
    )
    resources = [account_resource(r.id, r.organisation_id, r.org_type) for r in rows]
    decisions = await ctx.pdp.check(actor.policy_principal, resources, ["view_contact"])
    listed, returned_tiers = [], {"staff_directory"}
    for row in rows:
        tiers = ["staff_directory"]
        decision = decisions.get(str(row.id))
        if decision is not None and decision.allows("view_contact"):
            tiers.append("staff_contact")
            returned_tiers.add("staff_contact")
        listed.append(account_out(row, tiers))
    ids = ",".join(str(r.id) for r in rows) or "none"
    await ctx.record_read(actor, f"{KIND}_list", ids, sorted(returned_tiers), "plan:view")
    return listed
