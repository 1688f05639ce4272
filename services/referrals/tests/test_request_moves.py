"""ACCESS-MODEL 6 for requests: a request allocated or assigned with no case yet follows
its student to the new school and the ASP whose catchment holds it (an ISP's request
too), losing its assignee when the provider changes. The school it was made at (its
creator and office support included), the former provider and the former case manager
lose it: 404 on a view, absent from lists and searches, 404 on a write. A stale or
replayed enrolment changes nothing; `ReferralTransferred` is published."""

import uuid
from datetime import date, timedelta

import pytest

from acms_contracts import topics
from acms_contracts.cases import CaseOpened
from acms_contracts.identity import CatchmentAssigned
from acms_contracts.vocabulary import OrgType, Role
from acms_platform.testing.kafka import published

from .requests import complete_request, make_request, new_nsn
from .test_enrolment_moves import T1, _family, _listed, _moved, _view

pytestmark = pytest.mark.asyncio(loop_scope="session")

FORMER = ("leader_a", "office_a", "teacher_a", "asp_lead_a", "case_manager_a")


async def _new_catchment(world, family: str) -> dict[str, str]:
    """School C in the catchment of ASP C (each test its own), with a leader, a lead and a
    case manager."""
    school = await world.add_organisation(f"school_c_{family}", OrgType.SCHOOL, "Waikato", None)
    asp = await world.add_organisation(f"asp_c_{family}", OrgType.ASP, None, None)
    await world.deliver(
        CatchmentAssigned(organisation_id=school, asp_id=asp, effective_from=date(2026, 1, 1))
    )
    names = {
        "leader": (f"leader_c_{family}", f"school_c_{family}", Role.SCHOOL_LEADER),
        "lead": (f"asp_lead_c_{family}", f"asp_c_{family}", Role.ASP_WORKFLOW_LEAD),
        "case_manager": (f"case_manager_c_{family}", f"asp_c_{family}", Role.ASP_CASE_MANAGER),
    }
    for name, org, role in names.values():
        await world.add_account(name, org, [role])
    return {"school": school, "asp": asp, **{k: v[0] for k, v in names.items()}}


async def _request(world, state: str, family: str, nsn: str, **options) -> dict:
    body = complete_request(world, "school_a")
    body["student"] |= {"nsn": nsn, "family_name": family}
    return await make_request(world, state, body=body, **options)


async def _searched(world, who: str, nsn: str) -> set[str]:
    response = await world.client.get(
        "/referrals", params={"q": nsn, "limit": 100}, headers=world.as_(who)
    )
    assert response.status_code == 200, response.text
    return {r["id"] for r in response.json()}


async def _assert_lost(world, who: str, referral: dict, family: str, nsn: str) -> None:
    assert (await _view(world, who, referral["id"])).status_code == 404, who
    assert referral["id"] not in await _listed(world, who, family), who
    assert referral["id"] not in await _searched(world, who, nsn), who
    for action, body in (
        ("assign", {"assignee_id": str(world.accounts["case_manager_a"])}),
        ("reallocate", {"provider_id": str(world.orgs["asp_b"])}),
        ("withdraw", {}),
    ):
        written = await world.client.post(
            f"/referrals/{referral['id']}/{action}",
            json={"version": 99, **body},
            headers=world.as_(who),
        )
        assert written.status_code == 404, (who, action, written.text)


