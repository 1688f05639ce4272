"""Every service verifies access tokens itself: anything but a valid, current token
signed by identity's published key, for our audience, is 401."""

import base64
import json
import time
import uuid
from datetime import timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, update

from acms_contracts.vocabulary import Role
from acms_identity import signing
from acms_identity.service import accounts
from acms_identity.tables import signing_keys
from acms_platform.testing.routes import not_refused
from acms_platform.tokens import InvalidToken, JwksCache, TokenVerifier

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _signing_key(world):
    async with world.client.app.state.runtime.database.transaction() as session:
        row = await signing.active_key(session)
    return row.kid, serialization.load_pem_private_key(row.private_key_pem.encode(), None)


def _claims(world, **changes):
    now = int(time.time())
    claims = {
        "iss": "acms-identity",
        "aud": "acms",
        "sub": str(world.accounts["leader_a"]),
        "org": str(world.orgs["school_a"]),
        "roles": ["school_leader"],
        "iat": now,
        "exp": now + 300,
    }
    return claims | changes


async def _me(world, token: str) -> httpx.Response:
    return await world.client.get("/me", headers={"authorization": f"Bearer {token}"})


async def test_a_valid_token_is_accepted(world):
    kid, key = await _signing_key(world)
    token = jwt.encode(_claims(world), key, algorithm="EdDSA", headers={"kid": kid})
    assert (await _me(world, token)).status_code == 200


async def test_expired_token_is_401(world):
    kid, key = await _signing_key(world)
    past = int(time.time()) - 600
    token = jwt.encode(
        _claims(world, iat=past, exp=past + 300), key, algorithm="EdDSA", headers={"kid": kid}
    )
    response = await _me(world, token)
    assert response.status_code == 401 and "expired" in response.json()["detail"]


async def test_token_signed_with_another_key_is_401(world):
    kid, _ = await _signing_key(world)
    forger = Ed25519PrivateKey.generate()
    token = jwt.encode(_claims(world), forger, algorithm="EdDSA", headers={"kid": kid})
    assert (await _me(world, token)).status_code == 401


async def test_tampered_payload_is_401(world):
    kid, key = await _signing_key(world)
    header, _, signature = jwt.encode(
        _claims(world), key, algorithm="EdDSA", headers={"kid": kid}
    ).split(".")
    forged = _claims(world, roles=["platform_admin"])
    payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert (await _me(world, f"{header}.{payload}.{signature}")).status_code == 401


async def test_wrong_audience_is_401(world):
    kid, key = await _signing_key(world)
    token = jwt.encode(
        _claims(world, aud="elsewhere"), key, algorithm="EdDSA", headers={"kid": kid}
    )
    assert (await _me(world, token)).status_code == 401


async def test_wrong_issuer_is_401(world):
    kid, key = await _signing_key(world)
    token = jwt.encode(_claims(world, iss="mallory"), key, algorithm="EdDSA", headers={"kid": kid})
    assert (await _me(world, token)).status_code == 401


async def test_alg_none_is_401(world):
    kid, _ = await _signing_key(world)
    token = jwt.encode(_claims(world), None, algorithm="none", headers={"kid": kid})
    response = await _me(world, token)
    assert response.status_code == 401 and "algorithm" in response.json()["detail"]


async def test_hmac_signed_with_the_public_key_is_401(world):
    kid, key = await _signing_key(world)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    token = jwt.encode(_claims(world), public, algorithm="HS256", headers={"kid": kid})
    assert (await _me(world, token)).status_code == 401


async def test_unknown_key_id_and_garbage_are_401(world):
    _, key = await _signing_key(world)
    token = jwt.encode(_claims(world), key, algorithm="EdDSA", headers={"kid": "nope"})
    assert (await _me(world, token)).status_code == 401
    assert (await _me(world, "not.a.token")).status_code == 401
    response = await world.client.get("/me", headers={"authorization": "Basic abc"})
    assert response.status_code == 401


