"""Password sign-in, refresh tokens, sign-out and client credentials (throttling:
test_sign_in_throttle.py)."""

import statistics
import time

import jwt
import pytest

from acms_contracts.vocabulary import Role

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "correct-horse-battery-staple"


async def _sign_in(world, email: str, password: str = PASSWORD):
    return await world.client.post("/sign-in", json={"email": email, "password": password})


async def _person(world, name: str = "kahu", org: str = "school_a", roles=(Role.SCHOOL_STAFF,)):
    await world.add_account(name, org, list(roles), password=PASSWORD)
    me = await world.client.get(f"/accounts/{world.accounts[name]}", headers=world.as_(name))
    return me.json()["email"]


async def test_password_sign_in_returns_a_five_minute_token_with_org_and_roles(world):
    email = await _person(world)
    response = await _sign_in(world, email)
    assert response.status_code == 200, response.text
    body = response.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(body["access_token"])
    assert (claims["iss"], claims["aud"], claims["exp"] - claims["iat"]) == (
        "acms-identity",
        "acms",
        300,
    )
    assert claims["sub"] == str(world.accounts["kahu"])
    assert claims["org"] == str(world.orgs["school_a"]) and claims["roles"] == ["school_staff"]
    assert header["alg"] == "EdDSA"
    jwks = (await world.client.get("/.well-known/jwks.json")).json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert all("d" not in key for key in jwks["keys"]), "a private key part was published"
    me = await world.client.get("/me", headers={"authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


async def test_wrong_password_and_unknown_email_fail_alike(world):
    email = await _person(world)
    wrong = await _sign_in(world, email, "not-the-password")
    unknown = await _sign_in(world, "nobody@test.example.org")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_unknown_email_costs_as_much_argon2_work_as_a_wrong_password(world):
    email = await _person(world)

    async def median_seconds(address: str) -> float:
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            await _sign_in(world, address, "not-the-password")
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    known, unknown = await median_seconds(email), await median_seconds("ghost@test.example.org")
    assert 0.5 < unknown / known < 2.0, (known, unknown)


async def test_four_failures_then_success_resets_the_count(world):
    email = await _person(world)
    for _ in range(4):
        await _sign_in(world, email, "wrong-password")
    assert (await _sign_in(world, email)).status_code == 200
    for _ in range(4):
        await _sign_in(world, email, "wrong-password")
    assert (await _sign_in(world, email)).status_code == 200


async def test_disabled_account_cannot_sign_in(world):
    email = await _person(world)
    await world.client.post(
        f"/accounts/{world.accounts['kahu']}/disable", headers=world.as_("leader_a")
    )
    assert (await _sign_in(world, email)).status_code == 401


async def test_refresh_rotates_the_token_and_the_old_one_is_refused(world):
    email = await _person(world)
    first = (await _sign_in(world, email)).json()
    refreshed = await world.client.post(
        "/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != first["refresh_token"]
    reused = await world.client.post(
        "/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    # Reuse of a spent token revokes the whole family, the new one included.
    newest = await world.client.post(
        "/token/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    assert newest.status_code == 401


async def test_refresh_is_refused_at_once_after_the_account_is_disabled(world):
    email = await _person(world)
    tokens = (await _sign_in(world, email)).json()
    disabled = await world.client.post(
        f"/accounts/{world.accounts['kahu']}/disable", headers=world.as_("office_a")
    )
    assert disabled.status_code == 200
    refused = await world.client.post(
        "/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 401
    still = await world.client.get(
        "/me", headers={"authorization": f"Bearer {tokens['access_token']}"}
    )
    assert still.status_code == 401, "identity itself refuses a disabled account at once"


async def test_refresh_is_refused_at_once_after_a_role_is_revoked(world):
    email = await _person(world, roles=(Role.SCHOOL_STAFF, Role.SCHOOL_OFFICE_SUPPORT))
    tokens = (await _sign_in(world, email)).json()
    revoked = await world.client.delete(
        f"/accounts/{world.accounts['kahu']}/roles/school_office_support",
        headers=world.as_("leader_a"),
    )
    assert revoked.status_code == 200
    refused = await world.client.post(
        "/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 401
    again = (await _sign_in(world, email)).json()
    claims = jwt.decode(again["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["school_staff"]


async def test_signed_out_refresh_token_is_refused(world):
    email = await _person(world)
    tokens = (await _sign_in(world, email)).json()
    out = await world.client.post("/sign-out", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    refused = await world.client.post(
        "/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 401


async def test_agency_client_gets_a_client_credentials_token(world):
    created = await world.client.post(
        "/clients",
        json={
            "organisation_id": str(world.orgs["agency"]),
            "display_name": "Agency client",
            "roles": ["agency_client"],
        },
        headers=world.as_("admin"),
    )
    assert created.status_code == 201, created.text
    client = created.json()
    body = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    token = await world.client.post("/token/client", json=body)
    assert token.status_code == 200
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["agency_client"] and claims["svc"] is True
    assert token.json()["refresh_token"] is None
    wrong = await world.client.post("/token/client", json=body | {"client_secret": "guess"})
    assert wrong.status_code == 401


async def test_enrol_feed_client_gets_a_machine_token_with_its_role(world):
    created = await world.client.post(
        "/clients",
        json={
            "organisation_id": str(world.orgs["ministry"]),
            "display_name": "ENROL feed",
            "roles": ["enrol_feed"],
        },
        headers=world.as_("admin"),
    )
    assert created.status_code == 201, created.text
    client = created.json()
    body = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    token = await world.client.post("/token/client", json=body)
    assert token.status_code == 200, token.text
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["enrol_feed"] and claims["svc"] is True
    assert claims["org"] == str(world.orgs["ministry"])


async def test_only_the_platform_admin_creates_agency_clients(world):
    response = await world.client.post(
        "/clients",
        json={"organisation_id": str(world.orgs["agency"]), "display_name": "Rogue client"},
        headers=world.as_("leader_a"),
    )
    assert response.status_code == 403
