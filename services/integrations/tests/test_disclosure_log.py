"""The disclosure log: the privacy officer's alone (everyone else 404), per student by key
or NSN, and append-only in the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from acms_platform.testing.plugin import student_key_for_test

from .conftest import open_case
from .test_consent_sharing import record, share

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_privacy_officer_queries_disclosures_per_student_by_key_or_nsn(world):
    nsn = "912345678"
    case_id, key = await open_case(world, nsn=nsn)
    await record(world, case_id)
    share_id = (await share(world, case_id)).json()["id"]
    by_key = await world.client.get(
        "/disclosures", params={"student_key": key}, headers=world.as_("privacy")
    )
    by_nsn = await world.client.get(
        "/disclosures", params={"nsn": nsn}, headers=world.as_("privacy")
    )
    assert by_key.status_code == by_nsn.status_code == 200
    assert [d["record_id"] for d in by_key.json()["disclosures"]] == [share_id]
    assert by_nsn.json() == by_key.json()
    assert key == student_key_for_test(nsn)
    mismatch = await world.client.get(
        "/disclosures",
        params={"nsn": "987654321", "student_key": key},
        headers=world.as_("privacy"),
    )
    assert mismatch.status_code == 422


async def test_pages_follow_each_other_without_overlap(world):
    case_id, key = await open_case(world)
    await record(world, case_id)
    made = [(await share(world, case_id)).json()["id"] for _ in range(3)]
    first = await world.client.get(
        "/disclosures", params={"student_key": key, "limit": 2}, headers=world.as_("privacy")
    )
    page = first.json()
    rest = await world.client.get(
        "/disclosures",
        params={"student_key": key, "limit": 2, "before": page["next_before"]},
        headers=world.as_("privacy"),
    )
    ids = [d["record_id"] for d in page["disclosures"] + rest.json()["disclosures"]]
    assert ids == made[::-1]
    assert rest.json()["next_before"] is None


@pytest.mark.parametrize(
    "who", ["investigator", "admin", "contracts", "cm_a", "lead_a", "msd_client", "leader_a"]
)
async def test_nobody_else_queries_the_log(world, who):
    response = await world.client.get("/disclosures", headers=world.as_(who))
    assert response.status_code == 404


async def test_the_log_refuses_changes_in_the_database(world):
    case_id, _ = await open_case(world)
    await record(world, case_id)
    await share(world, case_id)
    for statement in ("UPDATE disclosures SET fields = '{}'", "DELETE FROM disclosures"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with world.runtime.database.transaction() as session:
                await session.execute(text(statement))
