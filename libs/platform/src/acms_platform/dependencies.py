"""FastAPI dependencies shared by every service's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform.outbox import Outbox
from acms_platform.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    if not runtime.started:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"{runtime.definition.name} is starting: waiting for {runtime.waiting_for}",
        )
    return runtime


async def session_in_transaction(
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> AsyncIterator[AsyncSession]:
    """The request edge owns the transaction: it commits before the response is sent."""
    async with runtime.database.transaction() as session:
        yield session


def get_outbox(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Outbox:
    return runtime.outbox


DbSession = Annotated[AsyncSession, Depends(session_in_transaction, scope="function")]
ServiceOutbox = Annotated[Outbox, Depends(get_outbox)]
ServiceRuntime = Annotated[Runtime, Depends(get_runtime)]
