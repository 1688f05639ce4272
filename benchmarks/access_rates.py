"""Rates of the access machinery: password checks, token signing and verification, and
CheckResources batches against a PDP serving identity's policies.

    uv run python benchmarks/access_rates.py \
        --cerbos-url http://127.0.0.1:3592
"""

from __future__ import annotations

import argparse
import asyncio
import time
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from acms_identity.passwords import hash_secret, verify_secret
from acms_identity.service.staff_directory import account_resource
from acms_platform.policy import PolicyClient, PolicyPrincipal
from acms_platform.tokens import JwksCache, TokenVerifier


def rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<48} {count / seconds:>10.1f}/s  ({seconds / count * 1000:.3f} ms each)")


async def tokens(count: int) -> None:
    key = Ed25519PrivateKey.generate()
    jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k"}

    async def fetch() -> dict:
        return {"keys": [jwk]}

    verifier = TokenVerifier(JwksCache(fetch))
    now = int(time.time())
    claims = {"iss": "acms-identity", "aud": "acms", "sub": str(uuid4()), "iat": now}
    claims |= {"exp": now + 300, "org": str(uuid4()), "roles": ["school_leader"]}
    started = time.perf_counter()
    signed = [
        jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "k"}) for _ in range(count)
    ]
    rate("sign access token (EdDSA)", count, time.perf_counter() - started)
    started = time.perf_counter()
    for token in signed:
        await verifier.verify(token)
    rate("verify access token (cached JWKS)", count, time.perf_counter() - started)


def passwords(count: int) -> None:
    stored = hash_secret("correct-horse-battery-staple")
    started = time.perf_counter()
    for _ in range(count):
        verify_secret(stored, "wrong-password")
    rate("Argon2id verify (bounds sign-in per core)", count, time.perf_counter() - started)


async def policy(cerbos_url: str, rounds: int) -> None:
    client = PolicyClient(cerbos_url)
    own = uuid4()
    principal = PolicyPrincipal(
        "p", ["asp_workflow_lead"], {"org_id": str(own), "org_type": "asp", "is_service": False}
    )
    # As identity builds them: the PDP enforces its schemas, and a resource missing an
    # attribute would be denied without the policy being evaluated.
    resources = [account_resource(f"r{i}", own, "asp") for i in range(100)]
    await client.check(principal, resources[:1], ["view"])
    started = time.perf_counter()
    for _ in range(rounds):
        await client.check(principal, resources[:1], ["view"])
    rate("CheckResources, 1 resource", rounds, time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(rounds):
        await client.check(principal, resources, ["view", "disable"])
    rate("CheckResources, batch of 100 (2 x 50 concurrent)", rounds, time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(rounds):
        await client.plan(principal, "identity_account", "view")
    rate("PlanResources", rounds, time.perf_counter() - started)
    await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cerbos-url", default="http://127.0.0.1:3592")
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--passwords", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()
    passwords(arguments.passwords)
    await tokens(arguments.tokens)
    await policy(arguments.cerbos_url, arguments.rounds)


if __name__ == "__main__":
    asyncio.run(main())
