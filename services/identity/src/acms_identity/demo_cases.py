"""The demo country at work (deploy/up, after `acms_identity.demo`): requests for support in
every state and cases with notes, documents, shares, a team member, a sensitive item, a
prosecution notice, a closed case and a moved student.

    python -m acms_identity.demo_cases --gateway http://127.0.0.1:8080

Everything is done through the gateway, as the demo's people would do it, signed in with
DEMO_PASSWORD: school staff write and submit requests, Central Investigation reviews and
allocates them, the ASP's workflow lead assigns them, the cases service opens each case from
the assigned event, and the case manager works it; the ENROL feed's client reports the
moved student. Identity's own tables (this package's) say only *who* acts: the first demo
school, the ASP whose catchment holds it, and their people. Demo data only: students from
`demo_students` (NSNs 999…), visibly fake text. Once: deploy/up runs it until it succeeds
(its marker file `.run/demo-cases-loaded`), and it loads nothing if the demo's teacher has
made requests already (a load ran before, whole or not).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select

from acms_contracts.vocabulary import Role
from acms_identity.demo import ADMIN_EMAIL, DEMO_DOMAIN, DEMO_PASSWORD
from acms_identity.demo_students import DemoStudent, student_records
from acms_identity.tables import account_roles, accounts, catchments, organisations
from acms_platform.database import Database
from acms_platform.settings import load_settings

# How long to wait for what travels by Kafka (a projection, a case opening): on a fresh
# stack the other services are still reading the demo country identity just published.
CATCH_UP_SECONDS = 120
RELATIONSHIPS = {  # demo_names' words → the request's vocabulary
    "mother": "parent",
    "father": "parent",
    "grandmother": "grandparent",
    "grandfather": "grandparent",
    "aunt": "other_whanau",
    "uncle": "other_whanau",
    "caregiver": "caregiver",
}
REASONS = ("chronic_absence", "truancy", "wellbeing", "transition", "chronic_absence")
DOCUMENT = (
    b"DEMO DOCUMENT - not a real person\n"
    b"Attendance plan agreed with whanau: morning check-in with the dean, breakfast club,\n"
    b"weekly call home on Fridays. Review in four weeks.\n"
)


class DemoLoadFailed(SystemExit):
    pass


@dataclass(frozen=True)
class Cast:
    """Who acts in the demo: e-mail addresses of the demo's people, and the ids they need."""

    school: UUID
    school_name: str
    asp: UUID
    asp_name: str
    new_school: UUID  # where the moved student goes: a school of another ASP's catchment
    new_school_name: str
    teacher: str
    principal: str
    office: str
    new_principal: str
    lead: str
    case_manager: str
    second_case_manager: str
    second_case_manager_id: UUID
    case_manager_id: UUID
    investigator: str = f"investigation@{DEMO_DOMAIN}"
    prosecutor: str = f"prosecutions@{DEMO_DOMAIN}"
    admin: str = ADMIN_EMAIL


async def cast_of_the_demo() -> Cast:
    """The first demo school (by region, then name) with an ASP, its people and its ASP's;
    and the first school of another ASP's catchment, for the moved student."""
    database = Database(load_settings("identity"))
    try:
        async with database.transaction() as session:
            orgs = {
                row.id: row
                for row in await session.execute(
                    select(
                        organisations.c.id,
                        organisations.c.name,
                        organisations.c.region,
                        organisations.c.org_type,
                    )
                )
            }
            asp_of = {
                row.school_id: row.asp_id
                for row in await session.execute(
                    select(catchments.c.school_id, catchments.c.asp_id).order_by(
                        catchments.c.effective_from
                    )
                )
            }
            people: dict[tuple[UUID, str], list[tuple[str, UUID]]] = {}
            rows = await session.execute(
                select(
                    accounts.c.id,
                    accounts.c.email,
                    accounts.c.organisation_id,
                    account_roles.c.role,
                )
                .join(account_roles, account_roles.c.account_id == accounts.c.id)
                .where(accounts.c.email.like(f"%@{DEMO_DOMAIN}"))
                .order_by(accounts.c.email)
            )
            for row in rows:
                people.setdefault((row.organisation_id, row.role), []).append((row.email, row.id))
    finally:
        await database.dispose()
    schools = sorted(
        (s for s in orgs.values() if s.org_type == "school" and s.id in asp_of),
        key=lambda s: (s.region or "", s.name),
    )
    if not schools:
        raise DemoLoadFailed("demo cases: no demo school with a catchment (run acms_identity.demo)")
    school = schools[0]
    asp = asp_of[school.id]
    elsewhere = [s for s in schools if asp_of[s.id] != asp] or schools[1:]
    if not elsewhere:
        raise DemoLoadFailed("demo cases: the moved student needs a second school")
    new_school = elsewhere[0]

    def one(org: UUID, role: Role, index: int = 0) -> tuple[str, UUID]:
        found = people.get((org, role.value), [])
        if len(found) <= index:
            raise DemoLoadFailed(f"demo cases: no {role.value} at {orgs[org].name}")
        return found[index]

    case_manager, second = one(asp, Role.ASP_CASE_MANAGER), one(asp, Role.ASP_CASE_MANAGER, 1)
    return Cast(
        school=school.id,
        school_name=school.name,
        asp=asp,
        asp_name=orgs[asp].name,
        new_school=new_school.id,
        new_school_name=new_school.name,
        teacher=one(school.id, Role.SCHOOL_STAFF)[0],
        principal=one(school.id, Role.SCHOOL_LEADER)[0],
        office=one(school.id, Role.SCHOOL_OFFICE_SUPPORT)[0],
        new_principal=one(new_school.id, Role.SCHOOL_LEADER)[0],
        lead=one(asp, Role.ASP_WORKFLOW_LEAD)[0],
        case_manager=case_manager[0],
        case_manager_id=case_manager[1],
        second_case_manager=second[0],
        second_case_manager_id=second[1],
    )


