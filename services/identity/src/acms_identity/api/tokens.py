"""Sign-in, token refresh, client credentials, sign-out and the JWKS."""

from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from acms_identity import signing
from acms_identity.schemas import ClientCredentials, Refresh, SignIn, TokenOut
from acms_identity.service import sign_in
from acms_identity.service.throttle import Client
from acms_platform.dependencies import DbSession, ServiceOutbox, ServiceRuntime

router = APIRouter(tags=["tokens"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "refused; the reason is deliberately not told"}
}


def _refused(error: sign_in.SignInRefused) -> JSONResponse:
    # Returned, not raised: the failure counters written by the attempt must commit.
    return JSONResponse(
        {"detail": str(error)},
        status_code=status.HTTP_401_UNAUTHORIZED,
        headers={"WWW-Authenticate": "Bearer"},
    )


# The device cookie: a client the account signed in from before, whose owner is not slowed
# down by other people's failures (service/throttle.py). It names no account.
DEVICE_COOKIE = "acms_device"
DEVICE_COOKIE_SECONDS = 400 * 24 * 3600

_SIGN_IN_REFUSED: dict[int | str, dict[str, Any]] = _REFUSED | {
    429: {"description": "too many recent failures: retry after `Retry-After` seconds"}
}


@router.post("/sign-in", responses=_SIGN_IN_REFUSED)
async def sign_in_with_password(
    command: SignIn,
    session: DbSession,
    outbox: ServiceOutbox,
    runtime: ServiceRuntime,
    request: Request,
    response: Response,
) -> TokenOut:
    client = Client(
        request.client.host if request.client else None, request.cookies.get(DEVICE_COOKIE)
    )
    try:
        signed_in = await sign_in.sign_in_with_password(
            session, outbox, runtime.settings, command, client
        )
    except sign_in.SignInRefused as error:
        return _refused(error)  # type: ignore[return-value]
    except sign_in.SignInThrottled as error:
        # Returned, not raised: the audit of the attempt must commit.
        return JSONResponse(  # type: ignore[return-value]
            {"detail": str(error)},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(error.retry_after)},
        )
    response.set_cookie(
        DEVICE_COOKIE,
        signed_in.device_token,
        max_age=DEVICE_COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=runtime.settings.environment == "production",
    )
    return signed_in.tokens


@router.post("/token/refresh", responses=_REFUSED)
async def refresh_token(command: Refresh, session: DbSession) -> TokenOut:
    try:
        return await sign_in.refresh(session, command)
    except sign_in.SignInRefused as error:
        return _refused(error)  # type: ignore[return-value]


@router.post("/token/client", responses=_REFUSED)
async def client_credentials_token(command: ClientCredentials, session: DbSession) -> TokenOut:
    try:
        return await sign_in.client_token(session, command)
    except sign_in.SignInRefused as error:
        return _refused(error)  # type: ignore[return-value]


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(command: Refresh, session: DbSession) -> None:
    await sign_in.sign_out(session, command)


@router.get("/.well-known/jwks.json")
async def json_web_key_set(session: DbSession) -> dict[str, Any]:
    await signing.active_key(session)
    return await signing.jwks(session)
