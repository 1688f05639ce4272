"""The ENROL intake: only the feed's machine identity reports; a move is published once,
keyed by the student; repeats and out-of-order rows change nothing."""

import pytest

from acms_contracts import topics
from acms_platform.testing.accounts import tokens_refused_at_once
from acms_platform.testing.kafka import published
from acms_platform.testing.plugin import student_key_for_test as student_key_for_nsn
from acms_platform.testing.routes import not_refused

from .feed import T0, change, new_nsn, post, recorded

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _bootstrap(world) -> str:
    return world.runtime.settings.kafka_bootstrap


async def _events_for(world, nsn: str, enough: int = 1) -> list[tuple[str, dict]]:
    key = student_key_for_nsn(nsn)
    return await published(
        _bootstrap(world),
        topics.ENROLMENTS,
        lambda e: e["payload"]["subject_student_key"] == key,
        enough=enough,
    )


async def test_a_move_reaches_kafka_once_keyed_by_the_student_without_the_nsn(world):
    nsn = new_nsn()
    response = await post(world, change(world, nsn, "school_b"))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "received": 1,
        "applied": 1,
        "unchanged": 0,
        "ignored": 0,
        "results": [{"index": 0, "outcome": "applied"}],
    }
    found = await _events_for(world, nsn)
    assert len(found) == 1
    key, envelope = found[0]
    assert key == student_key_for_nsn(nsn) == envelope["student_key"]
    assert envelope["event_type"] == "StudentEnrolmentChanged"
    assert envelope["producer"] == "integrations"
    assert envelope["payload"]["school_id"] == str(world.orgs["school_b"])
    assert envelope["payload"]["as_of"].startswith(T0.date().isoformat())
    assert nsn not in str(envelope), "the NSN itself never travels"


async def test_a_student_enrolled_nowhere_is_published_with_no_school(world):
    nsn = new_nsn()
    await post(world, change(world, nsn, "school_a"))
    response = await post(world, change(world, nsn, None, hours=1))
    assert response.json()["applied"] == 1
    found = await _events_for(world, nsn, enough=2)
    assert [e["payload"]["school_id"] for _, e in found] == [str(world.orgs["school_a"]), None]
    assert (await recorded(world, nsn)).school_id is None


async def test_the_same_batch_twice_publishes_once(world):
    nsn = new_nsn()
    batch = [change(world, nsn, "school_a"), change(world, nsn, "school_b", hours=2)]
    first = await post(world, *batch)
    again = await post(world, *batch)
    assert [r["outcome"] for r in first.json()["results"]] == ["applied", "applied"]
    assert [r["outcome"] for r in again.json()["results"]] == ["ignored", "ignored"]
    found = await _events_for(world, nsn, enough=2)
    assert len(found) == 2


async def test_an_older_row_arriving_late_changes_nothing(world):
    nsn = new_nsn()
    await post(world, change(world, nsn, "school_b", hours=5))
    late = await post(world, change(world, nsn, "school_a", hours=3))
    assert late.json()["results"] == [{"index": 0, "outcome": "ignored"}]
    held = await recorded(world, nsn)
    assert held.school_id == world.orgs["school_b"]
    found = await _events_for(world, nsn)
    assert [e["payload"]["school_id"] for _, e in found] == [str(world.orgs["school_b"])]


async def test_a_later_row_for_the_same_school_is_kept_but_not_published(world):
    nsn = new_nsn()
    await post(world, change(world, nsn, "school_a"))
    repeat = await post(world, change(world, nsn, "school_a", hours=4))
    assert repeat.json()["results"] == [{"index": 0, "outcome": "unchanged"}]
    assert (await recorded(world, nsn)).as_of == T0.replace(hour=T0.hour + 4)
    assert len(await _events_for(world, nsn)) == 1


async def test_rows_of_one_batch_are_applied_in_time_order_whatever_their_order(world):
    nsn = new_nsn()
    response = await post(
        world, change(world, nsn, "school_b", hours=2), change(world, nsn, "school_a", hours=1)
    )
    assert [r["outcome"] for r in response.json()["results"]] == ["applied", "applied"]
    found = await _events_for(world, nsn, enough=2)
    assert [e["payload"]["school_id"] for _, e in found] == [
        str(world.orgs["school_a"]),
        str(world.orgs["school_b"]),
    ]
    assert (await recorded(world, nsn)).school_id == world.orgs["school_b"]


@pytest.mark.parametrize("who", ["admin", "investigator", "leader_a", "enrol_person"])
async def test_people_cannot_report_enrolment_changes_whatever_their_role(world, who):
    nsn = new_nsn()
    response = await post(world, change(world, nsn, "school_b"), who=who)
    assert response.status_code == 403, response.text
    assert "ENROL feed" in response.json()["detail"]
    assert await recorded(world, nsn) is None


async def test_another_machine_identity_cannot_report_and_is_audited(world):
    nsn = new_nsn()
    response = await post(world, change(world, nsn, "school_b"), who="agency_client")
    assert response.status_code == 403
    assert await recorded(world, nsn) is None
    found = await published(
        _bootstrap(world),
        topics.AUDIT_ACCESS,
        lambda e: (
            e["producer"] == "integrations"
            # integrations also audits requests (ApiRequestAudited), which name no kind
            and e["event_type"] == "AccessDecisionRecorded"
            and e["payload"]["resource_kind"] == "enrolment_feed"
            and "agency_client" in e["payload"]["roles"]
        ),
    )
    assert found and found[-1][1]["payload"]["allowed"] is False


async def test_a_person_is_refused_before_their_body_is_read(world):
    response = await world.client.post(
        "/enrol/changes", json={"changes": "nonsense"}, headers=world.as_("leader_a")
    )
    assert response.status_code == 403


async def test_no_token_is_401(world):
    response = await world.client.post(
        "/enrol/changes", json={"changes": [change(world, new_nsn(), "school_a")]}
    )
    assert response.status_code == 401


async def test_every_route_refuses_an_account_that_may_not_act_now(world):
    """A disabled account's token, an unknown account's and one listing a revoked role:
    401 on every route, the ENROL feed's included, before any body is read."""
    refused = await tokens_refused_at_once(world.client.app, world.signer, "enrol_feed")
    assert await not_refused(world.client, refused) == []
