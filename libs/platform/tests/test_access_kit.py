"""Rules of the access kit that need no I/O: who may act on a token now, what a tiered
view shows, how a plan's missing ids become SQL, and the one error base."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from cerbos.sdk.model import PlanResourcesResponse
from fastapi import APIRouter
from sqlalchemy import Column, MetaData, String, Table, Uuid, exists, select
from sqlalchemy.dialects import postgresql

from acms_platform.access import Account, Membership, TieredView, plan_condition, tier_field
from acms_platform.access.actor import actor_of
from acms_platform.errors import NotAuthenticated, NotFound
from acms_platform.testing.probe import probe_client
from acms_platform.tokens import AccessClaims, InvalidToken, Principal, principal_from_claims

ORG = uuid.uuid4()


def _principal(account_id: uuid.UUID, roles=("school_leader",), org=ORG) -> Principal:
    return Principal(str(account_id), org, tuple(roles))


def _account(account_id: uuid.UUID, **changes) -> Account:
    values = {
        "account_id": account_id,
        "organisation_id": ORG,
        "disabled": False,
        "roles": frozenset({"school_leader"}),
        "org_type": "school",
    }
    return Account(**(values | changes))


def test_an_account_not_known_to_the_service_is_refused():
    with pytest.raises(NotAuthenticated, match="not known"):
        actor_of(_principal(uuid.uuid4()), None)


def test_a_disabled_account_is_refused_while_its_token_is_valid():
    account = uuid.uuid4()
    with pytest.raises(NotAuthenticated, match="disabled"):
        actor_of(_principal(account), _account(account, disabled=True))


def test_a_token_listing_a_role_revoked_since_is_refused():
    account = uuid.uuid4()
    revoked = _account(account, roles=frozenset(), revoked_roles=frozenset({"school_leader"}))
    with pytest.raises(NotAuthenticated, match="revoked"):
        actor_of(_principal(account), revoked)


def test_where_roles_are_exact_a_role_no_longer_held_is_refused():
    account = uuid.uuid4()
    exact = _account(account, roles=frozenset({"school_staff"}), roles_exact=True)
    with pytest.raises(NotAuthenticated, match="school_leader"):
        actor_of(_principal(account, roles=("school_leader",)), exact)


def test_a_token_of_another_organisation_than_the_accounts_is_refused():
    account = uuid.uuid4()
    with pytest.raises(NotAuthenticated, match="organisation"):
        actor_of(_principal(account, org=uuid.uuid4()), _account(account))


def test_a_role_granted_after_the_token_is_not_needed_for_the_token_to_work():
    account = uuid.uuid4()
    more = _account(account, roles=frozenset({"school_leader", "school_staff"}))
    actor = actor_of(_principal(account), more)
    assert actor.roles == ("school_leader",)
    assert actor.policy_principal.attr == {
        "monitored_asp_ids": [],
        "is_service": False,
        "org_id": str(ORG),
        "org_type": "school",
    }


def test_claims_identity_signs_are_read_back_as_the_same_principal():
    account = uuid.uuid4()
    claims = AccessClaims.issue(
        subject=str(account),
        organisation_id=ORG,
        roles=["b", "a"],
        lifetime_seconds=60,
        token_id="t1",
    ).encode_claims()
    principal = principal_from_claims(claims)
    assert principal == Principal(str(account), ORG, ("a", "b"), False, "t1")


@pytest.mark.parametrize(
    "bad", [{"roles": "school_leader"}, {"roles": [1]}, {"org": "not-a-uuid"}, {"sub": ""}]
)
def test_malformed_claims_are_an_invalid_token(bad):
    claims = {"sub": str(uuid.uuid4()), "iat": 1, "exp": 2, "roles": []} | bad
    with pytest.raises(InvalidToken):
        principal_from_claims(claims)


class RequestView(TieredView):
    id: str | None = tier_field("basic")
    nsn: str | None = tier_field("summary")
    school_id: str | None = tier_field("basic", "school")
    reason: str | None = tier_field("summary", or_in=["full"])
    tiers: list[str]


def _groups() -> dict[str, dict[str, object]]:
    return {"basic": {"id": "r1"}, "summary": {"nsn": "123"}, "basic+school": {"school_id": "s"}}


def test_fields_of_tiers_not_granted_are_absent_not_null():
    view = RequestView.project(["basic"], _groups(), tiers=["basic"])
    assert view.model_dump(exclude_unset=True) == {"id": "r1", "tiers": ["basic"]}


def test_a_field_of_two_tiers_needs_both():
    view = RequestView.project(["basic", "school"], _groups(), tiers=[])
    assert view.model_dump(exclude_unset=True) == {"id": "r1", "school_id": "s", "tiers": []}


def test_a_field_filed_under_the_wrong_tier_raises_rather_than_leaks():
    with pytest.raises(ValueError, match="nsn"):
        RequestView.project(["basic"], {"basic": {"nsn": "123"}}, tiers=[])


def test_a_field_of_either_tier_is_shown_with_either():
    groups = {"summary": {"reason": "a"}, "full": {"reason": "a"}}
    view = RequestView.project(["full"], groups, tiers=[])
    assert view.model_dump(exclude_unset=True) == {"reason": "a", "tiers": []}
    assert RequestView.project(["basic"], {"full": {"reason": "a"}}, tiers=[]).reason is None


def test_the_openapi_schema_names_each_fields_tier():
    properties = RequestView.model_json_schema()["properties"]
    assert properties["nsn"]["x-tier"] == "summary"
    assert properties["school_id"]["x-tier"] == "basic+school"


records = Table(
    "records",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("school_id", Uuid),
    Column("status", String),
)


def _plan(operator: str, value: str) -> PlanResourcesResponse:
    expression = {
        "operator": operator,
        "operands": [{"variable": "request.resource.attr.school_id"}, {"value": value}],
    }
    document = {
        "requestId": "1",
        "action": "view",
        "resourceKind": "record",
        "policyVersion": "default",
        "filter": {"kind": "KIND_CONDITIONAL", "condition": {"expression": expression}},
    }
    return PlanResourcesResponse.from_dict(document)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("operator", "sql"), [("eq", "IS NULL"), ("ne", "IS NOT NULL")])
def test_a_missing_id_in_a_plan_is_null_in_sql(operator, sql):
    condition = plan_condition(
        _plan(operator, ""), records, {"request.resource.attr.school_id": records.c.school_id}
    )
    compiled = str(condition.compile(dialect=postgresql.dialect()))
    assert compiled == f"records.school_id {sql}"


def test_an_unmapped_attribute_in_a_plan_raises():
    with pytest.raises(KeyError):
        plan_condition(_plan("eq", ""), records, {"request.resource.attr.status": records.c.status})


members = Table("members", MetaData(), Column("record_id", Uuid), Column("account_id", String))


def _membership_plan() -> PlanResourcesResponse:
    expression = {
        "operator": "in",
        "operands": [{"value": "acc-1"}, {"variable": "request.resource.attr.member_ids"}],
    }
    document = {
        "requestId": "1",
        "action": "view",
        "resourceKind": "record",
        "policyVersion": "default",
        "filter": {"kind": "KIND_CONDITIONAL", "condition": {"expression": expression}},
    }
    return PlanResourcesResponse.from_dict(document)  # type: ignore[attr-defined]


def test_a_membership_attribute_in_a_plan_is_an_exists_on_its_table():
    def holds(value):
        return exists(
            select(members.c.record_id).where(
                members.c.record_id == records.c.id, members.c.account_id == value
            )
        )

    condition = plan_condition(
        _membership_plan(), records, {"request.resource.attr.member_ids": Membership(holds)}
    )
    compiled = str(condition.compile(dialect=postgresql.dialect()))
    assert compiled.startswith("EXISTS (SELECT members.record_id")
    assert "members.record_id = records.id" in compiled


def test_a_membership_attribute_compared_otherwise_raises():
    with pytest.raises(TypeError):
        plan_condition(
            _plan("eq", "x"),
            records,
            {"request.resource.attr.school_id": Membership(lambda value: exists())},
        )


router = APIRouter()


@router.get("/missing")
async def missing() -> None:
    raise NotFound("no record 1")


@router.get("/unauthenticated")
async def unauthenticated() -> None:
    raise NotAuthenticated("account disabled")


@pytest.fixture
def client() -> httpx.AsyncClient:
    return probe_client(router, Path(__file__).parent)


@pytest.mark.asyncio
async def test_every_platform_error_answers_with_its_status_and_detail(client):
    response = await client.get("/missing")
    assert (response.status_code, response.json()) == (404, {"detail": "no record 1"})
    response = await client.get("/unauthenticated")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
