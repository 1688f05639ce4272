"""Accounts, roles and staff lists."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from acms_contracts.vocabulary import Role
from acms_identity.api.dependencies import CurrentActor, IdentityContext
from acms_identity.schemas import AccountOut, ClientCreated, CreateAccount, CreateClient, GrantRole
from acms_identity.service import accounts, staff_directory

router = APIRouter(tags=["accounts"])


@router.get("/me", response_model_exclude_unset=True)
async def who_am_i(ctx: IdentityContext, actor: CurrentActor) -> AccountOut:
    return await staff_directory.view_account(ctx, actor, actor.account_id)


@router.post("/accounts", status_code=status.HTTP_201_CREATED)
async def create_account(
    command: CreateAccount, ctx: IdentityContext, actor: CurrentActor
) -> AccountOut:
    return await accounts.create_account(ctx, actor, command)


@router.post("/clients", status_code=status.HTTP_201_CREATED)
async def create_client(
    command: CreateClient, ctx: IdentityContext, actor: CurrentActor
) -> ClientCreated:
    return await accounts.create_client(ctx, actor, command)


@router.get("/accounts", response_model_exclude_unset=True)
async def list_accounts(
    ctx: IdentityContext,
    actor: CurrentActor,
    organisation_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AccountOut]:
    return await staff_directory.list_accounts(ctx, actor, organisation_id, limit, offset)


@router.get("/accounts/{account_id}", response_model_exclude_unset=True)
async def get_account(account_id: UUID, ctx: IdentityContext, actor: CurrentActor) -> AccountOut:
    return await staff_directory.view_account(ctx, actor, account_id)


@router.post("/accounts/{account_id}/disable")
async def disable_account(
    account_id: UUID, ctx: IdentityContext, actor: CurrentActor
) -> AccountOut:
    return await accounts.disable_account(ctx, actor, account_id)


@router.post("/accounts/{account_id}/enable")
async def enable_account(account_id: UUID, ctx: IdentityContext, actor: CurrentActor) -> AccountOut:
    return await accounts.enable_account(ctx, actor, account_id)


@router.post("/accounts/{account_id}/roles")
async def grant_role(
    account_id: UUID, command: GrantRole, ctx: IdentityContext, actor: CurrentActor
) -> AccountOut:
    return await accounts.grant_role(ctx, actor, account_id, command.role)


@router.post("/accounts/{account_id}/invitation")
async def resend_invitation(
    account_id: UUID, ctx: IdentityContext, actor: CurrentActor
) -> AccountOut:
    return await accounts.resend_invitation(ctx, actor, account_id)


@router.post("/accounts/{account_id}/roles/{role}/approve")
async def approve_role(
    account_id: UUID, role: Role, ctx: IdentityContext, actor: CurrentActor
) -> AccountOut:
    """Four eyes: a second platform admin (not the granter) makes a waiting grant take effect."""
    return await accounts.approve_role(ctx, actor, account_id, role)


@router.post("/accounts/{account_id}/roles/{role}/reject")
async def reject_role(
    account_id: UUID, role: Role, ctx: IdentityContext, actor: CurrentActor
) -> AccountOut:
    return await accounts.reject_role(ctx, actor, account_id, role)


@router.delete("/accounts/{account_id}/roles/{role}")
async def revoke_role(
    account_id: UUID, role: Role, ctx: IdentityContext, actor: CurrentActor
) -> AccountOut:
    return await accounts.revoke_role(ctx, actor, account_id, role)
