"""Agency information requests: the agreement's field allow-list, delivery through the
agency simulator (retries while it is down, one idempotency key), the answer through the
partner API (each agency sees only its own), the event to the case, and the disclosure log."""

from __future__ import annotations

import pytest

from acms_contracts import topics
from acms_platform.testing.kafka import published

from .agencies import (
    MSD_FIELDS,
    control,
    disclosures,
    new_request,
    received,
    request_as_ci,
    wait_for,
)
from .conftest import open_case

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_field_outside_the_agreement_is_refused_naming_it_and_nothing_is_kept(world):
    case_id, _ = await open_case(world)
    response = await new_request(
        world, case_id, "msd", MSD_FIELDS | {"nsn": "123456789", "last_known_phone": "021 000"}
    )
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["fields.last_known_phone", "fields.nsn"]
    assert "MSD - Ministry of Education approved information sharing agreement" in response.text
    listed = await world.client.get(
        "/information-requests", params={"case_id": str(case_id)}, headers=world.as_("investigator")
    )
    assert listed.json() == []


async def test_the_same_field_is_allowed_to_an_agency_whose_agreement_lists_it(world):
    case_id, _ = await open_case(world)
    response = await new_request(world, case_id, "oranga_tamariki", {"nsn": "123456789"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["agreement_name"].startswith("Oranga Tamariki")
    assert body["agreement_version"] == "2024-1"
    assert body["status"] == "pending"


async def test_an_unknown_case_or_agency_is_refused(world):
    import uuid

    unknown = await new_request(world, uuid.uuid4())
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "case_id"
    case_id, _ = await open_case(world)
    bad_agency = await new_request(world, case_id, "ird")
    assert bad_agency.status_code == 422


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("investigator", 201),
        ("privacy", 403),
        ("contracts", 403),
        ("admin", 403),
        ("cm_a", 403),
        ("lead_a", 403),
        ("msd_client", 403),
        ("leader_a", 403),
    ],
)
async def test_only_central_investigation_makes_requests(world, who, status):
    case_id, _ = await open_case(world)
    response = await new_request(world, case_id, who=who)
    assert response.status_code == status, response.text


async def test_a_request_goes_out_is_answered_reaches_the_case_and_is_disclosed_once(
    world, simulator
):
    case_id, key = await open_case(world)
    created = await new_request(world, case_id, "msd")
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    done = await wait_for(world, request_id, lambda r: r["status"] == "answered")
    assert done["delivery"]["attempts"] == 1
    assert done["delivery"]["delivered_at"] is not None
    assert done["answer"]["found"] is True
    assert "Demo Town" in done["answer"]["location"]["address"]

    got = (await received("msd"))[request_id]
    assert got["deliveries"] == 1
    assert got["body"]["fields"] == MSD_FIELDS
    assert got["body"]["agreement"]["version"] == "2023-2"

    events = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.AGENCY_REQUESTS,
        lambda e: e["payload"]["request_id"] == request_id,
    )
    assert len(events) == 1
    partition_key, envelope = events[0]
    assert partition_key == key
    assert envelope["event_type"] == "AgencyInformationReturned"
    assert envelope["payload"]["case_id"] == str(case_id)
    assert envelope["payload"]["location_returned"] is True
    assert "Demo Town" not in str(envelope), "what the agency answered stays in integrations"

    logged = await disclosures(world, student_key=key)
    assert len(logged) == 1
    entry = logged[0]
    assert entry["kind"] == "information_request"
    assert entry["recipient"] == "msd"
    assert entry["recipient_org_id"] == str(world.orgs["msd"])
    assert entry["fields"] == sorted(MSD_FIELDS)
    assert entry["agreement"].endswith("(version 2023-2)")
    assert entry["disclosed_by"] == str(world.accounts["investigator"])
    assert entry["record_id"] == request_id


async def test_central_investigation_records_location_from_the_answer(world, simulator):
    case_id, key = await open_case(world)
    request_id = (await new_request(world, case_id, "police", {"full_name": "Test Parent"})).json()[
        "id"
    ]
    before = await world.client.post(
        f"/information-requests/{request_id}/location",
        json={"location": {"address": "1 Early Road"}},
        headers=world.as_("investigator"),
    )
    if before.status_code != 409:  # the simulator answered already: fine, but rare
        assert before.status_code == 200
    answered = await wait_for(world, request_id, lambda r: r["status"] == "answered")
    location = {"address": answered["answer"]["location"]["address"], "phone": "021 555 0100"}
    recorded = await world.client.post(
        f"/information-requests/{request_id}/location",
        json={"location": location, "note": "confirmed by phone"},
        headers=world.as_("investigator"),
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["location"]["location"]["phone"] == "021 555 0100"
    assert recorded.json()["location_recorded_by"] == str(world.accounts["investigator"])
    # The agency sees its request but may not record on it; others do not see it at all.
    for who, status in (
        ("police_client", 403),
        ("msd_client", 404),
        ("cm_a", 404),
        ("privacy", 404),
    ):
        refused = await world.client.post(
            f"/information-requests/{request_id}/location",
            json={"location": location},
            headers=world.as_(who),
        )
        assert refused.status_code == status, who
    events = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.AGENCY_REQUESTS,
        lambda e: (
            e["payload"]["request_id"] == request_id and e["event_type"] == "AgencyLocationRecorded"
        ),
    )
    assert events[0][0] == key


