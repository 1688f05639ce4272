"""Issue 10: a request for a student (same NSN) who already has another open request
(submitted, accepted, allocated or assigned; not a draft, not declined or withdrawn, not
one whose case closed) or an active case carries `possible_duplicate_of`, linking the open
ones, for Central Investigation only: every other party who sees the request sees no such
field (it tells of requests a school or provider did not make), and the
`?possible_duplicate=` filter lists nothing for them."""

import uuid
from datetime import UTC, datetime

import pytest

from acms_contracts.cases import CaseClosed, CaseOpened

from .requests import complete_request, make_request, new_nsn
from .test_enrolment_moves import _moved

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Who sees the new request made at school B by leader B (and so must not see duplicates).
OTHERS_SEEING_NEW = ("leader_b", "office_b")
# Who sees the older request at school A, allocated and assigned at ASP A.
OTHERS_SEEING_OLD = ("leader_a", "office_a", "teacher_a", "asp_lead_a", "case_manager_a")


async def _for_student(world, nsn: str, family: str, state: str, side: str = "a", **options):
    school, creator = ("school_a", "teacher_a") if side == "a" else ("school_b", "leader_b")
    body = complete_request(world, school)
    body["student"] |= {"nsn": nsn, "family_name": family}
    return await make_request(world, state, creator=creator, body=body, **options)


async def _view(world, who: str, referral_id: str) -> dict:
    response = await world.client.get(f"/referrals/{referral_id}", headers=world.as_(who))
    assert response.status_code == 200, (who, response.text)
    return response.json()


async def _listed(world, who: str, family: str, **params) -> dict[str, dict]:
    response = await world.client.get(
        "/referrals", params={"q": family, "limit": 100, **params}, headers=world.as_(who)
    )
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()}


def _family() -> str:
    return f"Dup{uuid.uuid4().hex[:8]}"


async def test_central_investigation_sees_the_open_request_a_new_one_duplicates(world):
    nsn, family = new_nsn(), _family()
    old = await _for_student(world, nsn, family, "assigned")
    new = await _for_student(world, nsn, family, "submitted", side="b")

    seen = await _view(world, "investigator", new["id"])
    assert seen["possible_duplicate_of"] == [
        {"request_id": old["id"], "status": "assigned", "case_id": None}
    ]
    assert "duplicates" in seen["tiers"]
    # The older one links the new one too: both are open for one student.
    assert [
        d["request_id"]
        for d in (await _view(world, "investigator", old["id"]))["possible_duplicate_of"]
    ] == [new["id"]]
    listed = await _listed(world, "investigator", family)
    assert listed[new["id"]]["possible_duplicate_of"][0]["request_id"] == old["id"]


async def test_no_other_party_sees_possible_duplicates(world):
    nsn, family = new_nsn(), _family()
    old = await _for_student(world, nsn, family, "assigned")
    new = await _for_student(world, nsn, family, "submitted", side="b")
    for who, referral in [(w, new) for w in OTHERS_SEEING_NEW] + [
        (w, old) for w in OTHERS_SEEING_OLD
    ]:
        view = await _view(world, who, referral["id"])
        assert "possible_duplicate_of" not in view, who
        assert "duplicates" not in view["tiers"], who
        listed = await _listed(world, who, family)
        assert referral["id"] in listed, who
        assert "possible_duplicate_of" not in listed[referral["id"]], who
        # Nor may they filter by it: the filter would tell of the other request.
        for flag in ("true", "false"):
            assert await _listed(world, who, family, possible_duplicate=flag) == {}, who
    # The new school does not learn of the old request through it.
    assert old["id"] not in await _listed(world, "leader_b", family)


async def test_drafts_declined_and_withdrawn_requests_are_not_duplicates(world):
    nsn, family = new_nsn(), _family()
    for state in ("draft", "declined", "withdrawn"):
        await _for_student(world, nsn, family, state)
    new = await _for_student(world, nsn, family, "submitted", side="b")
    assert (await _view(world, "investigator", new["id"]))["possible_duplicate_of"] == []


async def test_an_active_case_is_linked_and_a_closed_one_is_not(world):
    nsn, family = new_nsn(), _family()
    old = await _for_student(world, nsn, family, "assigned")
    opened = CaseOpened(
        case_id=uuid.uuid4(),
        reference="AS-2026-000077",
        subject_student_key=_moved(nsn, None).subject_student_key,
        actor_id="system",
        at=datetime.now(UTC),
        referral_id=uuid.UUID(old["id"]),
        school_id=world.orgs["school_a"],
        provider_id=world.orgs["asp_a"],
        case_manager_id=world.accounts["case_manager_a"],
    )
    await world.deliver(opened)
    new = await _for_student(world, nsn, family, "submitted", side="b")
    links = (await _view(world, "investigator", new["id"]))["possible_duplicate_of"]
    assert links == [
        {"request_id": old["id"], "status": "assigned", "case_id": str(opened.case_id)}
    ]

    await world.deliver(
        CaseClosed(
            case_id=opened.case_id,
            reference=opened.reference,
            subject_student_key=opened.subject_student_key,
            actor_id="system",
            at=datetime.now(UTC),
            outcome_category="attending",
        )
    )
    assert (await _view(world, "investigator", new["id"]))["possible_duplicate_of"] == []


async def test_central_investigation_filters_possible_duplicates(world):
    nsn, family = new_nsn(), _family()
    old = await _for_student(world, nsn, family, "allocated")
    new = await _for_student(world, nsn, family, "submitted", side="b")
    lone_family = family + "x"
    body = complete_request(world, "school_a")
    body["student"] |= {"family_name": lone_family}
    lone = await make_request(world, "submitted", body=body)
    flagged = await _listed(world, "investigator", family, possible_duplicate="true")
    assert set(flagged) == {old["id"], new["id"]}
    unflagged = await _listed(world, "investigator", lone_family, possible_duplicate="false")
    assert set(unflagged) == {lone["id"]}
    assert lone["id"] not in await _listed(
        world, "investigator", lone_family, possible_duplicate="true"
    )
