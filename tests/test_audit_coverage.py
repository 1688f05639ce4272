"""Audit coverage (issue 12, ACCESS-MODEL 8): every route that returns a student's personal
information, called through the gateway by a permitted and by a refused caller, leaves a
matching record in the audit trail, read back through the privacy officer's view: the
route, the outcome (allowed with the tiers returned, or refused), the granting rule on
permitted calls (a rule of the policies, `<kind>.<rule name>`, not the check that was
run), and the server's own trace id, never the one the caller sent.

Which routes: derived from each service's OpenAPI (through the gateway), never listed by
hand. An operation returns a student's personal information when a 2xx answer
  (a) has a tiered field (`x-tier`, the access kit's `TieredView`) anywhere in its schema, or
  (b) names a student: a property `nsn` or `student_key`, or
  (c) is about a student record: its path has a parameter naming one (`STUDENT_RECORDS`),
      or is the collection of such a path (`/cases` beside `/cases/{case_id}`), and the
      answer is more than a receipt of a state change (properties within `RECEIPT`), or
      is a file.
Every such operation must have a way to call it here (`CALLS`): one that appears without
one fails the test by name, as does a call in `CALLS` for a route that no longer matches.

The trace id: each call sends a `traceparent` with a trace id of its choosing; the trail
must name the server's own (the `traceresponse` header), which is not that one.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from acms_platform.testing.flows import CATCH_UP_SECONDS, request_body
from acms_platform.testing.policy_schemas import granting_rules

SERVICES = ("identity", "referrals", "cases", "integrations", "reporting", "retention")
STUDENT_RECORDS = {"referral_id", "case_id", "request_id", "consent_id", "share_id"}
STUDENT_FIELDS = {"nsn", "student_key"}
RECEIPT = {"id", "status", "version", "reference", "prosecution_notified"}
TRAIL_SECONDS = 120
# `<kind>.<rule name>` of every ALLOW rule of services/*/policies: what a permitted call's
# record must name as its granting rule
POLICY_RULES = granting_rules()
DOCUMENT = b"Attendance plan agreed with whanau (coverage test, no real person).\n"


# --- Which routes return personal information --------------------------------------------


def _walk(doc: dict, schema: Any, seen: set[str], found: dict[str, bool], names: set[str]) -> None:
    if isinstance(schema, list):
        for item in schema:
            _walk(doc, item, seen, found, names)
        return
    if not isinstance(schema, dict):
        return
    if "x-tier" in schema:
        found["tiered"] = True
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref not in seen:
        seen.add(ref)
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        _walk(doc, node, seen, found, names)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        names.update(properties)
    for key, value in schema.items():
        if key != "$ref" and isinstance(value, dict | list):
            _walk(doc, value, seen, found, names)


def personal_information_operations(service: str, doc: dict) -> dict[tuple[str, str, str], str]:
    """(service, METHOD, path) → which clause of the rule made it one."""
    paths = doc.get("paths", {})
    found_ops: dict[tuple[str, str, str], str] = {}
    for path, operations in paths.items():
        params = set(re.findall(r"{(\w+)}", path))
        under_record = bool(params & STUDENT_RECORDS)
        collection = any(
            other.startswith(path + "/{")
            and other.count("/") == path.count("/") + 1
            and set(re.findall(r"{(\w+)}", other)) - params <= STUDENT_RECORDS
            and set(re.findall(r"{(\w+)}", other)) - params
            for other in paths
        )
        for method, operation in operations.items():
            found: dict[str, bool] = {}
            names: set[str] = set()
            files = False
            for code, answer in operation.get("responses", {}).items():
                if not code.startswith("2"):
                    continue
                for media, content in answer.get("content", {}).items():
                    if media != "application/json":
                        files = True
                    _walk(doc, content.get("schema", {}), set(), found, names)
            why = None
            if found.get("tiered"):
                why = "tiered fields"
            elif names & STUDENT_FIELDS:
                why = f"names a student ({', '.join(sorted(names & STUDENT_FIELDS))})"
            elif (under_record or collection) and (files or not names <= RECEIPT):
                why = "a student record" + (" (a file)" if files else "")
            if why:
                found_ops[(service, method.upper(), path)] = why
    return found_ops


# --- The world the calls need, made through the real routes ------------------------------


def wait_until(attempt: Callable[[], httpx.Response], ok: Callable[[httpx.Response], bool],
               what: str, timeout: float = CATCH_UP_SECONDS) -> httpx.Response:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        response = attempt()
        if ok(response):
            return response
        if time.monotonic() > deadline:
            status, text = getattr(response, "status_code", None), getattr(response, "text", "")
            raise AssertionError(f"{what}: {status} {text[:400]}")
        time.sleep(0.5)


@dataclass
class World:
    gateway: httpx.Client
    system: Any
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    orgs: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    machine: dict[str, dict[str, str]] = field(default_factory=dict)
    made: dict[str, Any] = field(default_factory=dict)

    signed_in: dict[str, tuple[float, dict[str, str]]] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """Signed in once per 4 minutes (tokens live 5; the gateway limits sign-ins)."""
        if who in self.machine:
            return self.machine[who]
        at, headers = self.signed_in.get(who, (0.0, {}))
        if time.monotonic() - at > 240:
            headers = self.system.sign_in(self.emails[who])
            self.signed_in[who] = (time.monotonic(), headers)
        return headers

    def call(self, who: str, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        response = self.gateway.request(method, path, headers=headers, **kwargs)
        assert response.status_code == expect, (method, path, who, response.text[:400])
        return response.json()

    def until(self, who: str, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        """Retry while what the call needs travels by Kafka (401/404/422 meanwhile)."""
        extra = kwargs.pop("headers", {})

        def attempt() -> httpx.Response:
            headers = {**self.headers(who), **extra}
            return self.gateway.request(method, path, headers=headers, **kwargs)

        return wait_until(
            attempt, lambda r: r.status_code == expect, f"{method} {path} as {who}"
        ).json()


def _organisation(world: World, org_type: str, name: str) -> str:
    created = world.call(
        "admin",
        "POST",
        "/api/identity/organisations",
        201,
        json={"org_type": org_type, "name": f"{name} {world.tag}", "region": "Otago"},
    )
    return created["id"]


def build_world(system, gateway: httpx.Client) -> World:
    world = World(gateway, system)
    world.emails["admin"] = system.admin_email
    world.machine["admin"] = system.admin_headers()
    ministry = world.call("admin", "GET", "/api/identity/me")["organisation_id"]
    for name, org_type in (("school", "school"), ("other_school", "school"), ("asp", "asp"),
                           ("other_asp", "asp"), ("agency", "agency"),
                           ("other_agency", "agency")):  # fmt: skip
        world.orgs[name] = _organisation(world, org_type, f"Coverage {name}")
    world.orgs["ministry"] = ministry
    people = {
        "staff": ("school", "school_staff"),
        "leader": ("school", "school_leader"),
        "other_leader": ("other_school", "school_leader"),
        "investigator": ("ministry", "central_investigation"),
        "privacy": ("ministry", "privacy_officer"),
        "contracts": ("ministry", "national_contracts"),
        "lead": ("asp", "asp_workflow_lead"),
        "cm": ("asp", "asp_case_manager"),
        "cm2": ("asp", "asp_case_manager"),
        "other_lead": ("other_asp", "asp_workflow_lead"),
    }
    for who, (org, role) in people.items():
        email = f"cov-{who.replace('_', '-')}-{world.tag}@test.example.org"
        world.emails[who] = email
        world.ids[who] = system.create_accounts(world.orgs[org], {email: role})[email]
    for who, org in (("agency_client", "agency"), ("other_agency_client", "other_agency")):
        client = world.call(
            "admin",
            "POST",
            "/api/identity/clients",
            201,
            json={
                "organisation_id": world.orgs[org],
                "display_name": f"coverage {who}",
                "roles": ["agency_client"],
            },
        )
        world.ids[who] = client["account"]["id"]
        token = gateway.post(
            "/api/identity/token/client",
            json={k: client[k] for k in ("client_id", "client_secret")},
        )
        assert token.status_code == 200, token.text
        world.machine[who] = {"authorization": f"Bearer {token.json()['access_token']}"}
    # every person known to every service before anything is asked of it (a token naming
    # an account a service has not projected yet is 401 there)
    for service in SERVICES[1:]:
        for who in people:
            wait_until(
                lambda who=who, service=service: world.gateway.get(
                    f"/api/{service}/organisations/{ministry}", headers=world.headers(who)
                ),
                lambda r: r.status_code != 401,
                f"{who} known to {service}",
            )
    _requests_and_a_case(world)
    _case_content(world)
    _integrations(world)
    return world


def _requests_and_a_case(world: World) -> None:
    nsn = str(random.randint(100_000_000, 999_999_999))
    world.made["nsn"] = nsn
    body = request_body(world.orgs["school"], "Coverage", nsn)
    draft = world.until("staff", "POST", "/api/referrals/referrals", 201, json=body)
    world.made["draft"] = world.until(
        "staff", "POST", "/api/referrals/referrals", 201,
        json=request_body(world.orgs["school"], "Coverage"),
    )  # fmt: skip
    request = f"/api/referrals/referrals/{draft['id']}"
    world.made["request"] = draft
    version = draft["version"]
    steps = [
        ("submit", "staff", {}),
        ("accept", "investigator", {}),
        ("allocate", "investigator", {"provider_id": world.orgs["asp"]}),
        ("assign", "lead", {"assignee_id": world.ids["cm"]}),
    ]
    for action, who, extra in steps:
        outcome = world.until(
            who, "POST", f"{request}/{action}", json={"version": version, **extra}
        )
        version = outcome["version"]

    def opened() -> httpx.Response:
        return world.gateway.get(
            "/api/cases/cases", params={"mine": "true"}, headers=world.headers("cm")
        )

    found = wait_until(
        opened,
        lambda r: r.status_code == 200 and any(c["referral_id"] == draft["id"] for c in r.json()),
        "the case opened from the assigned request",
    )
    world.made["case"] = next(c for c in found.json() if c["referral_id"] == draft["id"])["id"]
    # the refused callers must be known to cases (401 until projected), and the team member
    case = f"/api/cases/cases/{world.made['case']}"
    for who in ("other_lead", "other_leader", "leader", "cm2", "contracts", "investigator"):
        wait_until(
            lambda who=who: world.gateway.get(case, headers=world.headers(who)),
            lambda r: r.status_code != 401,
            f"{who} known to cases",
        )


def _case_content(world: World) -> None:
    case = f"/api/cases/cases/{world.made['case']}"
    now = datetime.now(UTC)
    world.made["note"] = world.call("cm", "POST", f"{case}/notes", 201, json={"text": "A note."})
    world.made["correspondence"] = world.call(
        "cm", "POST", f"{case}/correspondence", 201,
        json={"channel": "email", "direction": "out", "parties": ["Rangi Coverage"],
              "body": "We wrote home.", "sent_at": now.isoformat()},
    )  # fmt: skip
    world.made["activity"] = world.call(
        "cm", "POST", f"{case}/activities", 201,
        json={"activity_type": "call", "occurred_at": now.isoformat(), "outcome": "Called."},
    )  # fmt: skip
    world.made["calendar"] = world.call(
        "cm", "POST", f"{case}/calendar", 201,
        json={"title": "Home visit", "starts_at": (now + timedelta(days=2)).isoformat()},
    )  # fmt: skip
    world.made["plan"] = world.call(
        "cm", "PUT", f"{case}/support-plan", json={"text": "Morning check-in."}
    )
    world.made["comment"] = world.call(
        "cm", "POST", f"{case}/comments", 201, json={"text": "Thanks for the referral."}
    )
    world.made["document"] = world.call(
        "cm", "POST", f"{case}/documents", 201,
        params={"filename": "plan.txt", "shared": "true"}, content=DOCUMENT,
        headers={"content-type": "application/octet-stream"},
    )  # fmt: skip


def _consent(world: World) -> dict:
    now = datetime.now(UTC)
    return {
        "party_org_id": world.orgs["agency"],
        "purpose": "third_party",
        "scope": ["full_name", "transport_needs"],
        "given_by_name": "Rangi Coverage (fake)",
        "given_by_relationship": "parent",
        "given_at": (now - timedelta(minutes=1)).isoformat(),
        "expires_at": (now + timedelta(days=30)).isoformat(),
    }


SHARED = {"full_name": "Mere Coverage", "transport_needs": "pick-up 8:15 (fake)"}


def _integrations(world: World) -> None:
    case_id = world.made["case"]
    world.call("admin", "PUT", "/api/integrations/agencies/msd/organisation",
               json={"organisation_id": world.orgs["agency"]})  # fmt: skip
    consents = f"/api/integrations/cases/{case_id}/consents"
    # 404 until the case and its team reach integrations' projection
    world.made["consent"] = world.until("cm", "POST", consents, 201, json=_consent(world))
    world.made["consent2"] = world.call("cm", "POST", consents, 201, json=_consent(world))
    share = {"party_org_id": world.orgs["agency"], "purpose": "third_party", "fields": SHARED}
    world.made["share"] = world.call(
        "cm", "POST", f"/api/integrations/cases/{case_id}/shares", 201, json=share
    )
    world.made["info"] = world.call(
        "investigator", "POST", "/api/integrations/information-requests", 201,
        json={"agency": "msd", "case_id": case_id, "subject": "student",
              "fields": {"full_name": "Mere Coverage", "date_of_birth": "2013-03-04"}},
    )  # fmt: skip
    # delivered to the agency (the simulator, receiving only) before the agency sees it
    info = f"/api/integrations/information-requests/{world.made['info']['id']}"
    wait_until(
        lambda: world.gateway.get(info, headers=world.headers("investigator")),
        lambda r: r.status_code == 200 and (r.json().get("delivery") or {}).get("delivered_at"),
        "the information request delivered",
        timeout=60,
    )


# --- How each route is called: (permitted, refused, request) -------------------------------


@dataclass(frozen=True)
class Call:
    permitted: str
    refused: str
    request: Callable[[World, str], dict[str, Any]]  # (world, caller) → httpx request kwargs
    path: Callable[[World], str]


def _case(world: World) -> str:
    return world.made["case"]


def _new_text(world: World, who: str) -> dict:
    return {"json": {"text": f"Written by {who}."}}


def _revision(kind: str, text_field: str = "text", **more: Any) -> Callable[[World, str], dict]:
    def body(world: World, who: str) -> dict:
        item = world.made[kind]
        fresh = world.call("cm", "GET", f"/api/cases/cases/{_case(world)}/items/{item['id']}")
        return {"json": {**more, text_field: f"Revised by {who}.", "version": fresh["version"]}}

    return body


def _labels(field_name: str, kind: str) -> Callable[[World, str], dict]:
    def body(world: World, who: str) -> dict:
        item = world.made[kind]
        fresh = world.call("cm", "GET", f"/api/cases/cases/{_case(world)}/items/{item['id']}")
        return {"json": {"version": fresh["version"], field_name: not fresh[field_name]}}

    return body


def _upload(world: World, who: str) -> dict:
    return {
        "params": {"filename": f"by-{who}.txt"},
        "content": DOCUMENT,
        "headers": {"content-type": "application/octet-stream"},
    }


def _revise_document(world: World, who: str) -> dict:
    listed = world.call("cm", "GET", f"/api/cases/cases/{_case(world)}/documents")
    current = next(d for d in listed if d["id"] == world.made["document"]["id"])
    return {**_upload(world, who), "params": {"filename": "plan.txt",
                                              "version": current["version"]}}  # fmt: skip


def _none(world: World, who: str) -> dict:
    return {}


def _at(template: str) -> Callable[[World], str]:
    def path(world: World) -> str:
        return template.format(
            case=world.made.get("case"),
            request=world.made.get("request", {}).get("id"),
            draft=world.made.get("draft", {}).get("id"),
            note=world.made.get("note", {}).get("id"),
            correspondence=world.made.get("correspondence", {}).get("id"),
            activity=world.made.get("activity", {}).get("id"),
            calendar=world.made.get("calendar", {}).get("id"),
            comment=world.made.get("comment", {}).get("id"),
            document=world.made.get("document", {}).get("id"),
            consent2=world.made.get("consent2", {}).get("id"),
            info=world.made.get("info", {}).get("id"),
            share=world.made.get("share", {}).get("id"),
            cm2=world.ids.get("cm2"),
        )

    return path


def _draft_update(world: World, who: str) -> dict:
    current = world.call("staff", "GET", f"/api/referrals/referrals/{world.made['draft']['id']}")
    body = request_body(world.orgs["school"], "Coverage", current["nsn"])
    return {"json": {**body, "version": current["version"]}}


def _new_request(world: World, who: str) -> dict:
    return {"json": request_body(world.orgs["school"], "Coverage")}


def _nsn(world: World, who: str) -> dict:
    return {"params": {"nsn": world.made["nsn"]}}


C = "/api/cases/cases/{case}"
I = "/api/integrations"  # noqa: E741
CALLS: dict[tuple[str, str, str], Call] = {
    # referrals
    ("referrals", "POST", "/referrals"): Call(
        "staff", "other_leader", _new_request, _at("/api/referrals/referrals")),
    ("referrals", "GET", "/referrals"): Call(
        "staff", "other_leader", _none, _at("/api/referrals/referrals")),
    ("referrals", "GET", "/referrals/{referral_id}"): Call(
        "staff", "other_leader", _none, _at("/api/referrals/referrals/{request}")),
    ("referrals", "PUT", "/referrals/{referral_id}"): Call(
        "staff", "other_leader", _draft_update, _at("/api/referrals/referrals/{draft}")),
    # cases
    ("cases", "GET", "/cases"): Call("cm", "other_lead", _none, _at("/api/cases/cases")),
    ("cases", "GET", "/cases/{case_id}"): Call("cm", "other_lead", _none, _at(C)),
    ("cases", "GET", "/cases/{case_id}/timeline"): Call(
        "cm", "other_lead", _none, _at(C + "/timeline")),
    ("cases", "GET", "/cases/{case_id}/attendance"): Call(
        "cm", "other_lead", _none, _at(C + "/attendance")),
    ("cases", "GET", "/cases/{case_id}/items/{item_id}"): Call(
        "cm", "other_lead", _none, _at(C + "/items/{note}")),
    ("cases", "POST", "/cases/{case_id}/items/{item_id}/sensitive"): Call(
        "cm", "other_lead", _labels("sensitive", "calendar"),
        _at(C + "/items/{calendar}/sensitive")),
    ("cases", "POST", "/cases/{case_id}/items/{item_id}/share"): Call(
        "cm", "other_lead", _labels("shared", "note"), _at(C + "/items/{note}/share")),
    ("cases", "GET", "/cases/{case_id}/notes"): Call(
        "cm", "other_lead", _none, _at(C + "/notes")),
    ("cases", "POST", "/cases/{case_id}/notes"): Call(
        "cm", "other_lead", _new_text, _at(C + "/notes")),
    ("cases", "PUT", "/cases/{case_id}/notes/{item_id}"): Call(
        "cm", "other_lead", _revision("note"), _at(C + "/notes/{note}")),
    ("cases", "GET", "/cases/{case_id}/correspondence"): Call(
        "cm", "other_lead", _none, _at(C + "/correspondence")),
    ("cases", "POST", "/cases/{case_id}/correspondence"): Call(
        "cm", "other_lead",
        lambda w, who: {"json": {"channel": "message", "direction": "in", "parties": ["Rangi"],
                                 "body": f"From {who}.",
                                 "sent_at": datetime.now(UTC).isoformat()}},
        _at(C + "/correspondence")),
    ("cases", "PUT", "/cases/{case_id}/correspondence/{item_id}"): Call(
        "cm", "other_lead",
        _revision("correspondence", "body", channel="email", direction="out",
                  parties=["Rangi Coverage"], sent_at=datetime.now(UTC).isoformat()),
        _at(C + "/correspondence/{correspondence}")),
    ("cases", "GET", "/cases/{case_id}/activities"): Call(
        "cm", "other_lead", _none, _at(C + "/activities")),
    ("cases", "POST", "/cases/{case_id}/activities"): Call(
        "cm", "other_lead",
        lambda w, who: {"json": {"activity_type": "meeting", "outcome": f"Met ({who}).",
                                 "occurred_at": datetime.now(UTC).isoformat()}},
        _at(C + "/activities")),
    ("cases", "PUT", "/cases/{case_id}/activities/{item_id}"): Call(
        "cm", "other_lead",
        _revision("activity", "outcome", activity_type="call",
                  occurred_at=datetime.now(UTC).isoformat()),
        _at(C + "/activities/{activity}")),
    ("cases", "GET", "/cases/{case_id}/calendar"): Call(
        "cm", "other_lead", _none, _at(C + "/calendar")),
    ("cases", "POST", "/cases/{case_id}/calendar"): Call(
        "cm", "other_lead",
        lambda w, who: {"json": {"title": f"Visit ({who})",
                                 "starts_at": (datetime.now(UTC) + timedelta(days=3)).isoformat()}},
        _at(C + "/calendar")),
    ("cases", "PUT", "/cases/{case_id}/calendar/{item_id}"): Call(
        "cm", "other_lead",
        _revision("calendar", "title",
                  starts_at=(datetime.now(UTC) + timedelta(days=4)).isoformat()),
        _at(C + "/calendar/{calendar}")),
    ("cases", "GET", "/cases/{case_id}/support-plan"): Call(
        "cm", "other_lead", _none, _at(C + "/support-plan")),
    ("cases", "PUT", "/cases/{case_id}/support-plan"): Call(
        "cm", "other_lead",
        lambda w, who: {"json": {"text": f"Plan by {who}.", "version": w.call(
            "cm", "GET", f"/api/cases/cases/{_case(w)}/support-plan")["version"]}},
        _at(C + "/support-plan")),
    ("cases", "GET", "/cases/{case_id}/comments"): Call(
        "cm", "other_lead", _none, _at(C + "/comments")),
    ("cases", "POST", "/cases/{case_id}/comments"): Call(
        "cm", "other_lead", _new_text, _at(C + "/comments")),
    ("cases", "PUT", "/cases/{case_id}/comments/{item_id}"): Call(
        "cm", "other_lead", _revision("comment"), _at(C + "/comments/{comment}")),
    ("cases", "GET", "/cases/{case_id}/team"): Call(
        "cm", "other_lead", _none, _at(C + "/team")),
    ("cases", "POST", "/cases/{case_id}/team"): Call(
        "lead", "other_lead", lambda w, who: {"json": {"account_id": w.ids["cm2"]}},
        _at(C + "/team")),
    ("cases", "DELETE", "/cases/{case_id}/team/{account_id}"): Call(
        "lead", "other_lead", _none, _at(C + "/team/{cm2}")),
    ("cases", "POST", "/cases/{case_id}/documents"): Call(
        "cm", "other_lead", _upload, _at(C + "/documents")),
    ("cases", "GET", "/cases/{case_id}/documents"): Call(
        "cm", "other_lead", _none, _at(C + "/documents")),
    ("cases", "POST", "/cases/{case_id}/documents/{document_id}/versions"): Call(
        "cm", "other_lead", _revise_document, _at(C + "/documents/{document}/versions")),
    ("cases", "GET", "/cases/{case_id}/documents/{document_id}/content"): Call(
        "cm", "other_lead", _none, _at(C + "/documents/{document}/content")),
    # integrations
    ("integrations", "POST", "/information-requests"): Call(
        "investigator", "cm",
        lambda w, who: {"json": {"agency": "msd", "case_id": _case(w), "subject": "student",
                                 "fields": {"full_name": "Mere Coverage"}}},
        _at(I + "/information-requests")),
    ("integrations", "GET", "/information-requests"): Call(
        "investigator", "other_lead", _none, _at(I + "/information-requests")),
    ("integrations", "GET", "/information-requests/{request_id}"): Call(
        "investigator", "other_lead", _none, _at(I + "/information-requests/{info}")),
    ("integrations", "GET", "/partner/information-requests"): Call(
        "agency_client", "other_agency_client", _none, _at(I + "/partner/information-requests")),
    ("integrations", "GET", "/partner/information-requests/{request_id}"): Call(
        "agency_client", "other_agency_client", _none,
        _at(I + "/partner/information-requests/{info}")),
    ("integrations", "POST", "/partner/information-requests/{request_id}/answer"): Call(
        "agency_client", "other_agency_client",
        lambda w, who: {"json": {"found": True, "location": {"address": "2 Totara Ave"}}},
        _at(I + "/partner/information-requests/{info}/answer")),
    # the agency answers first: a location is recorded on an answered request
    ("integrations", "POST", "/information-requests/{request_id}/location"): Call(
        "investigator", "other_lead",
        lambda w, who: {"json": {"location": {"address": f"1 Rimu St ({who})"}}},
        _at(I + "/information-requests/{info}/location")),
    ("integrations", "GET", "/partner/shares"): Call(
        "agency_client", "other_agency_client", _none, _at(I + "/partner/shares")),
    ("integrations", "GET", "/partner/shares/{share_id}"): Call(
        "agency_client", "other_agency_client", _none, _at(I + "/partner/shares/{share}")),
    ("integrations", "POST", "/cases/{case_id}/consents"): Call(
        "cm", "other_lead", lambda w, who: {"json": _consent(w)},
        _at(I + "/cases/{case}/consents")),
    ("integrations", "GET", "/cases/{case_id}/consents"): Call(
        "cm", "other_lead", _none, _at(I + "/cases/{case}/consents")),
    ("integrations", "POST", "/consents/{consent_id}/withdraw"): Call(
        "cm", "other_lead", lambda w, who: {"json": {"note": f"withdrawn ({who})"}},
        _at(I + "/consents/{consent2}/withdraw")),
    ("integrations", "POST", "/cases/{case_id}/shares"): Call(
        "cm", "other_lead",
        lambda w, who: {"json": {"party_org_id": w.orgs["agency"], "purpose": "third_party",
                                 "fields": SHARED}},
        _at(I + "/cases/{case}/shares")),
    ("integrations", "GET", "/cases/{case_id}/shares"): Call(
        "cm", "other_lead", _none, _at(I + "/cases/{case}/shares")),
    ("integrations", "GET", "/disclosures"): Call(
        "privacy", "contracts", lambda w, who: {"params": {"case_id": _case(w)}},
        _at(I + "/disclosures")),
    # retention: the privacy officer's view of a student
    ("retention", "GET", "/audit/student-access"): Call(
        "privacy", "investigator", _nsn, _at("/api/retention/audit/student-access")),
}  # fmt: skip


# --- The walk -----------------------------------------------------------------------------


@dataclass
class Made:
    """One call: who, which route, what the server answered and the trace it names."""

    key: tuple[str, str, str]
    caller: str
    permitted: bool
    status: int
    server_trace: str | None
    chosen_trace: str
    at: float = field(default_factory=time.monotonic)


@pytest.fixture(scope="module")
def agencies(system):
    """The agency simulator on the agencies' default address (settings: 127.0.0.1:8190),
    receiving only: the test's agency client answers through the partner API itself."""
    process = subprocess.Popen(
        [sys.executable, "-m", "acms_integrations.simulator", "--port", "8190"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: _get_or_none("http://127.0.0.1:8190/_received"),
            lambda r: r is not None and r.status_code == 200,
            "the agency simulator",
            timeout=60,
        )
        yield
    finally:
        process.terminate()
        process.wait(10)


def _get_or_none(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None


@pytest.fixture(scope="module")
def gateway(system):
    with httpx.Client(base_url=system.gateway_url, timeout=60) as client:
        yield client


def _trace_of(response: httpx.Response) -> str | None:
    parts = response.headers.get("traceresponse", "").split("-")
    return parts[1] if len(parts) == 4 else None


def _call(world: World, key: tuple[str, str, str], call: Call, who: str, permitted: bool) -> Made:
    chosen = uuid.uuid4().hex
    kwargs = call.request(world, who)
    headers = {**world.headers(who), **kwargs.pop("headers", {}),
               "traceparent": f"00-{chosen}-{uuid.uuid4().hex[:16]}-01"}  # fmt: skip
    response = world.gateway.request(key[1], call.path(world), headers=headers, **kwargs)
    if permitted:
        assert response.status_code < 300, (key, who, response.status_code, response.text[:400])
    else:
        assert response.status_code in (200, 403, 404), (key, who, response.text[:400])
        if response.status_code == 200:  # a list: nothing of the world's records in it
            for record in (world.made["case"], world.made["request"]["id"]):
                assert record not in response.text, (key, who, "a refused caller saw it")
    return Made(key, who, permitted, response.status_code, _trace_of(response), chosen)


def _matches(entry: dict, made: Made) -> list[str]:
    """What is wrong with `entry` as the record of `made` (empty: it matches)."""
    service, method, path = made.key
    payload = entry["envelope"].get("payload", {})
    problems = []
    if entry["trace_id"] != made.server_trace:
        problems.append(f"trace {entry['trace_id']} is not the server's {made.server_trace}")
    if entry["event_type"] == "ApiRequestAudited":
        if (payload.get("service"), payload.get("method"), payload.get("route")) != (
            service, method, path,
        ):  # fmt: skip
            problems.append(f"route {payload.get('method')} {payload.get('route')}")
    elif payload.get("service") != service:
        problems.append(f"service {payload.get('service')}")
    if made.permitted:
        if entry["outcome"] != "allowed":
            problems.append(f"outcome {entry['outcome']}")
        if not entry["rule"]:
            problems.append("no granting rule")
        else:  # the policy rules that granted it, never the check that was run
            unknown = [r for r in entry["rule"].split(",") if r not in POLICY_RULES]
            if unknown:
                problems.append(f"granting rule {unknown} names no rule of the policies")
        if not any(a.get("tiers") for a in entry["accesses"]) and entry["event_type"] == (
            "ApiRequestAudited"
        ):
            problems.append("no tiers returned")
    elif entry["outcome"] not in ("denied", "not_found", "none"):
        problems.append(f"outcome {entry['outcome']} for a refused call")
    return problems


@pytest.mark.timeout(900)
def test_every_personal_information_route_leaves_a_matching_audit_record(system, gateway, agencies):
    started = time.monotonic()
    operations: dict[tuple[str, str, str], str] = {}
    for service in SERVICES:
        doc = gateway.get(f"/api/{service}/openapi.json")
        assert doc.status_code == 200, doc.text
        operations |= personal_information_operations(service, doc.json())
    unfilled = sorted(set(operations) - set(CALLS))
    stale = sorted(set(CALLS) - set(operations))
    assert not unfilled, "routes returning personal information the walker cannot call:\n" + (
        "\n".join(f"  {s} {m} {p} ({operations[(s, m, p)]})" for s, m, p in unfilled)
    )
    assert not stale, f"calls for routes that no longer return personal information: {stale}"

    world = build_world(system, gateway)
    prepared = time.monotonic()
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    made: list[Made] = []
    for key, call in CALLS.items():  # in order: the team is added before it is removed
        made.append(_call(world, key, call, call.permitted, True))
        made.append(_call(world, key, call, call.refused, False))
    for m in made:
        assert m.server_trace and m.server_trace != m.chosen_trace, (m.key, m.caller, m)

    # The trail, through the privacy officer's view, one search per caller account.
    officer = world.headers("privacy")
    pending = {id(m): m for m in made}
    found: dict[int, dict] = {}
    wrong: dict[int, list[str]] = {}
    deadline = time.monotonic() + TRAIL_SECONDS
    while pending and time.monotonic() < deadline:
        for caller in sorted({m.caller for m in pending.values()}):
            page = gateway.get(
                "/api/retention/audit/events",
                params={"account_id": world.ids[caller], "since": since, "limit": 1000},
                headers=officer,
            )
            assert page.status_code == 200, page.text
            by_trace = {e["trace_id"]: e for e in page.json()["entries"]}
            assert not any(m.chosen_trace in by_trace for m in made), "a chosen trace id"
            for m in [m for m in pending.values() if m.caller == caller]:
                entry = by_trace.get(m.server_trace)
                if entry is not None:
                    wrong[id(m)] = _matches(entry, m)
                    found[id(m)] = entry
                    del pending[id(m)]
        if pending:
            time.sleep(1)
    routes = len(CALLS)
    matched = sum(1 for m in made if id(m) in found and not wrong.get(id(m)))
    print(
        f"audit coverage: {routes} routes x 2 callers = {len(made)} calls, {matched} matched "
        f"({100 * matched / len(made):.0f} %); world {prepared - started:.0f} s, "
        f"calls and trail {time.monotonic() - prepared:.0f} s"
    )
    missing = [f"  {m.key} as {m.caller} ({m.status}): no record" for m in pending.values()]
    bad = [
        f"  {m.key} as {m.caller} ({m.status}): {', '.join(wrong[id(m)])}"
        for m in made
        if wrong.get(id(m))
    ]
    assert matched == len(made), "\n".join(["audit records missing or wrong:", *missing, *bad])
