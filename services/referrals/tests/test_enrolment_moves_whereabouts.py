"""After ENROL moves a student, the party who made a request still sees it (their rules are
about who made it), but not where the student went: the student's current school is
demographic information they are not granted. Nothing in a read, a list or an edit tells
the former school the new school, or the provider and case manager working the request
there; the new school, Central Investigation and the provider see them as before."""

import json
import uuid
from datetime import timedelta

import pytest

from acms_contracts import topics
from acms_contracts.vocabulary import OrgType, Role
from acms_platform.testing.kafka import published

from .requests import complete_request, make_request, new_nsn
from .test_enrolment_moves import T1, _family, _listed, _moved, _requests, _view

pytestmark = pytest.mark.asyncio(loop_scope="session")

WHEREABOUTS = {"school_id", "provider_id", "provider_type", "assignee_id", "case_manager_name"}


async def _act(world, who: str, referral_id: str, action: str, **body) -> None:
    current = (await _view(world, "investigator", referral_id)).json()
    response = await world.client.post(
        f"/referrals/{referral_id}/{action}",
        json={"version": current["version"], **body},
        headers=world.as_(who),
    )
    assert response.status_code == 200, f"{action}: {response.text}"


async def _moved_and_worked_at_school_b(world) -> tuple[str, list[dict], set[str]]:
    """Two requests for one student made at school A, the student moved to school B, then
    worked there: one allocated to school B's ISP, one re-allocated to ASP B and assigned
    to its case manager. The family name, the requests, and every id and name that says
    where the student went."""
    nsn, family = new_nsn(), _family()
    submitted, assigned = await _requests(world, nsn, family, ("submitted", "assigned"))
    isp_b = await world.add_organisation(f"isp_b_{family}", OrgType.ISP, None, "school_b")
    isp_b_lead = await world.add_account(
        f"isp_lead_b_{family}", f"isp_b_{family}", [Role.ISP_WORKFLOW_LEAD]
    )

    await world.deliver(_moved(nsn, world.orgs["school_b"]))
    await _act(world, "investigator", submitted["id"], "accept")
    await _act(world, "investigator", submitted["id"], "allocate", provider_id=str(isp_b))
    # The assigned request (no case) followed the student; no catchment ASP is known for
    # school B here, so it is back with Central Investigation (test_request_moves).
    await _act(
        world, "investigator", assigned["id"], "allocate", provider_id=str(world.orgs["asp_b"])
    )
    await _act(
        world,
        "asp_lead_b",
        assigned["id"],
        "assign",
        assignee_id=str(world.accounts["case_manager_b"]),
    )
    new_place = {
        str(world.orgs["school_b"]),
        str(isp_b),
        str(isp_b_lead),
        str(world.orgs["asp_b"]),
        str(world.accounts["asp_lead_b"]),
        str(world.accounts["case_manager_b"]),
        "Test case_manager_b",
    }
    return family, [submitted, assigned], new_place


def _traces(answer: object, new_place: set[str]) -> set[str]:
    text = json.dumps(answer)
    return {trace for trace in new_place if trace in text}


async def test_former_school_keeps_the_request_but_not_where_the_student_went(world):
    family, made, new_place = await _moved_and_worked_at_school_b(world)
    kept, followed = made

    for who in ("teacher_a", "office_a"):
        # The one allocated when the student moved followed them (ACCESS-MODEL 6).
        assert (await _view(world, who, followed["id"])).status_code == 404, who
        for referral in (kept,):
            seen = await _view(world, who, referral["id"])
            assert seen.status_code == 200, (who, seen.text)
            view = seen.json()
            assert not WHEREABOUTS & view.keys(), (who, WHEREABOUTS & view.keys())
            assert "school" not in view["tiers"] and "full" in view["tiers"]
            assert view["student"]["family_name"] == family, "the request as written stays"
            assert _traces(view, new_place) == set(), who
        listed = await world.client.get(
            "/referrals", params={"q": family, "limit": 100}, headers=world.as_(who)
        )
        assert {v["id"] for v in listed.json()} == {kept["id"]}
        assert _traces(listed.json(), new_place) == set(), who


async def test_former_school_cannot_find_the_new_school_by_filtering_its_list(world):
    family, made, _ = await _moved_and_worked_at_school_b(world)
    probes = {
        "school_id": world.orgs["school_b"],
        "provider_id": world.orgs["asp_b"],
        "assignee_id": world.accounts["case_manager_b"],
    }
    for who in ("teacher_a", "office_a"):
        for name, value in probes.items():
            found = await _listed_by(world, who, family, **{name: value})
            assert found == set(), (who, name)
    # The new school's leader filters its own requests as before.
    ids = {r["id"] for r in made}
    assert await _listed_by(world, "leader_b", family, school_id=world.orgs["school_b"]) == ids
    assert await _listed_by(world, "asp_lead_b", family, provider_id=world.orgs["asp_b"]) == {
        made[1]["id"]
    }


