"""Route dependencies: the use-case context and the calling actor (the platform's, from
identity's own accounts: `IdentityAccounts`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from acms_identity.service.context import Context
from acms_platform.access import Access, CurrentActor
from acms_platform.dependencies import DbSession, ServiceOutbox, ServiceRuntime

__all__ = ["CurrentActor", "IdentityContext", "SystemContext"]


def get_context(
    session: DbSession, outbox: ServiceOutbox, runtime: ServiceRuntime, access: Access
) -> Context:
    return Context(
        session=session,
        outbox=outbox,
        database=runtime.database,
        settings=runtime.settings,
        access=access,
    )


IdentityContext = Annotated[Context, Depends(get_context)]


def get_system_context(
    session: DbSession, outbox: ServiceOutbox, runtime: ServiceRuntime
) -> Context:
    """For routes open to anyone (password reset): no actor, so no access decisions."""
    return Context(
        session=session, outbox=outbox, database=runtime.database, settings=runtime.settings
    )


SystemContext = Annotated[Context, Depends(get_system_context)]
