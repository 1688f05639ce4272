"""Route dependencies: the use-case context and the calling actor (the platform's, from
identity's own accounts: `IdentityAccounts`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from acms_identity.service.context import Context
from acms_platform.access import Access, CurrentActor
from acms_platform.dependencies import DbSession, ServiceOutbox, ServiceRuntime

__all__ = ["CurrentActor", "IdentityContext"]


def get_context(
    session: DbSession, outbox: ServiceOutbox, runtime: ServiceRuntime, access: Access
) -> Context:
    return Context(session=session, outbox=outbox, database=runtime.database, access=access)


IdentityContext = Annotated[Context, Depends(get_context)]