async def _listed_by(world, who: str, family: str, **filters) -> set[str]:
    response = await world.client.get(
        "/referrals",
        params={"q": family, "limit": 100, **{k: str(v) for k, v in filters.items()}},
        headers=world.as_(who),
    )
    assert response.status_code == 200, response.text
    return {r["id"] for r in response.json()}


async def test_new_school_central_investigation_and_the_provider_see_the_new_school(world):
    family, (submitted, assigned), _ = await _moved_and_worked_at_school_b(world)
    school_b = str(world.orgs["school_b"])
    for who, referral in (
        ("leader_b", submitted),
        ("leader_b", assigned),
        ("investigator", submitted),
        ("investigator", assigned),
        (f"isp_lead_b_{family}", submitted),
        ("asp_lead_b", assigned),
        ("case_manager_b", assigned),
    ):
        seen = await _view(world, who, referral["id"])
        assert seen.status_code == 200, (who, seen.text)
        assert seen.json()["school_id"] == school_b, who
        assert "school" in seen.json()["tiers"]
        assert seen.json()["history"][-1]["actor_id"], "who worked it is shown"
    assert (await _view(world, "leader_b", assigned["id"])).json()["provider_id"] == str(
        world.orgs["asp_b"]
    )
    for who in ("leader_b", "investigator"):
        assert {v["school_id"] for v in await _list(world, who, family)} == {school_b}


async def _list(world, who: str, family: str) -> list[dict]:
    response = await world.client.get(
        "/referrals", params={"q": family, "limit": 100}, headers=world.as_(who)
    )
    return response.json()


async def test_isp_lead_who_made_a_request_does_not_learn_the_new_school(world):
    nsn, family = new_nsn(), _family()
    body = complete_request(world, "school_a")
    body["student"] |= {"nsn": nsn, "family_name": family}
    draft = await make_request(world, "draft", creator="isp_lead_a", body=body)
    assert (await _view(world, "isp_lead_a", draft["id"])).json()["school_id"] == str(
        world.orgs["school_a"]
    )

    await world.deliver(_moved(nsn, world.orgs["school_b"]))

    seen = await _view(world, "isp_lead_a", draft["id"])
    assert seen.status_code == 200, seen.text
    assert "school_id" not in seen.json()
    assert str(world.orgs["school_b"]) not in seen.text
    assert draft["id"] in await _listed(world, "isp_lead_a", family)


async def test_an_edit_by_the_former_school_leaves_the_draft_where_enrol_put_it(world):
    nsn, family = new_nsn(), _family()
    (draft,) = await _requests(world, nsn, family, ("draft",))
    await world.deliver(_moved(nsn, world.orgs["school_b"]))
    school_c = await world.add_organisation(f"school_c_{family}", OrgType.SCHOOL, None, None)

    # Whatever school the edit names (the new one, another, its own), the answer is the
    # same: naming the right one must not be how the former school finds it.
    answers = []
    for named in (world.orgs["school_b"], school_c, world.orgs["school_a"]):
        current = (await _view(world, "teacher_a", draft["id"])).json()
        body = complete_request(world, "school_a")
        body["student"] |= {"nsn": nsn, "family_name": family}
        response = await world.client.put(
            f"/referrals/{draft['id']}",
            json={**body, "school_id": str(named), "version": current["version"]},
            headers=world.as_("teacher_a"),
        )
        answers.append((response.status_code, sorted(response.json())))
        assert str(world.orgs["school_b"]) not in response.text
    assert answers[0] == answers[1] == answers[2] and answers[0][0] == 200, answers

    assert (await _view(world, "leader_b", draft["id"])).json()["school_id"] == str(
        world.orgs["school_b"]
    )
    assert (await _view(world, "leader_a", draft["id"])).status_code == 404


async def test_a_school_the_student_left_since_is_not_in_the_history(world):
    nsn, family = new_nsn(), _family()
    (referral,) = await _requests(world, nsn, family, ("submitted",))
    await world.deliver(_moved(nsn, world.orgs["school_b"]))
    await world.deliver(_moved(nsn, world.orgs["school_a"], T1 + timedelta(days=1)))

    for who in ("teacher_a", "leader_a", "investigator"):
        seen = await _view(world, who, referral["id"])
        assert seen.json()["school_id"] == str(world.orgs["school_a"]), who
        moves = [h for h in seen.json()["history"] if h["action"] == "enrolment_changed"]
        assert len(moves) == 2
        assert "school_id" not in moves[0] and moves[1]["school_id"] == str(world.orgs["school_a"])
        assert str(world.orgs["school_b"]) not in seen.text, who


