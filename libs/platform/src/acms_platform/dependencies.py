"""FastAPI dependencies shared by every service's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyClient
from acms_platform.runtime import Runtime
from acms_platform.tokens import (
    InvalidToken,
    JwksCache,
    Principal,
    TokenVerifier,
    http_jwks_fetcher,
)


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


# --- Access tokens and the policy decision point (identity issue) -------------------------


def get_token_verifier(request: Request) -> TokenVerifier:
    """The app's verifier: one JWKS cache per process. A service may install its own
    (identity reads its keys from its database) as `app.state.token_verifier`."""
    verifier = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        runtime: Runtime = request.app.state.runtime
        fetcher = http_jwks_fetcher(runtime.settings.identity_url)
        verifier = request.app.state.token_verifier = TokenVerifier(JwksCache(fetcher))
    return verifier


# Declares the bearer scheme in the OpenAPI (each operation that needs a token says so);
# the header is read below, so the messages stay ours.
_bearer = HTTPBearer(auto_error=False, description="an access token from identity's sign-in")


async def current_principal(
    request: Request,
    verifier: Annotated[TokenVerifier, Depends(get_token_verifier)],
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="sign in first: send an access token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return await verifier.verify(token.strip())
    except InvalidToken as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"invalid access token: {error}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None


def get_policy_client(request: Request) -> PolicyClient:
    client = getattr(request.app.state, "policy_client", None)
    if client is None:
        runtime: Runtime = request.app.state.runtime
        client = request.app.state.policy_client = PolicyClient(runtime.settings.cerbos_url)
    return client


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Policy = Annotated[PolicyClient, Depends(get_policy_client)]
