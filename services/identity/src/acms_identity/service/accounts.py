"""Accounts and roles: invite (create), disable, enable, grant, revoke.

Every account is an invitation: it is made without a password and the invitee chooses
theirs with the token mailed to them (`invitations.py`). A grant of a four-eyes role by a
platform admin waits for a second one (`role_grants.py`).

Who may do what is decided by the `identity_account` Cerbos policy (ACCESS-MODEL.md
sections 4 and 5); the resource attributes are the target account's organisation. An
account the caller may not see is 404 on writes too (a 403 would tell them it exists).
A write answers with its outcome, read from the same transaction: no second decision.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.engine import Row

from acms_contracts.identity import (
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    RoleGranted,
    RoleRevoked,
)
from acms_contracts.vocabulary import MACHINE_ROLES, ROLE_ORG_TYPE, OrgType, Role
from acms_identity import repository
from acms_identity.errors import Conflict, Invalid, NotFound
from acms_identity.passwords import hash_secret_off_loop, new_opaque_token
from acms_identity.schemas import AccountOut, ClientCreated, CreateAccount, CreateClient
from acms_identity.service import invitations, role_grants
from acms_identity.service.context import ACCOUNT, Actor, Context
from acms_identity.service.staff_directory import account_out, account_resource, resource_of


async def create_account(ctx: Context, actor: Actor | None, command: CreateAccount) -> AccountOut:
    """`actor` None is the system itself (bootstrap, demo data), never an HTTP caller."""
    account_id = uuid4()
    org_type = await _authorised_org(
        ctx, actor, account_id, command.organisation_id, "create", command.roles
    )
    _check_roles(command.roles, org_type)
    email = command.email.lower()
    if await repository.email_taken(ctx.session, email):
        raise Conflict(f"email: an account with {email} already exists")
    await _insert(ctx, account_id, command.organisation_id, command.display_name, email)
    for role in command.roles:
        await _grant_or_request(ctx, actor, account_id, role)
    row = await repository.get_account(ctx.session, account_id)
    await invitations.send_token(ctx, row, invitations.INVITATION)
    return await _outcome(ctx, account_id)


async def resend_invitation(ctx: Context, actor: Actor, account_id: UUID) -> AccountOut:
    """A new invitation (the earlier token stops working) to an account not yet activated."""
    row = await _target(ctx, actor, account_id, "resend_invitation")
    if not row.pending_activation:
        raise Conflict(
            f"account {account_id} is already activated: its owner resets their own password"
        )
    await invitations.send_token(ctx, row, invitations.INVITATION)
    return await _outcome(ctx, account_id)


async def create_client(ctx: Context, actor: Actor | None, command: CreateClient) -> ClientCreated:
    """A machine identity (a service, or an agency's client) with a client secret."""
    account_id = uuid4()
    org_type = await _authorised_org(
        ctx, actor, account_id, command.organisation_id, "create", command.roles
    )
    _check_roles(command.roles, org_type, is_service=True)
    client_id = f"acms-client-{secrets.token_hex(8)}"
    secret = new_opaque_token()
    await _insert(ctx, account_id, command.organisation_id, command.display_name, None, True)
    await repository.update_account(
        ctx.session,
        account_id,
        {"client_id": client_id, "client_secret_hash": await hash_secret_off_loop(secret)},
    )
    for role in command.roles:
        await _grant_or_request(ctx, actor, account_id, role)
    return ClientCreated(
        account=await _outcome(ctx, account_id), client_id=client_id, client_secret=secret
    )


async def disable_account(ctx: Context, actor: Actor, account_id: UUID) -> AccountOut:
    row = await _target(ctx, actor, account_id, "disable")
    if row.disabled_at is None:
        now = datetime.now(UTC)
        await repository.update_account(ctx.session, account_id, {"disabled_at": now})
        await repository.revoke_refresh_tokens(ctx.session, account_id, now)
        await ctx.outbox.add(ctx.session, AccountDisabled(account_id=account_id))
    return await _outcome(ctx, account_id)


async def enable_account(ctx: Context, actor: Actor, account_id: UUID) -> AccountOut:
    row = await _target(ctx, actor, account_id, "enable")
    if row.disabled_at is not None:
        await repository.update_account(ctx.session, account_id, {"disabled_at": None})
        await ctx.outbox.add(ctx.session, AccountEnabled(account_id=account_id))
    return await _outcome(ctx, account_id)


async def grant_role(ctx: Context, actor: Actor | None, account_id: UUID, role: Role) -> AccountOut:
    """Granted at once, or (a four-eyes role) waiting for a second platform admin."""
    row = await _target(ctx, actor, account_id, "grant_role", role)
    _check_roles([role], OrgType(row.org_type), is_service=row.is_service)
    await _grant_or_request(ctx, actor, account_id, role)
    return await _outcome(ctx, account_id)


async def approve_role(ctx: Context, actor: Actor, account_id: UUID, role: Role) -> AccountOut:
    await role_grants.approve_grant(ctx, actor, account_id, role)
    return await _outcome(ctx, account_id)


async def reject_role(ctx: Context, actor: Actor, account_id: UUID, role: Role) -> AccountOut:
    await role_grants.reject_grant(ctx, actor, account_id, role)
    return await _outcome(ctx, account_id)


async def revoke_role(ctx: Context, actor: Actor, account_id: UUID, role: Role) -> AccountOut:
    await _target(ctx, actor, account_id, "revoke_role", role)
    if not await repository.remove_role(ctx.session, account_id, role.value):
        raise NotFound(f"account {account_id} does not hold role {role.value}")
    # A refresh must not mint a token that still carries the role: sign in again.
    await repository.revoke_refresh_tokens(ctx.session, account_id, datetime.now(UTC))
    await ctx.outbox.add(ctx.session, RoleRevoked(account_id=account_id, role=role))
    return await _outcome(ctx, account_id)


async def _authorised_org(
    ctx: Context,
    actor: Actor | None,
    account_id: UUID,
    organisation_id: UUID,
    action: str,
    roles: list[Role],
) -> OrgType:
    organisation = await repository.get_organisation(ctx.session, organisation_id)
    if organisation is None:
        raise Invalid("organisation_id", f"no organisation {organisation_id}")
    if actor is not None:
        org_type = organisation.org_type
        has_lead = await repository.organisation_has_lead(ctx.session, organisation_id, org_type)
        resource = account_resource(
            account_id,
            organisation_id,
            org_type,
            [role.value for role in roles],
            org_has_lead=has_lead,
            pending_activation=True,
        )
        await ctx.require(ACCOUNT, resource, action)
    return OrgType(organisation.org_type)


async def _target(
    ctx: Context, actor: Actor | None, account_id: UUID, action: str, role: Role | None = None
) -> Row[Any]:
    """The account acted on: 404 if absent or not visible to the caller, 403 if visible
    but the action is not theirs."""
    row = await repository.get_account(ctx.session, account_id)
    if row is None:
        if actor is None:
            raise NotFound(f"account {account_id} not found")
        raise ctx.request.missing(ACCOUNT, account_id)
    if actor is not None:
        await ctx.authorise(ACCOUNT, resource_of(row, role=role.value if role else ""), action)
    return row


def _check_roles(roles: list[Role], org_type: OrgType, *, is_service: bool = False) -> None:
    for role in roles:
        if role in MACHINE_ROLES and not is_service:
            raise Invalid("role", f"{role.value} is a machine identity: create it with /clients")
        if ROLE_ORG_TYPE[role] is not org_type:
            raise Invalid(
                "role",
                f"{role.value} is a role of a {ROLE_ORG_TYPE[role].value} organisation; "
                f"this account belongs to a {org_type.value}",
            )


async def _insert(
    ctx: Context,
    account_id: UUID,
    organisation_id: UUID,
    display_name: str,
    email: str | None,
    is_service: bool = False,
) -> None:
    values: dict[str, Any] = {
        "organisation_id": organisation_id,
        "display_name": display_name,
        "email": email,
        "is_service": is_service,
    }
    await repository.insert_account(ctx.session, {"id": account_id, **values})
    await ctx.outbox.add(ctx.session, AccountCreated(account_id=account_id, **values))


async def _grant_or_request(
    ctx: Context, actor: Actor | None, account_id: UUID, role: Role
) -> None:
    if role_grants.needs_second_admin(actor, role):
        assert actor is not None
        await role_grants.request_grant(ctx, actor, account_id, role)
    else:
        await _grant(ctx, account_id, role)


async def _grant(ctx: Context, account_id: UUID, role: Role) -> None:
    if await repository.add_role(ctx.session, account_id, role.value):
        await ctx.outbox.add(ctx.session, RoleGranted(account_id=account_id, role=role))


async def _outcome(ctx: Context, account_id: UUID) -> AccountOut:
    """The account as it now is, for its manager (who sees every tier of it)."""
    row = await repository.get_account(ctx.session, account_id)
    assert row is not None
    return account_out(row)