async def test_the_audit_records_that_the_school_was_not_shown(world):
    nsn, family = new_nsn(), _family()
    (referral,) = await _requests(world, nsn, family, ("submitted",))
    await world.deliver(_moved(nsn, world.orgs["school_b"]))
    for who in ("teacher_a", "leader_b"):
        assert (await _view(world, who, referral["id"])).status_code == 200

    def read_by(who: str):
        actor = str(world.accounts[who])
        return lambda e: e["payload"]["principal_id"] == actor and bool(_read(e, referral["id"]))

    bootstrap = world.runtime.settings.kafka_bootstrap
    teacher = await published(
        bootstrap,
        topics.AUDIT_ACCESS,
        read_by("teacher_a"),
        enough=2,
        namespace=world.runtime.settings.topic_namespace,
    )
    (leader,) = await published(
        bootstrap,
        topics.AUDIT_ACCESS,
        read_by("leader_b"),
        namespace=world.runtime.settings.topic_namespace,
    )
    # teacher_a's first read is the answer to creating it, before the move.
    assert [_read(r[1], referral["id"])[0]["tiers"] for r in teacher] == [
        ["basic", "summary", "full", "school"],
        ["basic", "summary", "full"],
    ]
    assert _read(leader[1], referral["id"])[0]["tiers"] == ["basic", "summary", "full", "school"]


def _read(envelope: dict, referral_id: str) -> list[dict]:
    """The records of a request's audit event that are reads of `referral_id` (the answer
    to creating it, or a view), not the records of a change made to it."""
    payload = envelope["payload"]
    if payload.get("action") not in ("create_draft", "view_referral"):
        return []
    return [r for r in payload.get("records", []) if r["id"] == referral_id]


# --- A move to no school, and a request raised for a student at no school ----------------


def _at_no_school(view: dict) -> bool:
    """Whether a view shows its reader that the request is at no school."""
    return "school" in view["tiers"] and "school_id" in view and view["school_id"] is None


async def test_a_move_to_no_school_does_not_tell_whoever_made_the_request(world):
    nsn, family = new_nsn(), _family()
    submitted, allocated = await _requests(world, nsn, family, ("submitted", "allocated"))

    await world.deliver(_moved(nsn, None))

    for who in ("teacher_a", "office_a", "asp_lead_a"):
        # The allocated one followed the student (ACCESS-MODEL 6): no school, no provider.
        assert (await _view(world, who, allocated["id"])).status_code == 404, who
    for who in ("teacher_a", "office_a"):
        for referral in (submitted,):
            view = (await _view(world, who, referral["id"])).json()
            assert not WHEREABOUTS & view.keys(), (who, WHEREABOUTS & view.keys())
            assert "school" not in view["tiers"] and "full" in view["tiers"], who
        for listed in await _list(world, who, family):
            assert not WHEREABOUTS & listed.keys() and "school" not in listed["tiers"], who
        # A filter on where it is finds nothing, not even the provider it was allocated to.
        assert await _listed_by(world, who, family, provider_id=world.orgs["asp_a"]) == set()
    # Central Investigation sees that both are at no school, the allocated one back in its
    # queue.
    assert _at_no_school((await _view(world, "investigator", submitted["id"])).json())
    back = (await _view(world, "investigator", allocated["id"])).json()
    assert _at_no_school(back) and back["status"] == "accepted"
    assert await _listed_by(world, "asp_lead_a", family, provider_id=world.orgs["asp_a"]) == set()

    # Back at the creator's school, the student is theirs again.
    await world.deliver(_moved(nsn, world.orgs["school_a"], T1 + timedelta(days=1)))
    for who in ("teacher_a", "office_a"):
        for referral in (submitted, allocated):
            view = (await _view(world, who, referral["id"])).json()
            assert view["school_id"] == str(world.orgs["school_a"]), who
            assert "school" in view["tiers"], who


async def test_a_request_raised_for_a_student_at_no_school_shows_its_creator_so(world):
    nsn, family = new_nsn(), _family()
    body = complete_request(world, None)
    body["student"] |= {"nsn": nsn, "family_name": family, "not_enrolled": True}
    referral = await make_request(world, "submitted", body=body)

    for who in ("teacher_a", "office_a", "investigator"):
        assert _at_no_school((await _view(world, who, referral["id"])).json()), who
        assert all(_at_no_school(v) for v in await _list(world, who, family)), who

    # Once ENROL places the student, and even once it says they are enrolled nowhere, the
    # school is ENROL's: its creator no longer sees where the request is.
    await world.deliver(_moved(nsn, world.orgs["school_b"]))
    await world.deliver(_moved(nsn, None, T1 + timedelta(days=1)))
    for who in ("teacher_a", "office_a"):
        view = (await _view(world, who, referral["id"])).json()
        assert "school_id" not in view and "school" not in view["tiers"], who
    assert _at_no_school((await _view(world, "investigator", referral["id"])).json())


