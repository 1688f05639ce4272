"""End to end through the gateway on real Kafka: a request for support becomes a case and
the case is worked and closed (ARCHITECTURE flow 1; ACCESS-MODEL sections 3-5).

School staff write and submit the request, Central Investigation accepts and allocates it
to an ASP, the ASP's workflow lead assigns it to a case manager, and the cases service
opens the case from the `ReferralAssigned` event. The case manager adds notes, a comment
and a document, shares some with the school and labels one note sensitive: the school's
leader sees exactly what was shared, another school's leader and another ASP see nothing
(404), and once the case is closed with an outcome the primary contact no longer sees it.
"""

from __future__ import annotations

import uuid

import pytest

from acms_platform.testing.flows import (
    CATCH_UP_SECONDS,
    create_organisation,
    request_body,
    wait_until,
)

DOCUMENT = b"Attendance plan agreed with whanau, week 3 (demo text, no real person).\n"


@pytest.mark.timeout(900)  # several Kafka catch-ups, each bounded below
def test_a_request_becomes_a_case_that_is_worked_shared_and_closed(system, gateway):
    admin = system.admin_headers()
    ministry = gateway.get("/api/identity/me", headers=admin).json()["organisation_id"]
    school = create_organisation(gateway, admin, "school", "Matai School")
    other_school = create_organisation(gateway, admin, "school", "Hinau School")
    asp = create_organisation(gateway, admin, "asp", "Te Ara Attendance")
    other_asp = create_organisation(gateway, admin, "asp", "Pūriri Attendance")
    tag = uuid.uuid4().hex[:8]
    emails = {
        "staff": (school, "school_staff"),
        "leader": (school, "school_leader"),
        "other_leader": (other_school, "school_leader"),
        "investigator": (ministry, "central_investigation"),
        "lead": (asp, "asp_workflow_lead"),
        "case_manager": (asp, "asp_case_manager"),
        "other_lead": (other_asp, "asp_workflow_lead"),
    }
    ids: dict[str, str] = {}
    for who, (org, role) in emails.items():
        email = f"{who.replace('_', '-')}-{tag}@test.example.org"
        ids[who] = system.create_accounts(org, {email: role})[email]
    as_ = {who: system.sign_in(f"{who.replace('_', '-')}-{tag}@test.example.org") for who in ids}

    # --- The request: written and submitted by school staff --------------------------
    created: dict = {}

    def create_draft() -> bool:
        body = request_body(school, f"Walker{tag}")
        response = gateway.post("/api/referrals/referrals", json=body, headers=as_["staff"])
        created.update(status=response.status_code, body=response.json())
        return response.status_code == 201

    # The school and the staff account reach referrals' projections through Kafka first.
    assert wait_until(create_draft, CATCH_UP_SECONDS), f"staff never created a draft: {created}"
    referral_id = created["body"]["id"]
    request = f"/api/referrals/referrals/{referral_id}"
    assert created["body"]["primary_contact_id"] == ids["staff"]

    def transition(action: str, who: str, version: int, **extra: str) -> dict:
        response = gateway.post(
            f"{request}/{action}", json={"version": version, **extra}, headers=as_[who]
        )
        assert response.status_code == 200, (action, response.status_code, response.text)
        return response.json()

    outcome = transition("submit", "staff", created["body"]["version"])
    assert outcome["status"] == "submitted"

    # --- Central Investigation accepts and allocates it to the ASP --------------------
    outcome = transition("accept", "investigator", outcome["version"])
    assert outcome["status"] == "accepted"
    allocated: dict = {}

    def allocate() -> bool:
        response = gateway.post(
            f"{request}/allocate",
            json={"version": outcome["version"], "provider_id": asp},
            headers=as_["investigator"],
        )
        allocated.update(status=response.status_code, body=response.json())
        return response.status_code == 200  # 422 until the ASP reaches the projection

    assert wait_until(allocate, CATCH_UP_SECONDS), f"never allocated: {allocated}"
    assert allocated["body"]["status"] == "allocated"

    # --- The ASP's workflow lead assigns it to a case manager -------------------------
    assigned: dict = {}

    def assign() -> bool:
        response = gateway.post(
            f"{request}/assign",
            json={"version": allocated["body"]["version"], "assignee_id": ids["case_manager"]},
            headers=as_["lead"],
        )
        assigned.update(status=response.status_code, body=response.json())
        return response.status_code == 200  # 422 until the case manager is projected

    assert wait_until(assign, CATCH_UP_SECONDS), f"never assigned: {assigned}"
    assert assigned["body"]["status"] == "assigned"

    # --- The case opens from the assigned event ---------------------------------------
    found: dict = {}

    def case_opened() -> bool:
        response = gateway.get(
            "/api/cases/cases", params={"mine": "true"}, headers=as_["case_manager"]
        )
        found.update(status=response.status_code)
        if response.status_code != 200:  # 401 until the account reaches cases' projection
            return False
        found.update(cases=[c for c in response.json() if c["referral_id"] == referral_id])
        return bool(found["cases"])

    assert wait_until(case_opened, CATCH_UP_SECONDS), f"no case opened: {found}"
    (opened,) = found["cases"]
    case = f"/api/cases/cases/{opened['id']}"
    assert opened["status"] == "active"
    assert opened["case_manager_id"] == ids["case_manager"]
    assert opened["provider_id"] == asp and opened["school_id"] == school
    assert [h["action"] for h in opened["request_history"]][-1] == "assign"

    # --- The case manager works it ------------------------------------------------------
    cm = as_["case_manager"]

    def add_note(text: str) -> dict:
        response = gateway.post(f"{case}/notes", json={"text": text}, headers=cm)
        assert response.status_code == 201, response.text
        return response.json()

    private_note = add_note("Home visit booked; whānau asked us to keep this between us.")
    shared_note = add_note("Hemi will join the breakfast club from Monday.")
    sensitive_note = add_note("Family violence disclosed at the visit; OT notified.")
    shared = gateway.post(
        f"{case}/items/{shared_note['id']}/share",
        json={"version": shared_note["version"], "shared": True},
        headers=cm,
    )
    assert shared.status_code == 200, shared.text
    assert shared.json()["shared"] is True
    labelled = gateway.post(
        f"{case}/items/{sensitive_note['id']}/sensitive",
        json={"version": sensitive_note["version"], "sensitive": True},
        headers=cm,
    )
    assert labelled.status_code == 200, labelled.text
    assert labelled.json()["sensitive"] is True
    comment = gateway.post(
        f"{case}/comments", json={"text": "Thanks for the referral; we met Hemi."}, headers=cm
    )
    assert comment.status_code == 201, comment.text
    uploaded = gateway.post(
        f"{case}/documents",
        params={"filename": "attendance-plan.txt", "shared": "true"},
        content=DOCUMENT,
        headers={**cm, "content-type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert document["shared"] is True and document["media_type"] == "text/plain"
    unshared_upload = gateway.post(
        f"{case}/documents",
        params={"filename": "visit-notes.txt"},
        content=b"Visit notes for the provider only (demo text).\n",
        headers={**cm, "content-type": "application/octet-stream"},
    )
    assert unshared_upload.status_code == 201, unshared_upload.text
    private_document = unshared_upload.json()

    # The case manager sees every item, the sensitive one included.
    notes = gateway.get(f"{case}/notes", headers=cm)
    assert notes.status_code == 200, notes.text
    assert {n["id"] for n in notes.json()} == {
        private_note["id"],
        shared_note["id"],
        sensitive_note["id"],
    }

    # --- The school's leader sees what was shared, and nothing else --------------------
    leader = as_["leader"]

    def leader_sees_case() -> bool:
        # 401 until the leader reaches cases' staff projection.
        return gateway.get(case, headers=leader).status_code == 200

    assert wait_until(leader_sees_case, CATCH_UP_SECONDS), gateway.get(case, headers=leader).text
    seen = gateway.get(case, headers=leader).json()
    assert set(seen["tiers"]) == {"basic", "summary", "support_plan", "shared"}
    shared_items = {i["id"]: i["kind"] for i in seen["shared_items"]}
    assert shared_items == {
        shared_note["id"]: "note",
        comment.json()["id"]: "comment",
        document["id"]: "document",  # never the unshared upload
    }
    for absent in ("reason_text", "whanau", "student", "sensitive_note_count", "home_address"):
        assert absent not in seen, absent
    assert private_note["text"] not in str(seen) and "violence" not in str(seen)
    leader_notes = gateway.get(f"{case}/notes", headers=leader)
    assert leader_notes.status_code == 200, leader_notes.text
    assert [n["id"] for n in leader_notes.json()] == [shared_note["id"]]
    for item in (private_note, sensitive_note):
        response = gateway.get(f"{case}/items/{item['id']}", headers=leader)
        assert response.status_code == 404, (item["text"], response.text)
    assert gateway.get(f"{case}/items/{shared_note['id']}", headers=leader).status_code == 200
    leader_documents = gateway.get(f"{case}/documents", headers=leader)
    assert leader_documents.status_code == 200, leader_documents.text
    assert [d["id"] for d in leader_documents.json()] == [document["id"]]
    content = gateway.get(f"{case}/documents/{document['id']}/content", headers=leader)
    assert content.status_code == 200 and content.content == DOCUMENT
    hidden = gateway.get(f"{case}/documents/{private_document['id']}/content", headers=leader)
    assert hidden.status_code == 404, hidden.text
    listed = gateway.get("/api/cases/cases", params={"school_id": school}, headers=leader)
    assert listed.status_code == 200 and opened["id"] in {c["id"] for c in listed.json()}

    # The primary contact (the staff member who wrote the request) sees it too.
    staff = as_["staff"]
    assert wait_until(lambda: gateway.get(case, headers=staff).status_code == 200)
    staff_view = gateway.get(case, headers=staff).json()
    assert "shared" in staff_view["tiers"] and "full" not in staff_view["tiers"]

    # --- Another school's leader and another ASP see nothing ---------------------------
    for outsider in ("other_leader", "other_lead"):
        headers = as_[outsider]

        def answers(headers=headers) -> bool:
            # 401 until the account reaches cases' staff projection; then 404.
            return gateway.get(case, headers=headers).status_code != 401

        assert wait_until(answers, CATCH_UP_SECONDS), outsider
        for path in ("", "/notes", "/documents", f"/items/{shared_note['id']}", "/timeline"):
            response = gateway.get(f"{case}{path}", headers=headers)
            assert response.status_code == 404, (outsider, path, response.text)
        listed = gateway.get("/api/cases/cases", headers=headers)
        assert listed.status_code == 200 and opened["id"] not in {c["id"] for c in listed.json()}
        content = gateway.get(f"{case}/documents/{document['id']}/content", headers=headers)
        assert content.status_code == 404, (outsider, content.text)

    # --- The case manager closes it with an outcome ------------------------------------
    closed = gateway.post(
        f"{case}/close",
        json={"outcome_category": "attending_regularly", "outcome_text": "Back to 93%."},
        headers=cm,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert gateway.get(case, headers=staff).status_code == 404, "primary contact of a closed case"
    staff_list = gateway.get("/api/cases/cases", headers=staff)
    assert staff_list.status_code == 200 and opened["id"] not in {
        c["id"] for c in staff_list.json()
    }
    after = gateway.get(case, headers=leader)
    assert after.status_code == 200, "the school's leader keeps its closed case"
    assert after.json()["status"] == "closed"
    assert after.json()["outcome_category"] == "attending_regularly"
    assert gateway.get(case, headers=as_["other_leader"]).status_code == 404
    late = gateway.post(f"{case}/notes", json={"text": "after closing"}, headers=cm)
    assert late.status_code == 409, late.text
