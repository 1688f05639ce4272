"""Throttling that cannot be turned against the user (issue 15, finding 4): no lock-out;
failed sign-ins slow down per account and per client (429 with Retry-After); the owner at
a client they signed in from before is not kept out by someone else's failures; every
failure is audited."""

import uuid

import httpx
import pytest
import pytest_asyncio

from acms_contracts import topics
from acms_contracts.vocabulary import Role

from .test_policy_and_audit import _bootstrap, _events

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "correct-horse-battery-staple"


@pytest_asyncio.fixture(loop_scope="session")
async def throttled(start_service, identity_pdp, world):
    """Identity with small thresholds and long delays, so a test sees them take hold."""
    from acms_identity.app import create

    client = await start_service(
        "identity",
        create,
        cerbos_url=identity_pdp,
        sign_in_free_failures_account=3,
        sign_in_free_failures_client=6,
        sign_in_delay_base_seconds=120,
    )
    return client.app


def _client(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://identity.test")


def _address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


async def _person(world, tag: str) -> str:
    name = f"throttle_{tag}_{uuid.uuid4().hex[:6]}"
    await world.add_account(name, "school_a", [Role.SCHOOL_STAFF], password=PASSWORD)
    return world.email_of(name, "school_a")


async def _sign_in(client, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/sign-in", json={"email": email, "password": password})


async def test_someone_elses_failures_do_not_keep_the_owner_out_of_their_usual_client(
    world, throttled
):
    email = await _person(world, "owner")
    async with _client(throttled, _address()) as owner, _client(throttled, _address()) as attacker:
        assert (await _sign_in(owner, email)).status_code == 200  # the owner's usual client
        statuses = [(await _sign_in(attacker, email, "guess")).status_code for _ in range(8)]
        assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}
        assert (await _sign_in(owner, email)).status_code == 200, "not locked out"


async def test_failures_on_an_account_slow_down_unknown_clients_with_retry_after(world, throttled):
    email = await _person(world, "slowed")
    async with _client(throttled, _address()) as attacker, _client(throttled, _address()) as new:
        for _ in range(3):
            assert (await _sign_in(attacker, email, "guess")).status_code == 401
        blocked = await _sign_in(attacker, email, "guess")
        assert blocked.status_code == 429, blocked.text
        assert 1 <= int(blocked.headers["retry-after"]) <= 120
        # A client this account never signed in from waits too (no guess is checked)...
        assert (await _sign_in(new, email)).status_code == 429
    # ...but only for a while: a slow-down, not a lock-out.


async def test_failures_from_one_client_slow_that_client_down_across_accounts(world, throttled):
    address = _address()
    async with _client(throttled, address) as sprayer, _client(throttled, _address()) as other:
        for n in range(6):
            email = f"spray{n}.{uuid.uuid4().hex[:6]}@test.example.org"
            assert (await _sign_in(sprayer, email, "guess")).status_code == 401
        email = await _person(world, "sprayed")
        blocked = await _sign_in(sprayer, email)
        assert blocked.status_code == 429 and "retry-after" in blocked.headers
        assert (await _sign_in(other, email)).status_code == 200, "other clients unaffected"


async def test_every_failed_sign_in_is_audited(world, throttled):
    email = await _person(world, "audited")
    account = str(world.accounts[next(n for n in world.accounts if email.startswith(n + "."))])
    async with _client(throttled, _address()) as attacker:
        for _ in range(4):
            await _sign_in(attacker, email, "guess")

    def failure(envelope: dict) -> bool:
        payload = envelope["payload"]
        return (
            envelope["event_type"] == "AccessDecisionRecorded"
            and payload["resource_kind"] == "identity_sign_in"
            and payload["resource_id"] == account
            and payload["allowed"] is False
        )

    found = await _events(_bootstrap(world), topics.AUDIT_ACCESS, failure, enough=4)
    assert sorted(e["payload"]["rule"] for e in found) == ["throttled"] + ["wrong_password"] * 3
