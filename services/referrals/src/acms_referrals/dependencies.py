"""Route dependencies: the use-case context and the calling actor."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from uuid import UUID

from fastapi import Depends

from acms_contracts.vocabulary import Role
from acms_platform.dependencies import (
    CurrentPrincipal,
    DbSession,
    Policy,
    ServiceOutbox,
    ServiceRuntime,
)
from acms_referrals import staff_projection
from acms_referrals.errors import NotAuthenticated
from acms_referrals.service.context import Actor, Context
from acms_referrals.tables import organisations


def get_context(
    session: DbSession, outbox: ServiceOutbox, policy: Policy, runtime: ServiceRuntime
) -> Context:
    return Context(
        session=session,
        outbox=outbox,
        policy=policy,
        database=runtime.database,
        student_key=runtime.settings.student_key,
    )


ReferralsContext = Annotated[Context, Depends(get_context)]


async def current_actor(principal: CurrentPrincipal, ctx: ReferralsContext) -> Actor:
    """The verified caller, with their organisation as this service's projection knows it."""
    try:
        account_id = UUID(principal.id)
    except ValueError:
        raise NotAuthenticated("access token names no account") from None
    # A disabled account stops here at once, not when its token expires. An account not
    # yet projected (identity's event still on its way) is trusted on its signed token.
    member = await staff_projection.get_member(ctx.session, account_id)
    if member is not None and member.disabled:
        raise NotAuthenticated("account disabled")
    if member is not None and member.revoked_roles:
        # A role revoked in identity stops working here as soon as the event arrives, not
        # when the token that still lists it expires. (A newly granted role is trusted on
        # the signed token even before its event arrives.)
        kept = tuple(r for r in principal.roles if r not in member.revoked_roles)
        principal = replace(principal, roles=kept)
    organisation = (
        await organisations.get(ctx.session, principal.organisation_id)
        if principal.organisation_id
        else None
    )
    return Actor(
        principal=principal,
        account_id=account_id,
        org_id=principal.organisation_id,
        org_type=organisation.org_type if organisation else None,
        parent_school_id=organisation.parent_school_id if organisation else None,
        region=organisation.region if organisation else None,
        monitored_asp_ids=(
            await staff_projection.monitored_asp_ids(ctx.session, account_id)
            if principal.has_role(Role.REGIONAL_CONTRACT_MANAGER)
            else ()
        ),
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]
