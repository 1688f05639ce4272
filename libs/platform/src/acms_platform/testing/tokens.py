"""Access tokens for tests: signed as identity signs them, by a key the service under test
is told to trust (its JWKS), so a service's tests need no running identity."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm

from acms_platform.tokens import ALGORITHM, AccessClaims, JwksCache, TokenVerifier


class TestSigner:
    """Signs access tokens as identity would; its public key is the trusted JWKS."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid = f"test-{uuid.uuid4().hex[:8]}"

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}]}

    def token(
        self,
        account_id: UUID,
        organisation_id: UUID,
        roles: Sequence[str],
        *,
        is_service: bool = False,
    ) -> str:
        claims = AccessClaims.issue(
            subject=str(account_id),
            organisation_id=organisation_id,
            roles=roles,
            is_service=is_service,
            lifetime_seconds=3600,
        ).encode_claims()
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def trusted_by(self, app: FastAPI) -> None:
        """Make `app` verify tokens against this signer's key instead of identity's JWKS."""

        async def fetch() -> dict[str, Any]:
            return self.jwks()

        app.state.token_verifier = TokenVerifier(JwksCache(fetch))
