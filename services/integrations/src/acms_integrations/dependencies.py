"""Route dependencies: the use-case context and the authorised ENROL feed client."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from acms_integrations.service import Context, authorise_feed
from acms_platform.access import CurrentActor
from acms_platform.dependencies import (
    DbSession,
    Policy,
    ServiceOutbox,
    ServiceRuntime,
)
from acms_platform.tokens import Principal


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


IntegrationsContext = Annotated[Context, Depends(get_context)]


async def enrol_feed_client(actor: CurrentActor, ctx: IntegrationsContext) -> Principal:
    """Decided before the body is read: a person gets 403 whatever they send; an account
    that may not act now (disabled, unknown, a revoked role) 401."""
    await authorise_feed(ctx.policy, ctx.database, ctx.outbox, actor.principal)
    return actor.principal


EnrolFeedClient = Annotated[Principal, Depends(enrol_feed_client)]
