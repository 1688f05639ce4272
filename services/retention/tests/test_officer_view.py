"""The privacy officer's view of the trail: theirs alone (everyone else, the nearest
Ministry roles included, gets the same 404 as a route that does not exist, and the
refusal is audited); search by account, organisation, student (NSN or key), record and
time; who saw a student's records, with which tiers and when, as JSON and CSV; the
verification result. Real PostgreSQL, Kafka and Cerbos (retention's own policies)."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from acms_contracts.vocabulary import Role
from acms_platform.testing.accounts import TestAccount, known_account, tokens_refused_at_once
from acms_platform.testing.plugin import student_key_for_test
from acms_platform.testing.tokens import TestSigner

from .audit_events import access, publish, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROUTES = [
    "/audit/events",
    f"/audit/student-access?student_key={uuid.uuid4()}",
    "/audit/verification",
]
NOT_GRANTED = [
    [Role.RECORDS_MANAGER],
    [Role.PLATFORM_ADMIN],
    [Role.CENTRAL_INVESTIGATION],
    [Role.NATIONAL_CONTRACTS],
    [Role.PROSECUTIONS],
    [Role.SCHOOL_LEADER],
    [Role.ASP_WORKFLOW_LEAD],
    [],
]


class Caller:
    """Signs in as accounts retention knows (through its staff projection): the kit refuses
    any other with 401 before the policy is asked."""

    def __init__(self, service, signer: TestSigner) -> None:
        self.service, self.signer = service, signer
        self._known: dict[tuple[str, ...], TestAccount] = {}

    async def account(self, roles) -> TestAccount:
        return await known_account(self.service.app, self.signer, list(roles))

    async def headers(self, roles) -> dict[str, str]:
        key = tuple(roles)
        if key not in self._known:
            self._known[key] = await self.account(roles)
        return self._known[key].headers

    async def get(self, path: str, roles=(Role.PRIVACY_OFFICER,), **kwargs):
        return await self.service.get(path, headers=await self.headers(roles), **kwargs)


@pytest_asyncio.fixture(loop_scope="session")
async def caller(retention):
    service = retention
    signer = TestSigner()
    signer.trusted_by(service.app)
    return Caller(service, signer)


@pytest.mark.parametrize("roles", NOT_GRANTED, ids=lambda r: "+".join(r) or "no role")
async def test_only_the_privacy_officer_sees_the_trail(caller, roles):
    for route in ROUTES:
        refused = await caller.get(route, roles)
        assert refused.status_code == 404, (route, refused.text)
        assert refused.json() == (await caller.get("/no/such/route", roles)).json()
        allowed = await caller.get(route)
        assert allowed.status_code == 200, (route, allowed.text)


async def test_a_caller_not_signed_in_is_401(caller):
    for route in ROUTES:
        assert (await caller.service.get(route)).status_code == 401


async def test_a_token_of_an_account_that_may_not_act_now_is_401(caller):
    refused = await tokens_refused_at_once(caller.service.app, caller.signer, Role.PRIVACY_OFFICER)
    for why, token in refused.items():
        for route in ROUTES:
            response = await caller.service.get(route, headers={"authorization": f"Bearer {token}"})
            assert response.status_code == 401, (why, route, response.text)


async def test_a_refusal_and_the_officers_own_reads_are_in_the_trail(caller):
    intruder = await caller.account([Role.CENTRAL_INVESTIGATION])
    officer = await caller.account([Role.PRIVACY_OFFICER])
    assert (await caller.service.get("/audit/events", headers=intruder.headers)).status_code == 404
    assert (await caller.service.get("/audit/events", headers=officer.headers)).status_code == 200

    async def entries_of(account: TestAccount) -> list[dict]:
        """The account's reads and refusals (not its creation and role grants)."""
        found = await caller.get(f"/audit/events?account_id={account.account_id}")
        return [e for e in found.json()["entries"] if e["outcome"] != "change"]

    async with asyncio.timeout(30):
        while not (await entries_of(intruder)) or not (await entries_of(officer)):
            await asyncio.sleep(0.2)
    (refusal,) = await entries_of(intruder)
    assert (refusal["outcome"], refusal["action"]) == ("denied", "retention:search_trail")
    read = (await entries_of(officer))[-1]
    assert (read["outcome"], read["rule"]) == (
        "allowed",
        "audit_trail.privacy_officer_reads_the_audit_trail",
    )


