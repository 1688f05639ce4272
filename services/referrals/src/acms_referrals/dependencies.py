"""Route dependencies: the use-case context and the calling actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from acms_platform.access import Access, CurrentActor
from acms_platform.dependencies import DbSession, ServiceOutbox
from acms_referrals.service.context import Context

__all__ = ["CurrentActor", "ReferralsContext"]


def get_context(session: DbSession, outbox: ServiceOutbox, access: Access) -> Context:
    return Context(session=session, outbox=outbox, access=access)


ReferralsContext = Annotated[Context, Depends(get_context)]