async def test_an_assigned_request_follows_the_student_and_the_former_parties_lose_it(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    for who in FORMER:
        assert (await _view(world, who, referral["id"])).status_code == 200, who
    assert (await _view(world, new["lead"], referral["id"])).status_code == 404

    await world.deliver(_moved(nsn, new["school"]))

    for who in FORMER:
        await _assert_lost(world, who, referral, family, nsn)
    for who in (new["leader"], new["lead"], "investigator"):
        seen = await _view(world, who, referral["id"])
        assert seen.status_code == 200, (who, seen.text)
        view = seen.json()
        assert view["school_id"] == str(new["school"])
        assert view["provider_id"] == str(new["asp"])
        assert view["status"] == "allocated" and view["case_manager_name"] is None
        assert referral["id"] in await _listed(world, who, family), who
    # The new ASP works it: its lead assigns it to its own case manager.
    assigned = await world.client.post(
        f"/referrals/{referral['id']}/assign",
        json={
            "version": (await _view(world, new["lead"], referral["id"])).json()["version"],
            "assignee_id": str(world.accounts[new["case_manager"]]),
        },
        headers=world.as_(new["lead"]),
    )
    assert assigned.status_code == 200, assigned.text
    assert (await _view(world, "case_manager_a", referral["id"])).status_code == 404


async def test_an_isp_request_moves_to_the_catchment_asp_and_the_isp_loses_it(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "allocated", family, nsn, provider="isp_a")
    assert (await _view(world, "isp_lead_a", referral["id"])).status_code == 200

    await world.deliver(_moved(nsn, new["school"]))

    assert (await _view(world, "isp_lead_a", referral["id"])).status_code == 404
    assert referral["id"] not in await _listed(world, "isp_lead_a", family)
    seen = (await _view(world, new["lead"], referral["id"])).json()
    assert seen["provider_id"] == str(new["asp"]) and seen["provider_type"] == "asp"


async def test_a_request_made_by_an_isp_lead_is_lost_when_the_student_leaves_its_school(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    body = complete_request(world, "school_a", primary_contact_id=str(world.accounts["teacher_a"]))
    body["student"] |= {"nsn": nsn, "family_name": family}
    referral = await make_request(world, "allocated", creator="isp_lead_a", body=body)
    assert (await _view(world, "isp_lead_a", referral["id"])).status_code == 200
    await world.deliver(_moved(nsn, new["school"]))
    assert (await _view(world, "isp_lead_a", referral["id"])).status_code == 404


async def test_a_move_within_the_catchment_keeps_provider_and_case_manager(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn, provider="asp_a")
    # School C joins ASP A's catchment: the student moves, the provider stays.
    await world.deliver(
        CatchmentAssigned(
            organisation_id=new["school"],
            asp_id=world.orgs["asp_a"],
            effective_from=date(2026, 2, 1),
        )
    )
    await world.deliver(_moved(nsn, new["school"]))

    for who in ("asp_lead_a", "case_manager_a", new["leader"]):
        seen = await _view(world, who, referral["id"])
        assert seen.status_code == 200, who
        assert seen.json()["status"] == "assigned"
    for who in ("leader_a", "office_a", "teacher_a", new["lead"]):
        assert (await _view(world, who, referral["id"])).status_code == 404, who


async def test_with_no_catchment_asp_known_the_request_goes_back_to_central_investigation(world):
    nsn, family = new_nsn(), _family()
    unplaced = await world.add_organisation(f"school_u_{family}", OrgType.SCHOOL, "Waikato", None)
    referral = await _request(world, "assigned", family, nsn)

    await world.deliver(_moved(nsn, unplaced))

    for who in FORMER:
        await _assert_lost(world, who, referral, family, nsn)
    seen = (await _view(world, "investigator", referral["id"])).json()
    assert seen["status"] == "accepted" and seen["provider_id"] is None
    allocated = await world.client.post(
        f"/referrals/{referral['id']}/allocate",
        json={"version": seen["version"], "provider_id": str(world.orgs["asp_b"])},
        headers=world.as_("investigator"),
    )
    assert allocated.status_code == 200, allocated.text


async def test_a_student_enrolled_nowhere_takes_the_request_from_every_provider(world):
    nsn, family = new_nsn(), _family()
    referral = await _request(world, "allocated", family, nsn)
    await world.deliver(_moved(nsn, None))
    for who in FORMER:
        assert (await _view(world, who, referral["id"])).status_code == 404, who
    seen = (await _view(world, "investigator", referral["id"])).json()
    assert seen["status"] == "accepted" and seen["provider_id"] is None


async def test_a_stale_or_replayed_enrolment_changes_nothing(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    move = _moved(nsn, new["school"])
    await world.deliver(move)
    after = (await _view(world, "investigator", referral["id"])).json()

    await world.deliver(move)  # replayed (another delivery of the same change)
    await world.deliver(_moved(nsn, world.orgs["school_a"], T1 - timedelta(days=3)))  # stale

    again = (await _view(world, "investigator", referral["id"])).json()
    assert again == after
    assert again["school_id"] == str(new["school"]) and again["provider_id"] == str(new["asp"])
    assert [h["action"] for h in again["history"]].count("transferred") == 1
    for who in ("leader_a", "asp_lead_a", "case_manager_a"):
        assert (await _view(world, who, referral["id"])).status_code == 404, who


async def test_the_transfer_is_published_with_both_schools_and_providers(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    await world.deliver(_moved(nsn, new["school"]))

    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.REFERRALS,
        lambda e: (
            e["event_type"] == "ReferralTransferred"
            and e["payload"]["referral_id"] == referral["id"]
        ),
        namespace=world.runtime.settings.topic_namespace,
    )
    assert len(found) == 1
    payload = found[0][1]["payload"]
    assert payload["from_school_id"] == str(world.orgs["school_a"])
    assert payload["school_id"] == str(new["school"])
    assert payload["from_provider_id"] == str(world.orgs["asp_a"])
    assert payload["provider_id"] == str(new["asp"])
    assert payload["actor_id"] == "enrol"


async def test_drafts_submitted_and_closed_requests_are_given_to_no_provider(world):
    """[decision] Only a request with a provider follows the student to a provider: the
    others change school as before, and no ASP gains them."""
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    made = [await _request(world, s, family, nsn) for s in ("draft", "submitted", "declined")]
    await world.deliver(_moved(nsn, new["school"]))
    for referral in made:
        assert (await _view(world, new["lead"], referral["id"])).status_code == 404
        assert (await _view(world, new["leader"], referral["id"])).status_code == 200
        assert (await _view(world, "leader_a", referral["id"])).status_code == 404
        # Their creator keeps them, without where the student went (section 4).
        kept = await _view(world, "teacher_a", referral["id"])
        assert kept.status_code == 200 and "school_id" not in kept.json()


async def test_a_request_whose_case_opened_stays_the_case_moves_instead(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    await world.deliver(
        CaseOpened(
            case_id=uuid.uuid4(),
            reference="AS-2026-000001",
            subject_student_key=_moved(nsn, None).subject_student_key,
            actor_id="system",
            at=T1,
            referral_id=uuid.UUID(referral["id"]),
            school_id=world.orgs["school_a"],
            provider_id=world.orgs["asp_a"],
            case_manager_id=world.accounts["case_manager_a"],
        )
    )
    await world.deliver(_moved(nsn, new["school"]))
    assert (await _view(world, new["lead"], referral["id"])).status_code == 404
    assert (await _view(world, "asp_lead_a", referral["id"])).status_code == 200
    # Nor does a re-allocation move the request away from its case.
    current = (await _view(world, "investigator", referral["id"])).json()
    refused = await world.client.post(
        f"/referrals/{referral['id']}/reallocate",
        json={"version": current["version"], "provider_id": str(world.orgs["asp_b"])},
        headers=world.as_("investigator"),
    )
    assert refused.status_code == 409 and "case" in refused.json()["detail"]


async def test_a_reallocation_takes_the_request_from_the_former_provider_everywhere(world):
    nsn, family = new_nsn(), _family()
    referral = await _request(world, "assigned", family, nsn)
    current = (await _view(world, "investigator", referral["id"])).json()
    moved = await world.client.post(
        f"/referrals/{referral['id']}/reallocate",
        json={"version": current["version"], "provider_id": str(world.orgs["asp_b"])},
        headers=world.as_("investigator"),
    )
    assert moved.status_code == 200, moved.text
    for who in ("asp_lead_a", "case_manager_a"):
        await _assert_lost(world, who, referral, family, nsn)
    assert referral["id"] in await _listed(world, "asp_lead_b", family)