async def test_each_agency_sees_and_answers_only_requests_addressed_to_it(world, simulator):
    await control("immigration", "down")
    try:
        case_id, _ = await open_case(world)
        request_id = (await new_request(world, case_id, "msd")).json()["id"]
        await wait_for(world, request_id, lambda r: r["status"] == "answered")
        path = f"/partner/information-requests/{request_id}"
        own = await world.client.get(path, headers=world.as_("msd_client"))
        assert own.status_code == 200
        assert set(own.json()) == {
            "id", "agreement_name", "agreement_version", "subject", "purpose", "fields",
            "requested_at", "answer", "answered_at",
        }  # fmt: skip
        again = await world.client.post(
            f"{path}/answer", json={"found": False}, headers=world.as_("msd_client")
        )
        assert again.status_code == 409
        listed = await world.client.get(
            "/partner/information-requests", headers=world.as_("msd_client")
        )
        assert request_id in [r["id"] for r in listed.json()]
        for other in ("police_client", "immigration_client", "transport_client", "agency_client"):
            assert (await world.client.get(path, headers=world.as_(other))).status_code == 404
            answer = await world.client.post(
                f"{path}/answer", json={"found": False}, headers=world.as_(other)
            )
            assert answer.status_code == 404, other
            theirs = await world.client.get(
                "/partner/information-requests", headers=world.as_(other)
            )
            assert request_id not in [r["id"] for r in theirs.json()]
        for person in ("cm_a", "lead_a", "privacy", "admin", "leader_a"):
            assert (await world.client.get(path, headers=world.as_(person))).status_code == 404
            ci_path = f"/information-requests/{request_id}"
            assert (await world.client.get(ci_path, headers=world.as_(person))).status_code == 404
            listed = await world.client.get("/information-requests", headers=world.as_(person))
            assert listed.json() == []
    finally:
        await control("immigration", "up")


async def test_delivery_retries_while_the_agency_is_down_and_loses_nothing(world, simulator):
    await control("immigration", "down")
    try:
        case_id, key = await open_case(world)
        request_id = (
            await new_request(world, case_id, "immigration", {"full_name": "Test Parent"})
        ).json()["id"]
        failing = await wait_for(world, request_id, lambda r: r["delivery"]["attempts"] >= 3)
        assert failing["status"] == "pending"
        assert failing["delivery"]["last_error"] == "HTTP 503 from the agency"
        assert failing["delivery"]["next_attempt_at"] is not None
        # Not delivered: the agency cannot read it, and nothing is logged as disclosed.
        path = f"/partner/information-requests/{request_id}"
        hidden = await world.client.get(path, headers=world.as_("immigration_client"))
        assert hidden.status_code == 404
        assert await disclosures(world, student_key=key) == []
    finally:
        await control("immigration", "up")
    done = await wait_for(world, request_id, lambda r: r["status"] == "answered")
    assert done["delivery"]["attempts"] >= 4
    assert done["delivery"]["last_error"] is None
    assert (await received("immigration"))[request_id]["deliveries"] == 1
    assert len(await disclosures(world, student_key=key)) == 1


async def test_back_off_doubles_up_to_its_ceiling_less_a_little_jitter():
    from acms_integrations.delivery import backoff_seconds

    for attempts in range(1, 9):
        ceiling = min(2 ** (attempts - 1), 30)
        wait = backoff_seconds(attempts, 1.0, 30.0)
        assert 0.9 * ceiling <= wait <= ceiling, attempts


async def test_a_bad_answer_is_refused_and_changes_nothing(world, simulator):
    await control("police", "up")
    case_id, _ = await open_case(world)
    # The simulator answers police requests: use a request it has answered, then one it
    # could not have (a bad body is refused before any state is read).
    request_id = (await new_request(world, case_id, "police", {"full_name": "X"})).json()["id"]
    response = await world.client.post(
        f"/partner/information-requests/{request_id}/answer",
        json={"found": "maybe", "extra": 1},
        headers=world.as_("police_client"),
    )
    assert response.status_code == 422
    await wait_for(world, request_id, lambda r: r["status"] == "answered")
    assert (await request_as_ci(world, request_id))["answer"]["note"] == "simulated answer"


async def test_agencies_and_their_agreements_are_listed_for_central_investigation(world):
    response = await world.client.get("/agencies", headers=world.as_("investigator"))
    assert response.status_code == 200
    by_code = {a["agency"]: a for a in response.json()}
    assert set(by_code) == {"immigration", "msd", "oranga_tamariki", "police"}
    assert "nsn" not in by_code["msd"]["fields"]
    assert by_code["msd"]["organisation_id"] == str(world.orgs["msd"])
    for who in ("cm_a", "msd_client", "privacy"):
        assert (await world.client.get("/agencies", headers=world.as_(who))).status_code == 404
    relink = await world.client.put(
        "/agencies/msd/organisation",
        json={"organisation_id": str(world.orgs["msd"])},
        headers=world.as_("investigator"),
    )
    assert relink.status_code == 403
    not_agency = await world.client.put(
        "/agencies/msd/organisation",
        json={"organisation_id": str(world.orgs["school_a"])},
        headers=world.as_("admin"),
    )
    assert not_agency.status_code == 422
