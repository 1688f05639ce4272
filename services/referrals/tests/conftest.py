"""Fixtures of referrals' tests: a Cerbos PDP serving referrals' policies, the service on
real PostgreSQL and Kafka, tokens signed by a test key, and a small world of
organisations and accounts fed in through identity's events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from acms_contracts.identity import MonitoringLinkAdded
from acms_contracts.vocabulary import OrgType, Role
from acms_platform.testing.openapi import check_responses
from acms_platform.testing.pdp import private_pdp
from acms_platform.testing.plugin import create_database, settings_for_test
from acms_referrals.app import create

from .world import World

POLICIES = Path(__file__).resolve().parents[1] / "policies"


@pytest.fixture(scope="session")
def referrals_pdp(infrastructure, tmp_path_factory) -> Iterator[str]:
    """A PDP of our own serving exactly referrals' policies (the shared one may have been
    started before these policies existed). Its URL."""
    with private_pdp(POLICIES, tmp_path_factory.mktemp("cerbos") / "cerbos.log") as url:
        yield url


ORGANISATIONS: list[tuple[str, OrgType, str | None, str | None]] = [
    ("ministry", OrgType.MINISTRY_NATIONAL, None, None),
    ("region", OrgType.MINISTRY_REGIONAL, "Waikato", None),
    ("region_otago", OrgType.MINISTRY_REGIONAL, "Otago", None),
    ("school_a", OrgType.SCHOOL, "Waikato", None),
    ("school_b", OrgType.SCHOOL, "Waikato", None),
    ("asp_a", OrgType.ASP, None, None),
    ("asp_b", OrgType.ASP, None, None),
    ("isp_a", OrgType.ISP, None, "school_a"),
    ("agency", OrgType.AGENCY, None, None),
]

ACCOUNTS: list[tuple[str, str, list[Role]]] = [
    ("admin", "ministry", [Role.PLATFORM_ADMIN]),
    ("contracts", "ministry", [Role.NATIONAL_CONTRACTS]),
    ("investigator", "ministry", [Role.CENTRAL_INVESTIGATION]),
    ("prosecutor", "ministry", [Role.PROSECUTIONS]),
    ("privacy", "ministry", [Role.PRIVACY_OFFICER]),
    ("records", "ministry", [Role.RECORDS_MANAGER]),
    ("contract_manager", "region", [Role.REGIONAL_CONTRACT_MANAGER]),
    ("regional_staff", "region", [Role.REGIONAL_OFFICE_STAFF]),
    ("otago_staff", "region_otago", [Role.REGIONAL_OFFICE_STAFF]),
    ("leader_a", "school_a", [Role.SCHOOL_LEADER]),
    ("office_a", "school_a", [Role.SCHOOL_OFFICE_SUPPORT]),
    ("teacher_a", "school_a", [Role.SCHOOL_STAFF]),
    ("teacher_a2", "school_a", [Role.SCHOOL_STAFF]),
    ("leader_b", "school_b", [Role.SCHOOL_LEADER]),
    ("office_b", "school_b", [Role.SCHOOL_OFFICE_SUPPORT]),
    ("teacher_b", "school_b", [Role.SCHOOL_STAFF]),
    ("asp_lead_a", "asp_a", [Role.ASP_WORKFLOW_LEAD]),
    ("case_manager_a", "asp_a", [Role.ASP_CASE_MANAGER]),
    ("case_manager_a2", "asp_a", [Role.ASP_CASE_MANAGER]),
    ("asp_lead_b", "asp_b", [Role.ASP_WORKFLOW_LEAD]),
    ("case_manager_b", "asp_b", [Role.ASP_CASE_MANAGER]),
    ("isp_lead_a", "isp_a", [Role.ISP_WORKFLOW_LEAD]),
    ("isp_worker_a", "isp_a", []),
    ("agency_client", "agency", [Role.AGENCY_CLIENT]),
]


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def referrals(infrastructure, referrals_pdp) -> AsyncIterator[httpx.AsyncClient]:
    """The service, started once for the session (as `start_service` does per test): its
    Kafka consumers take seconds to join their group, and the matrix has many tests."""
    settings = settings_for_test(
        "referrals", infrastructure, suite="referrals", cerbos_url=referrals_pdp
    )
    await create_database(settings)
    app = create(settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        await app.state.runtime.wait_started()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://referrals"
        )
        await stack.enter_async_context(client)
        client.app = app  # type: ignore[attr-defined]
        check_responses(client)  # every answer of every test against its OpenAPI schema
        yield client


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def world(referrals) -> World:
    world = World(referrals)
    for name, org_type, region, parent in ORGANISATIONS:
        await world.add_organisation(name, org_type, region, parent)
    for name, org, roles in ACCOUNTS:
        await world.add_account(name, org, roles)
    await world.deliver(
        MonitoringLinkAdded(
            organisation_id=world.orgs["region"],
            account_id=world.accounts["contract_manager"],
            asp_id=world.orgs["asp_a"],
        )
    )
    return world
