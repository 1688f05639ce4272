"""Four eyes on the roles that see student data (ACCESS-MODEL.md section 5, "Accounts").

A platform admin's grant of a four-eyes role is only a request: the account holds the
role (and `RoleGranted` leaves for the other services) when a *second* platform admin
approves it. The approver can be neither the granter nor the account itself (policy
`identity_role_grant`, this module, and a CHECK constraint of the table). Both steps are
in the request's audit event (the access kit's `ApiRequestAudited`).

[decision] Besides the five Ministry data roles, `platform_admin` (a second admin is the
approver, so one admin could otherwise make a colleague of their own and approve their own
grants through it) and `regional_contract_manager` (sees requests and cases of the ASPs
it monitors) are four-eyes roles. The system itself (bootstrap, demo) grants at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from acms_contracts.identity import RoleGranted
from acms_contracts.vocabulary import Role
from acms_identity import repository
from acms_identity.errors import Forbidden, NotFound
from acms_identity.service.context import ROLE_GRANT, Actor, Context
from acms_identity.tables import role_grant_requests
from acms_platform.policy import PolicyResource

MINISTRY_DATA_ROLES = frozenset(
    {
        Role.CENTRAL_INVESTIGATION,
        Role.NATIONAL_CONTRACTS,
        Role.PROSECUTIONS,
        Role.PRIVACY_OFFICER,
        Role.RECORDS_MANAGER,
    }
)
FOUR_EYES_ROLES = MINISTRY_DATA_ROLES | {Role.PLATFORM_ADMIN, Role.REGIONAL_CONTRACT_MANAGER}


def needs_second_admin(actor: Actor | None, role: Role) -> bool:
    return actor is not None and role in FOUR_EYES_ROLES


async def request_grant(ctx: Context, actor: Actor, account_id: UUID, role: Role) -> None:
    """Record the grant as waiting (idempotent while it waits); nothing takes effect."""
    statement = (
        pg_insert(role_grant_requests)
        .values(id=uuid4(), account_id=account_id, role=role.value, requested_by=actor.account_id)
        .on_conflict_do_nothing(
            index_elements=[role_grant_requests.c.account_id, role_grant_requests.c.role],
            index_where=role_grant_requests.c.decided_at.is_(None),
        )
        .returning(role_grant_requests.c.id)
    )
    grant_id = (await ctx.session.execute(statement)).scalar()
    if grant_id is not None:
        ctx.request.returned(ROLE_GRANT, grant_id, None, [], "four_eyes:requested")


async def approve_grant(ctx: Context, actor: Actor, account_id: UUID, role: Role) -> None:
    grant = await _pending(ctx, account_id, role)
    if grant.requested_by == actor.account_id:
        ctx.request.denied(ROLE_GRANT, grant.id, "approve", None, "not_allowed")
        raise Forbidden(
            f"four eyes: the platform admin who granted {role.value} cannot approve it; "
            "another platform admin must"
        )
    await ctx.authorise(ROLE_GRANT, await _resource(ctx, grant), "approve")
    await _decide(ctx, actor, grant.id, "approved")
    if await repository.add_role(ctx.session, account_id, role.value):
        await ctx.outbox.add(ctx.session, RoleGranted(account_id=account_id, role=role))


async def reject_grant(ctx: Context, actor: Actor, account_id: UUID, role: Role) -> None:
    """Refuse a waiting grant (its granter may withdraw it too)."""
    grant = await _pending(ctx, account_id, role)
    await ctx.authorise(ROLE_GRANT, await _resource(ctx, grant), "reject")
    await _decide(ctx, actor, grant.id, "rejected")


async def _pending(ctx: Context, account_id: UUID, role: Role) -> Any:
    grant = (
        await ctx.session.execute(
            select(role_grant_requests)
            .where(
                role_grant_requests.c.account_id == account_id,
                role_grant_requests.c.role == role.value,
                role_grant_requests.c.decided_at.is_(None),
            )
            .with_for_update()
        )
    ).first()
    if grant is None:
        raise NotFound(f"no grant of {role.value} to account {account_id} waits for approval")
    return grant


def grant_resource(grant: Any, org_type: str) -> PolicyResource:
    """A waiting grant as the policy sees it; `org_type`: of the account it is for."""
    return PolicyResource(
        ROLE_GRANT.name,
        str(grant.id),
        {
            "account_id": str(grant.account_id),
            "org_type": org_type,
            "role": grant.role,
            "requested_by": str(grant.requested_by),
        },
    )


async def _resource(ctx: Context, grant: Any) -> PolicyResource:
    account = await repository.get_account(ctx.session, grant.account_id)
    assert account is not None  # a foreign key
    return grant_resource(grant, account.org_type)


async def _decide(ctx: Context, actor: Actor, grant_id: UUID, outcome: str) -> None:
    await ctx.session.execute(
        update(role_grant_requests)
        .where(role_grant_requests.c.id == grant_id)
        .values(decided_by=actor.account_id, decided_at=datetime.now(UTC), outcome=outcome)
    )
