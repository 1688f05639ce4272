"""The attributes the services really send the PDP fit `policies/_schemas`, so the schemas
cannot drift from the code: each kind's real builder, for a representative principal and
record, is validated as Cerbos (schema.enforcement: reject) will validate it."""

from __future__ import annotations

import json
from types import SimpleNamespace
from uuid import uuid4

import pytest
import yaml

from acms_cases.context import case_resource
from acms_cases.history import HistoryHolders
from acms_cases.schemas import CaseStatus
from acms_contracts.vocabulary import OrgType, Role
from acms_identity.service.organisations import _resource as organisation_resource
from acms_identity.service.role_grants import grant_resource
from acms_identity.service.staff_directory import account_resource
from acms_integrations.agency_requests import new_request_resource, request_resource
from acms_integrations.consent import _case_attr, _share_resource
from acms_integrations.disclosures import LOG
from acms_integrations.service import ATTENDANCE_FEED, FEED, feed_caller
from acms_platform.access import Actor
from acms_platform.policy import PolicyPrincipal, PolicyResource
from acms_platform.testing.infra import REPO_ROOT
from acms_platform.testing.pdp import SCHEMAS
from acms_platform.testing.policy_schemas import schema_errors
from acms_platform.tokens import Principal
from acms_referrals.domain import Status as ReferralStatus
from acms_referrals.service.context import new_referral_resource, referral_resource
from acms_retention.service import TRAIL

SCHOOL, ASP, ACCOUNT = uuid4(), uuid4(), uuid4()


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text())


def principals() -> list[PolicyPrincipal]:
    person = Principal(str(ACCOUNT), SCHOOL, ("school_leader",))
    machine = Principal(str(uuid4()), uuid4(), ("enrol_feed",), is_service=True)
    return [
        Actor(person, ACCOUNT, SCHOOL, "school", None, "Waikato", ()).policy_principal,
        Actor(person, ACCOUNT, uuid4(), "isp", SCHOOL, None, ()).policy_principal,
        Actor(person, ACCOUNT, uuid4(), "ministry_regional", None, "", ("a",)).policy_principal,
        Actor(person, ACCOUNT, None).policy_principal,  # an organisation unknown here
        feed_caller(machine),
        feed_caller(Principal("client", None, ("enrol_feed",), is_service=True)),
    ]


def referral_row(**overrides: object) -> SimpleNamespace:
    values = {
        "id": uuid4(),
        "status": "assigned",
        "school_id": SCHOOL,
        "school_region": "Waikato",
        "school_from_enrol": False,
        "created_by": str(ACCOUNT),
        "creator_org_id": SCHOOL,
        "provider_id": ASP,
        "assignee_id": uuid4(),
        "followed_student": False,
    }
    return SimpleNamespace(**{**values, **overrides})


def case_row(**overrides: object) -> SimpleNamespace:
    values = {
        "id": uuid4(),
        "status": "active",
        "school_id": SCHOOL,
        "student_school_id": SCHOOL,
        "provider_id": ASP,
        "case_manager_id": uuid4(),
        "primary_contact_id": None,
        "prosecution_notified": False,
    }
    return SimpleNamespace(**{**values, **overrides})


def relationship(**overrides: object) -> SimpleNamespace:
    values = {"provider_id": ASP, "case_manager_id": uuid4(), "open": True}
    return SimpleNamespace(**{**values, **overrides})


