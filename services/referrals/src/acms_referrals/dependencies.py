"""Route dependencies: the use-case context and the calling actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from acms_platform.access import Access, CurrentActor
from acms_platform.dependencies import DbSession, ServiceOutbox, ServiceRuntime
from acms_referrals.service.context import Context

__all__ = ["CurrentActor", "ReferralsContext"]


def get_context(
    session: DbSession, outbox: ServiceOutbox, access: Access, runtime: ServiceRuntime
) -> Context:
    return Context(
        session=session,
        outbox=outbox,
        access=access,
        student_key=runtime.settings.student_key,
    )


ReferralsContext = Annotated[Context, Depends(get_context)]