async def test_a_draft_moved_to_no_school_answers_its_creator_as_one_moved_to_a_school(world):
    """Editing and submitting a draft ENROL moved: nothing in the answers says whether the
    student went to a school or to none."""
    drafts = {}
    for school in (None, world.orgs["school_b"]):
        nsn, family = new_nsn(), _family()
        (drafts[school],) = await _requests(world, nsn, family, ("draft",))
        await world.deliver(_moved(nsn, school))
    answers = []
    for draft in drafts.values():
        current = (await _view(world, "teacher_a", draft["id"])).json()
        body = complete_request(world, "school_a")
        body["student"] |= {"nsn": current["nsn"], "family_name": current["student"]["family_name"]}
        edited = await world.client.put(
            f"/referrals/{draft['id']}",
            json={**body, "version": current["version"]},
            headers=world.as_("teacher_a"),
        )
        submitted = await world.client.post(
            f"/referrals/{draft['id']}/submit",
            json={"version": edited.json()["version"]},
            headers=world.as_("teacher_a"),
        )
        answers.append((edited.status_code, sorted(edited.json()), submitted.status_code))
    assert answers[0] == answers[1] and answers[0][0] == answers[0][2] == 200, answers
    # The edit named school A: the drafts stayed where ENROL put them.
    assert (await _view(world, "leader_a", drafts[None]["id"])).status_code == 404
    assert _at_no_school((await _view(world, "investigator", drafts[None]["id"])).json())


# --- A regional office sees where its requests are while the student is in its region ----


async def test_a_regional_office_sees_where_its_request_is_only_inside_its_region(world):
    nsn, family = new_nsn(), _family()
    body = complete_request(world, "school_a", primary_contact_id=str(world.accounts["teacher_a"]))
    body["student"] |= {"nsn": nsn, "family_name": family}
    referral = await make_request(world, "submitted", creator="regional_staff", body=body)
    school_otago = await world.add_organisation(
        f"school_otago_{family}", OrgType.SCHOOL, "Otago", None
    )
    leader_otago = f"leader_otago_{family}"
    await world.add_account(leader_otago, f"school_otago_{family}", [Role.SCHOOL_LEADER])
    unknown_school = uuid.uuid4()  # not (yet) in the organisations projection: no region

    async def regional_view() -> dict:
        seen = await _view(world, "regional_staff", referral["id"])
        assert seen.status_code == 200, seen.text
        return seen.json()

    async def found_by_school(who: str, school) -> bool:
        return referral["id"] in await _listed_by(world, who, family, school_id=school)

    # Moved within its region (Waikato): shown, and found by the school.
    await world.deliver(_moved(nsn, world.orgs["school_b"]))
    view = await regional_view()
    assert view["school_id"] == str(world.orgs["school_b"]) and "school" in view["tiers"]
    assert await found_by_school("regional_staff", world.orgs["school_b"])

    # Out of its region, to a school of no known region, to no school: not shown, and not
    # found by filtering on the school; the school's own leader sees it.
    for step, school in enumerate((school_otago, unknown_school, None), start=1):
        await world.deliver(_moved(nsn, school, T1 + timedelta(days=step)))
        view = await regional_view()
        assert not WHEREABOUTS & view.keys(), (school, WHEREABOUTS & view.keys())
        assert "school" not in view["tiers"] and "full" in view["tiers"]
        assert _traces(view, {str(school_otago), str(unknown_school)}) == set()
        for listed in await _list(world, "regional_staff", family):
            assert not WHEREABOUTS & listed.keys(), school
        if school is not None:
            assert not await found_by_school("regional_staff", school)
        if school == school_otago:
            assert await found_by_school(leader_otago, school_otago)
            seen = (await _view(world, leader_otago, referral["id"])).json()
            assert seen["school_id"] == str(school_otago)

    # Back in its region: shown again.
    await world.deliver(_moved(nsn, world.orgs["school_a"], T1 + timedelta(days=9)))
    view = await regional_view()
    assert view["school_id"] == str(world.orgs["school_a"]) and "school" in view["tiers"]


async def test_a_regional_office_sees_that_a_request_it_raised_for_no_school_is_at_none(world):
    family = _family()
    body = complete_request(world, None)
    body["student"] |= {"family_name": family, "not_enrolled": True}
    referral = await make_request(world, "draft", creator="regional_staff", body=body)
    assert _at_no_school((await _view(world, "regional_staff", referral["id"])).json())
    assert all(_at_no_school(v) for v in await _list(world, "regional_staff", family))
