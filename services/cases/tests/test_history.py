"""ACCESS-MODEL 4, the student's history, through the API: a provider's workflow leads and a
case manager holding an open case of a student see the student's closed cases of other
providers at `full` and what it implies (never `sensitive`, never `attendance`), on every
route -- the case view, lists and search, the timeline, item lists, one item, documents and
their content, attendance -- and write nothing. The nearest parties not granted (another
case manager of the same ASP, another ASP, a provider whose case of the student is closed
or has moved away) get 404; another provider's *active* case is never history.

Student S: ASP A's closed case (a plain note, a sensitive note, a plain and a sensitive
document, attendance while it was active) and ASP B's active case (case manager B)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import pytest_asyncio

from acms_contracts.attendance import AttendanceCategory, StudentAttendanceRecorded
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.identity import CatchmentAssigned
from acms_contracts.vocabulary import OrgType, Role

from .documents_kit import pdf, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALL = ["basic", "summary", "demographic", "support_plan", "shared", "full", "sensitive",
       "attendance"]  # fmt: skip
NO_ATTENDANCE = ALL[:-1]
HISTORY = ["basic", "summary", "demographic", "support_plan", "shared", "full"]
FIELD_OF_TIER = {
    "basic": "reference",
    "summary": "nsn",
    "demographic": "home_address",
    "support_plan": "support_plan",
    "shared": "shared_items",
    "full": "whanau",
    "sensitive": "sensitive_note_count",
    "attendance": "attendance",
}
OUTCOME = {"outcome_category": "attending_regularly", "outcome_text": "Back at school"}
# Who sees S's closed ASP A case, at which tiers, while ASP B holds S's open case.
SEES_CLOSED_A: dict[str, list[str] | None] = {
    "asp_lead_a": ALL,  # its own case: what it always had
    "case_manager_a": NO_ATTENDANCE,
    "asp_lead_b": HISTORY,
    "case_manager_b": HISTORY,
    "case_manager_b2": None,  # same ASP, holds no case of S
    "asp_lead_c": None,  # no case of S
    "isp_lead_b": None,  # ISP B holds no case of S
    "leader_b": None,  # the school side gains nothing
    "case_manager_a2": None,
}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def extra(world) -> None:
    """A third ASP, a second case manager at ASP B, and school D in ASP D's catchment."""
    if "asp_c" in world.orgs:
        return
    await world.add_organisation("asp_c", OrgType.ASP, None, None)
    await world.add_organisation("asp_d", OrgType.ASP, None, None)
    await world.add_organisation("school_d", OrgType.SCHOOL, "Waikato", None)
    await world.add_account("asp_lead_c", "asp_c", [Role.ASP_WORKFLOW_LEAD])
    await world.add_account("asp_lead_d", "asp_d", [Role.ASP_WORKFLOW_LEAD])
    await world.add_account("case_manager_b2", "asp_b", [Role.ASP_CASE_MANAGER])
    await world.deliver(
        CatchmentAssigned(
            organisation_id=world.orgs["school_d"],
            asp_id=world.orgs["asp_d"],
            effective_from=date(2026, 1, 1),
        )
    )


def _nsn() -> str:
    return str(600_000_000 + uuid.uuid4().int % 100_000_000)


async def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def _close(world, who: str, case_id) -> None:
    await _ok(
        await world.client.post(f"/cases/{case_id}/close", json=OUTCOME, headers=world.as_(who))
    )


async def _student(world) -> dict[str, str]:
    """S with ASP A's closed case (with content) and ASP B's active case."""
    nsn = _nsn()
    name = f"Hinewai Historytest{nsn}"
    a = await world.open_case(nsn=nsn, name=name)
    base, manager = f"/cases/{a['id']}", world.as_("case_manager_a")
    plain = await _ok(
        await world.client.post(f"{base}/notes", json={"text": "Plain"}, headers=manager), 201
    )
    secret = await _ok(
        await world.client.post(
            f"{base}/notes", json={"text": "Disclosure", "sensitive": True}, headers=manager
        ),
        201,
    )
    doc = await _ok(await upload(world, "case_manager_a", str(a["id"]), pdf(), "plan.pdf"), 201)
    secret_doc = await _ok(
        await upload(world, "case_manager_a", str(a["id"]), pdf(), "secret.pdf", sensitive=True),
        201,
    )
    await world.deliver(
        StudentAttendanceRecorded(
            subject_student_key=a["student_key"],
            school_id=a["school_id"],
            on=date(2026, 11, 2),
            session="AM",
            code="U",
            category=AttendanceCategory.UNJUSTIFIED,
            as_of=datetime(2026, 11, 2, 18, tzinfo=UTC),
        )
    )
    await _close(world, "case_manager_a", a["id"])
    b = await world.open_case(
        nsn=nsn, name=name, school="school_b", provider="asp_b", assignee="case_manager_b",
        primary_contact=None,
    )  # fmt: skip
    return {
        "nsn": nsn,
        "name": name,
        "student_key": a["student_key"],
        "closed_a": str(a["id"]),
        "reference_a": a["reference"],
        "active_b": str(b["id"]),
        "plain": plain["id"],
        "secret": secret["id"],
        "doc": doc["id"],
        "secret_doc": secret_doc["id"],
    }


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def student(world, extra) -> dict[str, str]:
    return await _student(world)