async def test_a_new_key_is_published_before_it_signs_and_the_old_key_stays_published(world):
    old_kid, old_key = await _signing_key(world)
    old_token = jwt.encode(_claims(world), old_key, algorithm="EdDSA", headers={"kid": old_kid})
    async with world.client.app.state.runtime.database.transaction() as session:
        new_kid = (await signing.rotate(session)).kid
    published = (await world.client.get("/.well-known/jwks.json")).json()
    assert {old_kid, new_kid} <= {key["kid"] for key in published["keys"]}
    assert (await _signing_key(world))[0] == old_kid, "the new key does not sign yet"
    async with world.client.app.state.runtime.database.transaction() as session:
        # Time passes: the new key has been published for longer than PUBLISH_AHEAD.
        await session.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == new_kid)
            .values(created_at=func.now() - signing.PUBLISH_AHEAD - timedelta(seconds=1))
        )
    assert (await _signing_key(world))[0] == new_kid
    published = (await world.client.get("/.well-known/jwks.json")).json()
    assert {old_kid, new_kid} <= {key["kid"] for key in published["keys"]}
    assert (await _me(world, old_token)).status_code == 200, "old tokens still verify"


async def test_a_retired_key_is_withdrawn_at_once(world):
    kid, key = await _signing_key(world)
    token = jwt.encode(_claims(world), key, algorithm="EdDSA", headers={"kid": kid})
    async with world.client.app.state.runtime.database.transaction() as session:
        await signing.retire(session, kid)
    published = (await world.client.get("/.well-known/jwks.json")).json()
    assert kid not in {k["kid"] for k in published["keys"]}
    assert (await _signing_key(world))[0] != kid
    # A fresh verifier (another service) no longer accepts the withdrawn key's tokens.
    fresh = TokenVerifier(JwksCache(lambda: _local(world)))
    with pytest.raises(InvalidToken):
        await fresh.verify(token)


async def _local(world):
    async with world.client.app.state.runtime.database.transaction() as session:
        return await signing.jwks(session)


async def test_jwks_cache_fetches_again_on_an_unknown_key_id_only():
    keys = [Ed25519PrivateKey.generate()]
    fetches = 0

    async def fetch():
        nonlocal fetches
        fetches += 1
        return {
            "keys": [
                jwt.algorithms.OKPAlgorithm.to_jwk(k.public_key(), as_dict=True) | {"kid": f"k{i}"}
                for i, k in enumerate(keys)
            ]
        }

    clock = [1000.0]
    verifier = TokenVerifier(JwksCache(fetch, clock=lambda: clock[0]))
    claims = {"iss": "acms-identity", "aud": "acms", "sub": "x", "iat": int(time.time())}
    claims["exp"] = claims["iat"] + 60
    first = jwt.encode(claims, keys[0], algorithm="EdDSA", headers={"kid": "k0"})
    await verifier.verify(first)
    await verifier.verify(first)
    assert fetches == 1
    keys.append(Ed25519PrivateKey.generate())
    clock[0] += 10  # past the minimum re-fetch interval
    second = jwt.encode(claims, keys[1], algorithm="EdDSA", headers={"kid": "k1"})
    assert (await verifier.verify(second)).id == "x"
    assert fetches == 2
    with pytest.raises(InvalidToken):
        await verifier.verify(jwt.encode(claims, keys[1], algorithm="EdDSA", headers={"kid": "k9"}))
    assert fetches == 2, "unknown kids cannot make us hammer identity within the interval"


async def test_every_route_refuses_an_account_that_may_not_act_now(world):
    """Tokens identity itself signed, still unexpired: of a disabled account, of an
    account that does not exist, and listing a role revoked since: 401 on every route
    but signing in."""
    tag = uuid.uuid4().hex[:6]
    gone = await world.add_account(f"gone-{tag}", "school_a", [Role.SCHOOL_STAFF])
    demoted = await world.add_account(f"demoted-{tag}", "school_a", [Role.SCHOOL_STAFF])
    tokens = {
        "disabled account": world.tokens[f"gone-{tag}"],
        "revoked role": world.tokens[f"demoted-{tag}"],
    }
    await world.system(accounts.disable_account, gone)
    await world.system(accounts.revoke_role, demoted, Role.SCHOOL_STAFF)
    async with world.client.app.state.runtime.database.transaction() as session:
        tokens["unknown sub"] = await signing.sign_access_token(
            session,
            subject=str(uuid.uuid4()),
            organisation_id=str(world.orgs["school_a"]),
            roles=["school_staff"],
        )
    assert await not_refused(world.client, tokens) == []