@pytest_asyncio.fixture(loop_scope="session")
async def seeded(caller):
    """Four decisions an hour apart: two accounts, two organisations, two students."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    nsn = str(random.randrange(10**9, 10**10))
    s1, s2 = student_key_for_test(nsn), str(uuid.uuid4())
    a1, a2 = str(uuid.uuid4()), str(uuid.uuid4())
    o1, o2 = uuid.uuid4(), uuid.uuid4()
    r1, r2 = str(uuid.uuid4()), str(uuid.uuid4())
    events = {
        "A": access(account=a1, organisation=o1, student_key=s1, record_id=r1, occurred_at=start),
        "B": access(
            account=a1, organisation=o1, student_key=s2, occurred_at=start + timedelta(hours=1)
        ),
        "C": access(
            account=a2,
            organisation=o2,
            student_key=s1,
            record_id=r2,
            tiers=["basic", "summary", "full"],
            occurred_at=start + timedelta(hours=2),
        ),
        "D": access(
            account=a2,
            organisation=o2,
            student_key=s1,
            allowed=False,
            occurred_at=start + timedelta(hours=3),
        ),
    }
    await publish(caller.service, *events.values())
    await stored(caller.service, [e.event_id for e in events.values()], expected=4)
    return {
        "events": events,
        "ids": {name: str(e.event_id) for name, e in events.items()},
        "nsn": nsn,
        "s1": s1,
        "a1": a1,
        "o2": o2,
        "r2": r2,
        "start": start,
    }


async def _found(caller, seeded, query: str) -> list[str]:
    """The seeded events found (the officer's own audited reads of the student match too)."""
    response = await caller.get(f"/audit/events?{query}")
    assert response.status_code == 200, response.text
    ours = set(seeded["ids"].values())
    return [e["event_id"] for e in response.json()["entries"] if e["event_id"] in ours]


async def test_search_by_account_organisation_student_record_and_time(caller, seeded):
    ids = seeded["ids"]
    assert await _found(caller, seeded, f"account_id={seeded['a1']}") == [ids["B"], ids["A"]]
    assert await _found(caller, seeded, f"organisation_id={seeded['o2']}") == [ids["D"], ids["C"]]
    by_key = await _found(caller, seeded, f"student_key={seeded['s1']}")
    assert by_key == [ids["D"], ids["C"], ids["A"]]
    assert await _found(caller, seeded, f"nsn={seeded['nsn']}") == by_key
    assert await _found(caller, seeded, f"record_id={seeded['r2']}") == [ids["C"]]
    since = (seeded["start"] + timedelta(minutes=30)).isoformat()
    until = (seeded["start"] + timedelta(hours=2)).isoformat()
    window = await caller.get(
        "/audit/events", params={"account_id": seeded["a1"], "since": since, "until": until}
    )
    assert [e["event_id"] for e in window.json()["entries"]] == [ids["B"]]
    entry = window.json()["entries"][0]
    assert entry["envelope"] == seeded["events"]["B"].model_dump(mode="json")


async def test_everyone_who_saw_a_student_with_tiers_and_when_as_json_and_csv(caller, seeded):
    ids = seeded["ids"]
    report = await caller.get(f"/audit/student-access?nsn={seeded['nsn']}")
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["student_key"] == seeded["s1"] and body["truncated"] is False
    seen = [(a["event_id"], a["tiers"], a["account_id"]) for a in body["accesses"]]
    assert seen == [  # the refusal (D) showed nothing
        (ids["A"], ["basic", "summary"], seeded["a1"]),
        (ids["C"], ["basic", "summary", "full"], seeded["events"]["C"].payload["principal_id"]),
    ]
    assert body["accesses"][0]["occurred_at"].startswith(seeded["start"].isoformat()[:19])

    as_csv = await caller.get(f"/audit/student-access?student_key={seeded['s1']}&format=csv")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["event_id"], r["tiers"]) for r in rows] == [
        (ids["A"], "basic summary"),
        (ids["C"], "basic summary full"),
    ]
    assert rows[1]["record_id"] == seeded["r2"] and rows[1]["kind"] == "referral"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("student-access", "nsn or student_key"),
        ("student-access?nsn=123456789&student_key=x", "not both"),
        ("student-access?nsn=12ab", "nsn"),
        ("events?since=2026-01-01T00:00:00", "since"),
        ("events?limit=0", "limit"),
        ("events?organisation_id=not-a-uuid", "organisation_id"),
    ],
)
async def test_bad_input_is_422_naming_it(caller, query, names):
    response = await caller.get(f"/audit/{query}")
    assert response.status_code == 422, response.text
    assert names in response.text


async def test_the_verification_result_is_served(caller, seeded):
    response = await caller.get("/audit/verification")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["intact"] is True and body["breaks"] == []
    assert body["rows"] >= 4
