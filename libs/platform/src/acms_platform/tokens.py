"""Access-token verification, shared by every service.

Identity signs short-lived JWTs with an asymmetric key and publishes the public keys as a
JWKS. Every service verifies tokens itself against that JWKS: cached, and fetched again
when a token names a key id the cache does not know (that is how a rotation reaches us).
Anything wrong with a token is `InvalidToken`, which the HTTP edge turns into 401.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import jwt
from jwt.algorithms import OKPAlgorithm
from pydantic import BaseModel, ConfigDict, Field, ValidationError

ISSUER = "acms-identity"
AUDIENCE = "acms"
ALGORITHM = "EdDSA"
JWKS_PATH = "/.well-known/jwks.json"
# An unknown key id can be sent by anyone: do not let it make us hammer identity.
MIN_REFETCH_SECONDS = 5.0
CACHE_SECONDS = 300.0

JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


class InvalidToken(Exception):
    """The token is missing, malformed, expired, tampered with or not meant for us."""


class AccessClaims(BaseModel):
    """The claims of an access token: what identity signs and every service verifies.
    Identity builds its tokens from this model and the verifier reads them back through
    it, so the two cannot drift apart."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    iss: str = ISSUER
    aud: str = AUDIENCE
    sub: str = Field(min_length=1, max_length=64, description="the account id")
    org: UUID | None = Field(default=None, description="the account's organisation")
    roles: tuple[str, ...] = ()
    svc: bool = Field(default=False, description="a machine identity (client credentials)")
    iat: int
    nbf: int | None = None
    exp: int
    jti: str | None = None

    @classmethod
    def issue(
        cls,
        *,
        subject: str,
        organisation_id: UUID | str | None,
        roles: Sequence[str],
        is_service: bool = False,
        lifetime_seconds: int,
        token_id: str | None = None,
        now: int | None = None,
    ) -> AccessClaims:
        issued = int(time.time()) if now is None else now
        return cls(
            sub=subject,
            org=UUID(str(organisation_id)) if organisation_id else None,
            roles=tuple(sorted(str(r) for r in roles)),
            svc=is_service,
            iat=issued,
            nbf=issued,
            exp=issued + lifetime_seconds,
            jti=token_id,
        )

    def encode_claims(self) -> dict[str, Any]:
        """The JSON claims to sign (unset optional claims left out)."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the access token says. Services add their own projection."""

    id: str
    organisation_id: UUID | None
    roles: tuple[str, ...]
    is_service: bool = False
    token_id: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


def http_jwks_fetcher(identity_url: str, *, timeout: float = 3.0) -> JwksFetcher:
    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=identity_url, timeout=timeout) as client:
            response = await client.get(JWKS_PATH)
            response.raise_for_status()
            keys: dict[str, Any] = response.json()
            return keys

    return fetch


class JwksCache:
    """Public keys by key id, fetched through `fetch` and refreshed on an unknown kid."""

    def __init__(self, fetch: JwksFetcher, *, clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Any:
        fresh = self._fetched_at is not None and self._clock() - self._fetched_at < CACHE_SECONDS
        if kid in self._keys and fresh:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys or not fresh:
                await self._refresh(force=kid not in self._keys)
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken(f"unknown signing key {kid!r}") from None

    async def _refresh(self, *, force: bool) -> None:
        now = self._clock()
        # Rate-limit attempts, not only successes: an unreachable identity is not hammered.
        if self._last_attempt is not None and now - self._last_attempt < MIN_REFETCH_SECONDS:
            return
        self._last_attempt = now
        try:
            document = await self._fetch()
            keys = {
                jwk["kid"]: OKPAlgorithm.from_jwk(json.dumps(jwk))
                for jwk in document.get("keys", [])
                if jwk.get("kty") == "OKP" and jwk.get("kid")
            }
        except (httpx.HTTPError, OSError, ValueError, AttributeError, jwt.PyJWTError) as error:
            if force or not self._keys:
                raise InvalidToken(f"signing keys unavailable: {error}") from None
            return  # keep serving the keys we have; identity may be restarting
        self._keys = keys
        self._fetched_at = now


class TokenVerifier:
    def __init__(self, keys: JwksCache, *, leeway_seconds: int = 5) -> None:
        self.keys = keys
        self.leeway_seconds = leeway_seconds

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"malformed token: {error}") from None
        # Only our one algorithm: refuses alg=none and algorithm-confusion attacks.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"token algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token names no signing key (kid)")
        key = await self.keys.key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(f"token rejected: {error}") from None
        return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        parsed = AccessClaims.model_validate(claims, strict=False)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InvalidToken(f"token claims malformed: {problems}") from None
    if isinstance(claims.get("roles"), str):
        raise InvalidToken("token claims malformed: roles must be a list of strings")
    return Principal(
        id=parsed.sub,
        organisation_id=parsed.org,
        roles=parsed.roles,
        is_service=parsed.svc,
        token_id=parsed.jti,
    )