def resources() -> list[PolicyResource]:
    """Every kind, as each builder the services use makes it."""
    case = case_resource(case_row(), [uuid4()], HistoryHolders([str(uuid4())], [str(uuid4())]))
    reallocated = PolicyResource(case.kind, case.id, {**case.attr, "target_provider_type": "isp"})
    grant = SimpleNamespace(
        id=uuid4(), account_id=uuid4(), role="central_investigation", requested_by=uuid4()
    )
    share = SimpleNamespace(
        id=uuid4(),
        provider_id=ASP,
        case_manager_id=None,
        open=False,
        recipient_org_id=uuid4(),
        consent_valid=True,
    )
    return [
        referral_resource(referral_row()),
        referral_resource(
            referral_row(school_id=None, school_region=None, provider_id=None, assignee_id=None)
        ),
        referral_resource(referral_row(), target_provider_type="asp"),
        case,
        case_resource(case_row(status="closed", case_manager_id=None, student_school_id=None)),
        reallocated,
        account_resource(ACCOUNT, SCHOOL, "school", ["school_staff"], role="school_leader"),
        account_resource(uuid4(), SCHOOL, "school", ["school_leader"], org_has_lead=False),
        grant_resource(grant, "ministry_national"),
        organisation_resource(SCHOOL),
        request_resource(SimpleNamespace(id=uuid4(), agency_org_id=uuid4(), status="delivered")),
        PolicyResource("agency_link", "msd"),
        PolicyResource("consent", str(uuid4()), _case_attr(relationship())),
        PolicyResource("share", "case:x", _case_attr(relationship(case_manager_id=None))),
        _share_resource(share),
        FEED,
        ATTENDANCE_FEED,
        LOG,
        TRAIL,
    ]


# Made before the record exists: their policies skip the resource schema for `create`
# (ignoreWhen), so only the names and types are checked here.
CREATING = {
    "referral": [new_referral_resource(SCHOOL, "Waikato"), new_referral_resource(None, None)],
    "agency_request": [new_request_resource(None), new_request_resource(uuid4())],
}


def resource_policies() -> dict[str, dict]:
    found = {}
    for path in sorted(REPO_ROOT.glob("services/*/policies/*.yaml")):
        document = yaml.safe_load(path.read_text())
        if "resourcePolicy" in document:
            found[document["resourcePolicy"]["resource"]] = document["resourcePolicy"]
    return found


@pytest.mark.parametrize("principal", principals(), ids=lambda p: str(sorted(p.attr)))
def test_every_principal_the_services_send_fits_the_principal_schema(principal):
    assert schema_errors(schema("principal.json"), principal.attr) == []


@pytest.mark.parametrize("resource", resources(), ids=lambda r: f"{r.kind}:{sorted(r.attr)}")
def test_every_resource_the_services_send_fits_its_kinds_schema(resource):
    assert schema_errors(schema(f"{resource.kind}.json"), resource.attr) == []


@pytest.mark.parametrize("kind", sorted(CREATING))
def test_a_record_being_made_has_the_schemas_names_and_types(kind):
    policy = resource_policies()[kind]
    ignored = policy["schemas"]["resourceSchema"].get("ignoreWhen", {}).get("actions", [])
    for resource in CREATING[kind]:
        errors = schema_errors(schema(f"{kind}.json"), resource.attr, required=False)
        assert errors == []
        if schema_errors(schema(f"{kind}.json"), resource.attr):
            assert ignored == ["create"], f"{kind}: an incomplete create is rejected"


def test_every_resource_kind_with_a_policy_is_built_here():
    assert {r.kind for r in resources()} == set(resource_policies())


def test_the_schemas_vocabularies_are_the_codes():
    org_types = sorted(t.value for t in OrgType)
    roles = sorted(r.value for r in Role)
    assert sorted(schema("principal.json")["properties"]["org_type"]["enum"]) == org_types
    account = schema("identity_account.json")["properties"]
    assert sorted(account["org_type"]["enum"]) == org_types
    assert sorted(account["roles"]["items"]["enum"]) == roles
    assert sorted(account["role"]["enum"]) == sorted(["", *roles])
    grant = schema("identity_role_grant.json")["properties"]
    assert sorted(grant["role"]["enum"]) == roles
    assert sorted(grant["org_type"]["enum"]) == org_types
    referral = schema("referral.json")["properties"]
    assert sorted(referral["status"]["enum"]) == sorted(s.value for s in ReferralStatus)
    assert sorted(schema("case.json")["properties"]["status"]["enum"]) == sorted(
        s.value for s in CaseStatus
    )
    for kind in ("referral.json", "case.json"):
        target = schema(kind)["properties"]["target_provider_type"]["enum"]
        assert sorted(target) == sorted(["", *org_types])
