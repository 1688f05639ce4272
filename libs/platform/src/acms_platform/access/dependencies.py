"""The routes' view of access: `CurrentActor` (401 for an account that may not act now)
and `Access` (the request's `RequestAccess`, which audits the request once at its end)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from acms_platform.access.actor import Actor, account_id_of, actor_of
from acms_platform.access.request import RequestAccess
from acms_platform.dependencies import (
    CurrentPrincipal,
    DbSession,
    Policy,
    ServiceRuntime,
)
from acms_platform.errors import PlatformError


async def current_actor(
    principal: CurrentPrincipal, runtime: ServiceRuntime, session: DbSession
) -> Actor:
    """The verified caller checked against the service's actor source (its staff
    projection, or identity's accounts)."""
    account_id = account_id_of(principal)
    source = runtime.definition.actors
    if source is None:
        raise RuntimeError(f"{runtime.definition.name} names no actor source")
    return actor_of(principal, await source.account(session, account_id))


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def request_access(
    request: Request,
    actor: CurrentActor,
    session: DbSession,
    runtime: ServiceRuntime,
    policy: Policy,
) -> AsyncIterator[RequestAccess]:
    route = request.scope.get("route")
    endpoint = request.scope.get("endpoint")
    access = RequestAccess(
        service=runtime.definition.name,
        actor=actor,
        session=session,
        outbox=runtime.outbox,
        database=runtime.database,
        policy=policy,
        method=request.method,
        route=getattr(route, "path", request.url.path),
        action=getattr(endpoint, "__name__", ""),
    )
    try:
        yield access
    except PlatformError as error:
        await access.record_refused(error.status_code)
        raise
    except Exception:
        await access.record_refused(500)
        raise
    else:
        await access.record_in_request()


Access = Annotated[RequestAccess, Depends(request_access, scope="function")]
