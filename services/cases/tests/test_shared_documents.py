"""Documents shared with the school, in every place a case shows them (ACCESS-MODEL 3 and
4), as a matrix through the API: the case view's `shared_items`, the documents list, the
download of each version, the timeline and the summary's count. A party granted `shared`
(the school's leader, the primary contact) sees exactly the documents shared at their
current version, each version it may see and no other; the nearest parties not granted
(office support, a teacher who is not the primary contact, another school's leader, a
school of another case) see none.

The case: a document shared from the start, the provider's own plain and sensitive ones,
one the school uploaded (it goes to the provider alone), one shared then revised unshared
("withdrawn"), one shared then revised sensitive ("relabelled") and one plain then
revised shared ("reshared"); case manager A2 is on its team."""

from __future__ import annotations

import pytest
import pytest_asyncio

from .documents_kit import text, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")

EVERY_VERSION = {
    "shared": {1},
    "plain": {1},
    "sensitive": {1},
    "from_school": {1},
    "withdrawn": {1, 2},
    "relabelled": {1, 2},
    "reshared": {1, 2},
}
TEAM = {
    "shared": {1},
    "plain": {1},
    "from_school": {1},
    "withdrawn": {1, 2},
    "reshared": {1, 2},
}  # full, never sensitive: a document whose current version is sensitive is not theirs
SCHOOL = {"shared": {1}, "reshared": {2}}
# Party → document → the versions it reads (a document absent: not theirs); an int: the
# status of every documents route for a party who sees the case without a content tier
# (403) or does not see it at all (404).
SEES: dict[str, dict[str, set[int]] | int] = {
    "case_manager_a": EVERY_VERSION,
    "asp_lead_a": EVERY_VERSION,
    "case_manager_a2": TEAM,
    "leader_a": SCHOOL,
    "teacher_a": SCHOOL,  # the primary contact
    "office_a": 403,  # basic + summary: no content
    "investigator": 403,
    "contract_manager": 403,
    "teacher_a2": 404,  # school staff, not the primary contact
    "leader_b": 404,  # another school
    "asp_lead_b": 404,
    "case_manager_b": 404,
    "isp_lead_a": 404,
    "prosecutor": 404,  # not notified
}
# Documents the school was ever shown: their timeline entries of that time stay theirs.
EVER_SHARED = {"shared", "withdrawn", "relabelled", "reshared"}


async def _sent(world, who: str, case_id: str, name: str, **flags: object) -> dict:
    answer = await upload(world, who, case_id, text(), f"{name}.txt", **flags)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _revised(world, case_id: str, document: dict, **flags: object) -> None:
    query = "&".join(f"{k}={str(v).lower()}" for k, v in flags.items())
    answer = await world.client.post(
        f"/cases/{case_id}/documents/{document['id']}/versions"
        f"?filename={document['filename']}&version=1&{query}",
        content=text(),
        headers={**world.as_("case_manager_a"), "content-type": "application/octet-stream"},
    )
    assert answer.status_code == 201, answer.text


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def case(world) -> dict[str, str]:
    case_id = str((await world.open_case())["id"])
    manager = "case_manager_a"
    sent = {
        "shared": await _sent(world, manager, case_id, "shared", shared=True),
        "plain": await _sent(world, manager, case_id, "plain"),
        "sensitive": await _sent(world, manager, case_id, "sensitive", sensitive=True),
        "from_school": await _sent(world, "leader_a", case_id, "from_school"),
        "withdrawn": await _sent(world, manager, case_id, "withdrawn", shared=True),
        "relabelled": await _sent(world, manager, case_id, "relabelled", shared=True),
        "reshared": await _sent(world, manager, case_id, "reshared"),
    }
    await _revised(world, case_id, sent["withdrawn"])
    await _revised(world, case_id, sent["relabelled"], sensitive=True)
    await _revised(world, case_id, sent["reshared"], shared=True)
    account = str(world.accounts["case_manager_a2"])
    added = await world.client.post(
        f"/cases/{case_id}/team", json={"account_id": account}, headers=world.as_("asp_lead_a")
    )
    assert added.status_code == 200, added.text
    return {"case": case_id, **{name: d["id"] for name, d in sent.items()}}


def _names(case: dict[str, str], ids) -> set[str]:
    by_id = {v: k for k, v in case.items() if k != "case"}
    return {by_id[i] for i in ids}


