"""Sign-in, token refresh, client credentials, sign-out and the JWKS."""

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from acms_identity import signing
from acms_identity.schemas import ClientCredentials, Refresh, SignIn, TokenOut
from acms_identity.service import sign_in
from acms_platform.dependencies import DbSession

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


@router.post("/sign-in", responses=_REFUSED)
async def sign_in_with_password(command: SignIn, session: DbSession) -> TokenOut:
    try:
        return await sign_in.sign_in_with_password(session, command)
    except sign_in.SignInRefused as error:
        return _refused(error)  # type: ignore[return-value]


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