async def _tiers(world, who: str, case_id: str) -> list[str] | None:
    response = await world.client.get(f"/cases/{case_id}", headers=world.as_(who))
    if response.status_code == 404:
        return None
    view = await _ok(response)
    for tier, name in FIELD_OF_TIER.items():
        assert (name in view) == (tier in view["tiers"]), (who, tier)
    return view["tiers"]


async def _search(world, who: str, q: str) -> dict[str, list[str]]:
    listed = await _ok(await world.client.get(f"/cases?q={q}", headers=world.as_(who)))
    return {v["id"]: v["tiers"] for v in listed}


@pytest.mark.parametrize("who", sorted(SEES_CLOSED_A))
async def test_each_party_sees_the_closed_case_at_exactly_its_tiers(world, student, who):
    assert await _tiers(world, who, student["closed_a"]) == SEES_CLOSED_A[who]


@pytest.mark.parametrize("who", sorted(SEES_CLOSED_A))
async def test_lists_and_searches_agree_with_the_case_view(world, student, who):
    expected = SEES_CLOSED_A[who]
    listed = await _ok(await world.client.get("/cases?limit=100", headers=world.as_(who)))
    tiers = {v["id"]: v for v in listed}
    if expected is None:
        assert student["closed_a"] not in tiers, who
    else:
        assert tiers[student["closed_a"]]["tiers"] == expected, who
        view = tiers[student["closed_a"]]
        for tier, name in FIELD_OF_TIER.items():
            if tier in ("support_plan", "shared", "sensitive"):
                continue  # the case's own view carries these, never a list
            assert (name in view) == (tier in expected), (who, tier)
    for q in (student["nsn"], student["reference_a"], student["name"].split()[1]):
        found = await _search(world, who, q)
        assert found.get(student["closed_a"]) == expected, (who, q)


async def test_a_history_reader_reads_the_content_but_no_sensitive_item(world, student):
    base = f"/cases/{student['closed_a']}"
    for who in ("asp_lead_b", "case_manager_b"):
        headers = world.as_(who)
        notes = await _ok(await world.client.get(f"{base}/notes", headers=headers))
        assert [n["id"] for n in notes] == [student["plain"]], who
        plain = await world.client.get(f"{base}/items/{student['plain']}", headers=headers)
        assert plain.status_code == 200
        secret = await world.client.get(f"{base}/items/{student['secret']}", headers=headers)
        assert secret.status_code == 404, who
        docs = await _ok(await world.client.get(f"{base}/documents", headers=headers))
        assert [d["id"] for d in docs] == [student["doc"]], who
        got = await world.client.get(f"{base}/documents/{student['doc']}/content", headers=headers)
        assert got.status_code == 200, got.text
        hidden = await world.client.get(
            f"{base}/documents/{student['secret_doc']}/content", headers=headers
        )
        assert hidden.status_code == 404, who
        timeline = await _ok(await world.client.get(f"{base}/timeline", headers=headers))
        lead = await _ok(
            await world.client.get(f"{base}/timeline", headers=world.as_("asp_lead_a"))
        )
        assert len(timeline) == len(lead) - 2, who  # the sensitive note's and document's
        assert "closed" in [e["kind"] for e in timeline]
        assert student["secret_doc"] not in str(timeline) and student["secret"] not in str(timeline)
        attendance = await world.client.get(f"{base}/attendance", headers=headers)
        assert attendance.status_code == 403, who
        team = await world.client.get(f"{base}/team", headers=headers)
        assert team.status_code == 200, who
    # The case's own provider still reads everything.
    lead = world.as_("asp_lead_a")
    notes = await _ok(await world.client.get(f"{base}/notes", headers=lead))
    assert {n["id"] for n in notes} == {student["plain"], student["secret"]}
    assert (await world.client.get(f"{base}/attendance", headers=lead)).status_code == 200


@pytest.mark.parametrize("who", ["case_manager_b2", "asp_lead_c", "isp_lead_b"])
async def test_the_nearest_parties_not_granted_get_404_on_every_route(world, student, who):
    base, headers = f"/cases/{student['closed_a']}", world.as_(who)
    for path in (
        "",
        "/timeline",
        "/notes",
        f"/items/{student['plain']}",
        "/documents",
        f"/documents/{student['doc']}/content",
        "/attendance",
        "/team",
        "/comments",
    ):
        response = await world.client.get(f"{base}{path}", headers=headers)
        assert response.status_code == 404, (who, path, response.text)


