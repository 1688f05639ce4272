"""What every route module of the cases service shares: the use cases' context and the
documented refusals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from acms_cases.context import Context
from acms_platform.access import Access
from acms_platform.dependencies import DbSession, ServiceOutbox


def get_context(session: DbSession, outbox: ServiceOutbox, access: Access) -> Context:
    return Context(session=session, outbox=outbox, access=access)


CasesContext = Annotated[Context, Depends(get_context)]

NOT_VISIBLE: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such case (or item) visible to the caller"}
}
# A view holds only the fields of the tiers granted: the others are absent, not null.
VIEW: dict[str, Any] = {"response_model_exclude_unset": True, "responses": NOT_VISIBLE}
READ: dict[int | str, dict[str, Any]] = {
    **NOT_VISIBLE,
    403: {"description": "the caller sees the case but none of its items of this kind"},
}
CHANGE: dict[int | str, dict[str, Any]] = {
    **NOT_VISIBLE,
    403: {"description": "the caller sees the case but may not do this"},
    409: {"description": "the case's state does not allow it: the state is in the answer"},
}