@pytest.mark.parametrize("party", sorted(SEES))
async def test_the_case_view_carries_exactly_the_documents_shared_with_the_school(
    world, case, party
):
    view = await world.client.get(f"/cases/{case['case']}", headers=world.as_(party))
    sees = SEES[party]
    if sees == 404:
        assert view.status_code == 404, view.text
        return
    assert view.status_code == 200, view.text
    if "shared" not in view.json()["tiers"]:
        assert "shared_items" not in view.json(), party
        assert sees == 403, "a party reading documents reads the shared ones"
        return
    assert isinstance(sees, dict)
    shared = [i for i in view.json()["shared_items"] if i["kind"] == "document"]
    # Shared at its current version, whoever reads it: the provider too, not its own.
    assert _names(case, (d["id"] for d in shared)) == {"shared", "reshared"}, party
    # The same document, history and all, as the documents list shows this party.
    listed = await world.client.get(f"/cases/{case['case']}/documents", headers=world.as_(party))
    assert shared == [d for d in listed.json() if d["shared"]], party


@pytest.mark.parametrize("party", sorted(SEES))
async def test_documents_and_their_versions_are_listed_and_sent_exactly_as_granted(
    world, case, party
):
    base, headers, sees = f"/cases/{case['case']}/documents", world.as_(party), SEES[party]
    listed = await world.client.get(base, headers=headers)
    if isinstance(sees, int):
        assert listed.status_code == sees, (party, listed.text)
    else:
        assert listed.status_code == 200, listed.text
        by_id = {v: k for k, v in case.items()}
        got = {by_id[d["id"]]: {v["version"] for v in d["history"]} for d in listed.json()}
        assert got == sees, party
    for name, versions in EVERY_VERSION.items():
        for version in [*sorted(versions), None]:
            query = "" if version is None else f"?version={version}"
            sent = await world.client.get(f"{base}/{case[name]}/content{query}", headers=headers)
            if isinstance(sees, int):
                expected = sees
            else:
                wanted = max(versions) if version is None else version
                expected = 200 if wanted in sees.get(name, set()) else 404
            assert sent.status_code == expected, (party, name, version, sent.text)
            if expected == 200:
                assert sent.content == text()


@pytest.mark.parametrize("party", ["leader_a", "teacher_a", "case_manager_a2"])
async def test_the_timeline_names_no_document_the_party_was_never_shown(world, case, party):
    timeline = await world.client.get(f"/cases/{case['case']}/timeline", headers=world.as_(party))
    assert timeline.status_code == 200, timeline.text
    named = _names(
        case, {e["detail"]["document_id"] for e in timeline.json() if "document_id" in e["detail"]}
    )
    shown = EVER_SHARED if party != "case_manager_a2" else set(EVERY_VERSION) - {"sensitive"}
    assert named <= shown, party
    assert {"shared", "reshared"} <= named, party


async def test_the_summary_counts_the_documents_not_labelled_sensitive(world, case):
    for party in ("office_a", "leader_a", "investigator", "case_manager_a"):
        view = (await world.client.get(f"/cases/{case['case']}", headers=world.as_(party))).json()
        # plain, shared, from_school, withdrawn, reshared: not relabelled, not sensitive
        assert view["document_count"] == 5, party
    primary_contact = await world.client.get(
        f"/cases/{case['case']}", headers=world.as_("teacher_a")
    )
    assert "document_count" not in primary_contact.json(), "no summary for school staff"


async def test_a_school_sees_no_shared_document_of_another_schools_case(world):
    other = str((await world.open_case(school="school_b", primary_contact=None))["id"])
    document = await _sent(world, "case_manager_a", other, "theirs", shared=True)
    theirs = await world.client.get(f"/cases/{other}", headers=world.as_("leader_b"))
    assert [i["id"] for i in theirs.json()["shared_items"]] == [document["id"]]
    for party in ("leader_a", "teacher_a", "office_a"):
        headers = world.as_(party)
        for path in ("", "/documents", f"/documents/{document['id']}/content", "/timeline"):
            answer = await world.client.get(f"/cases/{other}{path}", headers=headers)
            assert answer.status_code == 404, (party, path, answer.text)


async def test_lists_carry_no_shared_items(world, case):
    listed = await world.client.get(
        "/cases", params={"school_id": str(world.orgs["school_a"])}, headers=world.as_("leader_a")
    )
    assert listed.status_code == 200
    mine = [c for c in listed.json() if c["id"] == case["case"]]
    assert mine and "shared_items" not in mine[0] and "document_count" not in mine[0]