@pytest.mark.parametrize(
    ("who", "status"), [("asp_lead_b", 403), ("case_manager_b", 403), ("asp_lead_c", 404)]
)
async def test_a_history_reader_writes_nothing(world, student, who, status):
    base, headers = f"/cases/{student['closed_a']}", world.as_(who)
    note = await world.client.post(f"{base}/notes", json={"text": "x"}, headers=headers)
    assert note.status_code == status, note.text
    comment = await world.client.post(f"{base}/comments", json={"text": "x"}, headers=headers)
    assert comment.status_code == status, comment.text
    sent = await upload(world, who, student["closed_a"], pdf(), "x.pdf")
    assert sent.status_code == status, sent.text


async def test_another_providers_active_case_is_never_history(world, extra):
    nsn = _nsn()
    a = await world.open_case(nsn=nsn)
    b = await world.open_case(
        nsn=nsn, school="school_b", provider="asp_b", assignee="case_manager_b",
        primary_contact=None,
    )  # fmt: skip
    for who in ("asp_lead_b", "case_manager_b"):
        assert await _tiers(world, who, str(a["id"])) is None, who
        assert set(await _search(world, who, nsn)) == {str(b["id"])}, who
    for who in ("asp_lead_a", "case_manager_a"):
        assert await _tiers(world, who, str(b["id"])) is None, who
        assert set(await _search(world, who, nsn)) == {str(a["id"])}, who


async def test_an_isp_holding_an_open_case_sees_the_history_too(world, extra):
    nsn = _nsn()
    a = await world.open_case(nsn=nsn)
    await _close(world, "case_manager_a", a["id"])
    assert await _tiers(world, "isp_lead_b", str(a["id"])) is None
    isp = await world.open_case(
        nsn=nsn, school="school_b", provider="isp_b", assignee="isp_lead_b", primary_contact=None
    )
    assert await _tiers(world, "isp_lead_b", str(a["id"])) == HISTORY
    assert (await _search(world, "isp_lead_b", nsn)) == {
        str(a["id"]): HISTORY,
        str(isp["id"]): ALL,
    }
    assert await _tiers(world, "asp_lead_b", str(a["id"])) is None


async def test_closing_the_open_case_ends_the_history(world, extra):
    s = await _student(world)
    assert await _tiers(world, "asp_lead_b", s["closed_a"]) == HISTORY
    await _close(world, "case_manager_b", s["active_b"])
    for who in ("asp_lead_b", "case_manager_b"):
        assert await _tiers(world, who, s["closed_a"]) is None, who
        assert s["closed_a"] not in await _search(world, who, s["nsn"]), who
    # B keeps its own closed case; A keeps its own (and gains nothing from B's).
    assert await _tiers(world, "asp_lead_b", s["active_b"]) == ALL
    assert await _tiers(world, "case_manager_b", s["active_b"]) == NO_ATTENDANCE
    assert await _tiers(world, "asp_lead_a", s["active_b"]) is None
    # A new open case at ASP C brings the history to ASP C: both closed cases.
    await world.open_case(
        nsn=s["nsn"], school="school_b", provider="asp_c", assignee="asp_lead_c",
        primary_contact=None,
    )  # fmt: skip
    assert await _tiers(world, "asp_lead_c", s["closed_a"]) == HISTORY
    assert await _tiers(world, "asp_lead_c", s["active_b"]) == HISTORY


async def test_a_move_takes_the_history_to_the_new_provider(world, extra):
    s = await _student(world)
    earlier_b = await world.open_case(
        nsn=s["nsn"], school="school_b", provider="asp_b", assignee="case_manager_b",
        primary_contact=None,
    )  # fmt: skip
    await _close(world, "case_manager_b", earlier_b["id"])
    assert await _tiers(world, "asp_lead_b", s["closed_a"]) == HISTORY
    assert await _tiers(world, "asp_lead_d", s["closed_a"]) is None
    await world.deliver(
        StudentEnrolmentChanged(
            subject_student_key=s["student_key"],
            school_id=world.orgs["school_d"],
            effective_on=date.today(),
            as_of=datetime.now(UTC),
        )
    )
    # ASP D holds the open case now: it sees the student's closed cases of A and of B.
    assert await _tiers(world, "asp_lead_d", s["active_b"]) == ALL
    assert await _tiers(world, "asp_lead_d", s["closed_a"]) == HISTORY
    assert await _tiers(world, "asp_lead_d", str(earlier_b["id"])) == HISTORY
    assert set(await _search(world, "asp_lead_d", s["nsn"])) == {
        s["active_b"],
        s["closed_a"],
        str(earlier_b["id"]),
    }
    # ASP B lost the open case and with it the history; it keeps the case it closed.
    for who in ("asp_lead_b", "case_manager_b"):
        assert await _tiers(world, who, s["closed_a"]) is None, who
        assert await _tiers(world, who, s["active_b"]) is None, who
    assert await _tiers(world, "asp_lead_b", str(earlier_b["id"])) == ALL
    assert await _search(world, "asp_lead_b", s["nsn"]) == {str(earlier_b["id"]): ALL}