# --- Through the gateway ----------------------------------------------------------------


class Demo:
    """The demo's people at the gateway: each signed in once, every call checked."""

    def __init__(self, gateway: str, cast: Cast) -> None:
        self.http = httpx.Client(base_url=gateway, timeout=30)
        self.cast = cast
        self.headers: dict[str, dict[str, str]] = {}
        self.started = time.monotonic()

    def progress(self, message: str) -> None:
        print(f"demo cases: [{time.monotonic() - self.started:4.1f}s] {message}", flush=True)

    def sign_in(self, email: str) -> dict[str, str]:
        if email not in self.headers:
            for _ in range(20):  # the gateway limits the credential routes per client
                response = self.http.post(
                    "/api/identity/sign-in", json={"email": email, "password": DEMO_PASSWORD}
                )
                if response.status_code != 429:
                    break
                time.sleep(float(response.headers.get("retry-after", "1")))
            _check(response, 200, f"sign in as {email}")
            token = response.json()["access_token"]
            self.headers[email] = {"authorization": f"Bearer {token}"}
        return self.headers[email]

    def call(self, who: str, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        headers = {**self.sign_in(who), **kwargs.pop("headers", {})}
        response = self.http.request(method, path, headers=headers, **kwargs)
        _check(response, expect, f"{method} {path} as {who}")
        return response.json()

    def until(self, what: str, attempt: Callable[[], httpx.Response], expect: int = 200) -> Any:
        """Retry while what it needs is still on its way by Kafka (401: the caller is not
        in the service's projection yet; 404/422: the school, provider or person is not)."""
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while True:
            response = attempt()
            if response.status_code == expect:
                return response.json()
            if response.status_code not in (401, 404, 422) or time.monotonic() > deadline:
                _check(response, expect, what)
            time.sleep(0.3)

    # --- Requests for support ------------------------------------------------------------

    def draft(self, who: str, student: DemoStudent, reason: str) -> dict[str, Any]:
        body = _request(student, self.cast.school, reason)
        headers = self.sign_in(who)
        return self.until(
            f"draft a request as {who}",
            lambda: self.http.post("/api/referrals/referrals", json=body, headers=headers),
            expect=201,
        )

    def step(self, request: dict[str, Any], action: str, who: str, **extra: Any) -> None:
        path = f"/api/referrals/referrals/{request['id']}/{action}"
        body = {"version": request["version"], **extra}
        headers = self.sign_in(who)
        outcome = self.until(
            f"{action} as {who}", lambda: self.http.post(path, json=body, headers=headers)
        )
        request.update(status=outcome["status"], version=outcome["version"])

    def to_state(self, request: dict[str, Any], state: str) -> None:
        cast = self.cast
        path = {
            "draft": [],
            "submitted": ["submit"],
            "withdrawn": ["submit", "withdraw"],
            "declined": ["submit", "decline"],
            "accepted": ["submit", "accept"],
            "allocated": ["submit", "accept", "allocate"],
            "assigned": ["submit", "accept", "allocate", "assign"],
        }[state]
        for action in path:
            if action in ("submit", "withdraw"):
                self.step(request, action, cast.teacher)
            elif action == "decline":
                reason = "Attendance is improving with the school's own plan (demo)."
                self.step(request, action, cast.investigator, reason=reason)
            elif action == "accept":
                self.step(request, action, cast.investigator)
            elif action == "allocate":
                self.step(request, action, cast.investigator, provider_id=str(cast.asp))
            else:
                self.step(request, action, cast.lead, assignee_id=str(cast.case_manager_id))

    def case_of(self, request: dict[str, Any]) -> str:
        """The case opened from an assigned request (by the cases service, from Kafka)."""
        headers = self.sign_in(self.cast.case_manager)
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while time.monotonic() < deadline:
            response = self.http.get("/api/cases/cases", params={"mine": "true"}, headers=headers)
            if response.status_code == 200:
                for case in response.json():
                    if case.get("referral_id") == request["id"]:
                        return str(case["id"])
            time.sleep(0.3)
        raise DemoLoadFailed(f"demo cases: no case opened from request {request['id']}")

    # --- Case work -------------------------------------------------------------------------

    def note(self, case: str, text: str, **extra: Any) -> dict[str, Any]:
        path = f"/api/cases/cases/{case}/notes"
        return self.call(self.cast.case_manager, "POST", path, 201, json={"text": text, **extra})

    def upload(self, case: str, filename: str, content: bytes, **params: str) -> None:
        self.call(
            self.cast.case_manager,
            "POST",
            f"/api/cases/cases/{case}/documents",
            201,
            params={"filename": filename, **params},
            content=content,
            headers={"content-type": "application/octet-stream"},
        )


def _check(response: httpx.Response, expect: int, what: str) -> None:
    if response.status_code != expect:
        raise DemoLoadFailed(
            f"demo cases: {what}: expected {expect}, got {response.status_code} "
            f"{response.text[:500]}"
        )


def _request(student: DemoStudent, school: UUID, reason: str) -> dict[str, Any]:
    line1, _, city = student.address.partition(", ")
    return {
        "student": {
            "nsn": student.nsn,
            "given_name": student.given_name,
            "family_name": student.family_name,
            "date_of_birth": student.date_of_birth.isoformat(),
            "year_level": student.year_level,
            "address": {"line1": line1, "city": city or "Demo Town"},
        },
        "school_id": str(school),
        "whanau": [
            {
                "name": w.name,
                "relationship": RELATIONSHIPS.get(w.relationship, "other"),
                "phone": w.phone,
            }
            for w in student.whanau
        ],
        "reason_category": reason,
        "reason_text": f"(demo) {student.given_name} attended 48% of half-days this term.",
        "actions_taken": "(demo) Two whānau hui; a morning check-in with the dean.",
        "pastoral": {"iep": "(demo) Reading support twice a week"},
    }


# --- The load ---------------------------------------------------------------------------

STATES = ("draft", "submitted", "withdrawn", "declined", "accepted", "allocated")
CASES = ("worked", "prosecution", "closed", "moved")


def already_loaded(demo: Demo) -> bool:
    """Whether the demo's teacher has made requests already (a load, whole or not, ran)."""
    headers = demo.sign_in(demo.cast.teacher)
    made = demo.until(
        "list the teacher's requests",
        lambda: demo.http.get("/api/referrals/referrals", params={"limit": 1}, headers=headers),
    )
    return bool(made)


def load(demo: Demo) -> dict[str, int]:
    cast = demo.cast
    students = iter(student_records([cast.school], len(STATES) + len(CASES), seed=11))
    demo.progress(f"{cast.school_name} (ASP {cast.asp_name}); waiting for the projections")
    requests: dict[str, dict[str, Any]] = {}
    for n, state in enumerate(STATES + tuple(f"case:{c}" for c in CASES)):
        author = cast.principal if state == "draft" else cast.teacher
        request = demo.draft(author, next(students), REASONS[n % len(REASONS)])
        demo.to_state(request, "assigned" if state.startswith("case:") else state)
        requests[state] = request
    demo.progress(f"{len(requests)} requests: " + ", ".join(STATES) + f", {len(CASES)} assigned")
    cases = {c: demo.case_of(requests[f"case:{c}"]) for c in CASES}
    demo.progress(f"{len(cases)} cases opened from the assigned requests")
    _work(demo, cases["worked"])
    demo.progress(
        "case worked: notes, comments, documents, shares, a team member, a sensitive note"
    )
    _work_lightly(demo, cases["prosecution"])
    demo.call(cast.lead, "POST", f"/api/cases/cases/{cases['prosecution']}/prosecution-notice")
    demo.progress("case notified for potential prosecution")
    _work_lightly(demo, cases["closed"])
    outcome = {
        "outcome_category": "attending_regularly",
        "outcome_text": "(demo) Back to 94% attendance over six weeks.",
    }
    demo.call(cast.case_manager, "POST", f"/api/cases/cases/{cases['closed']}/close", json=outcome)
    demo.progress("case closed with an outcome")
    _move(demo, requests["case:moved"], cases["moved"])
    demo.progress(f"student moved to {cast.new_school_name}: their case followed")
    return {"requests": len(requests), "cases": len(cases)}


def _work(demo: Demo, case: str) -> None:
    cast, base = demo.cast, f"/api/cases/cases/{case}"
    demo.note(case, "(demo) First meeting with whānau at home; everyone keen to help.")
    shared = demo.note(case, "(demo) From Monday the student joins the breakfast club.")
    demo.call(
        cast.case_manager,
        "POST",
        f"{base}/items/{shared['id']}/share",
        json={"version": shared["version"], "shared": True},
    )
    sensitive = demo.note(case, "(demo) A sensitive disclosure was made; see the safety plan.")
    demo.call(
        cast.case_manager,
        "POST",
        f"{base}/items/{sensitive['id']}/sensitive",
        json={"version": sensitive["version"], "sensitive": True},
    )
    demo.call(
        cast.case_manager,
        "PUT",
        f"{base}/support-plan",
        json={"text": "(demo) Morning check-in; breakfast club; a weekly call home."},
    )
    demo.call(
        cast.case_manager,
        "POST",
        f"{base}/activities",
        201,
        json={
            "activity_type": "home_visit",
            "occurred_at": datetime.now(UTC).isoformat(),
            "outcome": "(demo) Met the student and a caregiver; plan agreed.",
        },
    )
    demo.call(
        cast.case_manager,
        "POST",
        f"{base}/comments",
        201,
        json={"text": "(demo) Thanks for the referral: the plan starts on Monday."},
    )
    demo.upload(case, "attendance-plan.txt", DOCUMENT, shared="true")
    demo.upload(case, "visit-notes.txt", b"DEMO - provider-only visit notes, fake person.\n")
    headers = demo.sign_in(cast.principal)
    demo.until(
        "the school's leader comments",
        lambda: demo.http.post(
            f"{base}/comments",
            headers=headers,
            json={"text": "(demo) Thank you; the dean will meet them daily."},
        ),
        expect=201,
    )
    lead = demo.sign_in(cast.lead)
    member = {"account_id": str(cast.second_case_manager_id)}
    demo.until(
        "add a team member",
        lambda: demo.http.post(f"{base}/team", json=member, headers=lead),
    )


def _work_lightly(demo: Demo, case: str) -> None:
    demo.note(case, "(demo) Called home twice this week; no answer yet.")
    demo.upload(case, "letter-home.txt", b"DEMO letter home - fake person, fake address.\n")


def _move(demo: Demo, request: dict[str, Any], case: str) -> None:
    """ENROL reports the student at a school of another ASP's catchment (through
    integrations' feed route, as the ENROL system's client): the case follows."""
    cast = demo.cast
    ministry = demo.call(cast.admin, "GET", "/api/identity/me")["organisation_id"]
    client = demo.call(
        cast.admin,
        "POST",
        "/api/identity/clients",
        201,
        json={
            "organisation_id": ministry,
            "display_name": "ENROL feed (demo load)",
            "roles": [Role.ENROL_FEED.value],
        },
    )
    credentials = {k: client[k] for k in ("client_id", "client_secret")}
    token = demo.http.post("/api/identity/token/client", json=credentials)
    _check(token, 200, "the ENROL feed's token")
    feed = {"authorization": f"Bearer {token.json()['access_token']}"}
    now = datetime.now(UTC)
    move = {
        "nsn": request["nsn"],
        "school_id": str(cast.new_school),
        "effective_on": date.today().isoformat(),
        "as_of": now.isoformat(),
    }
    report = demo.until(
        "report the move",
        lambda: demo.http.post(
            "/api/integrations/enrol/changes", json={"changes": [move]}, headers=feed
        ),
    )
    if report.get("applied") != 1:
        raise DemoLoadFailed(f"demo cases: the move was not applied: {report}")
    headers = demo.sign_in(cast.new_principal)
    demo.until(
        "the new school's leader sees the moved case",
        lambda: demo.http.get(f"/api/cases/cases/{case}", headers=headers),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="load demo requests and cases via the gateway")
    parser.add_argument("--gateway", default="http://127.0.0.1:8080")
    arguments = parser.parse_args()
    cast = asyncio.run(cast_of_the_demo())
    demo = Demo(arguments.gateway, cast)
    try:
        if already_loaded(demo):
            demo.progress(f"{cast.teacher} has made requests already: not loading again")
            return
        counts = load(demo)
    finally:
        demo.http.close()
    demo.progress(
        f"loaded {counts['requests']} requests and {counts['cases']} cases; sign in as "
        f"{cast.principal}, {cast.case_manager} or {cast.lead} / {DEMO_PASSWORD}"
    )


if __name__ == "__main__":
    main()
