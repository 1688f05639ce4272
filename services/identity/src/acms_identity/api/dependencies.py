"""Route dependencies: the use-case context and the calling actor."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from acms_contracts.vocabulary import OrgType, Role
from acms_identity import repository
from acms_identity.errors import NotAuthenticated
from acms_identity.service.context import Actor, Context
from acms_platform.dependencies import (
    CurrentPrincipal,
    DbSession,
    Policy,
    ServiceOutbox,
    ServiceRuntime,
)


def get_context(
    session: DbSession, outbox: ServiceOutbox, policy: Policy, runtime: ServiceRuntime
) -> Context:
    return Context(session=session, outbox=outbox, policy=policy, database=runtime.database)


IdentityContext = Annotated[Context, Depends(get_context)]


async def current_actor(principal: CurrentPrincipal, ctx: IdentityContext) -> Actor:
    """The caller as the database says now: a disabled account stops at once here,
    and roles revoked since the token was issued no longer count in identity."""
    try:
        account_id = UUID(principal.id)
    except ValueError:
        raise NotAuthenticated("access token names no account") from None
    row = await repository.get_account(ctx.session, account_id)
    if row is None or row.disabled_at is not None:
        raise NotAuthenticated("account unknown or disabled")
    return Actor(
        account_id=row.id,
        organisation_id=row.organisation_id,
        org_type=OrgType(row.org_type),
        roles=tuple(Role(r) for r in sorted(row.roles)),
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]
