"""Fixtures of identity's tests: a Cerbos PDP serving identity's policies, the service
on real PostgreSQL and Kafka, and a small world of organisations and accounts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import pytest_asyncio

from acms_contracts.vocabulary import OrgType, Role
from acms_identity import repository, signing
from acms_identity.app import create
from acms_identity.bootstrap import system_context
from acms_identity.local_mail import token_for
from acms_identity.schemas import Activate, AssignCatchment, CreateAccount, RegisterOrganisation
from acms_identity.service import accounts, organisations
from acms_platform.testing.pdp import private_pdp

POLICIES = Path(__file__).resolve().parents[1] / "policies"


@pytest.fixture(scope="session")
def identity_pdp(infrastructure, tmp_path_factory) -> Iterator[str]:
    """A PDP of our own serving exactly identity's policies (the shared one may have been
    started before these policies existed). Its URL."""
    with private_pdp(POLICIES, tmp_path_factory.mktemp("cerbos") / "cerbos.log") as url:
        yield url


@dataclass
class World:
    """Organisations and accounts of a small country, and a client per account."""

    client: httpx.AsyncClient
    orgs: dict[str, UUID] = field(default_factory=dict)
    accounts: dict[str, UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    async def system(self, use_case, *arguments):  # type: ignore[no-untyped-def]
        """Run a use case as the system itself (no actor), committing."""
        runtime = self.client.app.state.runtime  # type: ignore[attr-defined]
        async with runtime.database.transaction() as session:
            ctx = system_context(runtime.database, session, runtime.settings)
            return await use_case(ctx, None, *arguments)

    def email_of(self, name: str, org: str) -> str:
        return f"{name}.{self.orgs[org].hex[:8]}@test.example.org"

    async def token_for(self, name: str) -> str:
        runtime = self.client.app.state.runtime  # type: ignore[attr-defined]
        async with runtime.database.transaction() as session:
            account = await repository.get_account(session, self.accounts[name])
            assert account is not None
            return await signing.sign_access_token(
                session,
                subject=str(account.id),
                organisation_id=str(account.organisation_id),
                roles=list(account.roles),
            )

    async def add_account(
        self, name: str, org: str, roles: list[Role], password: str | None = None
    ) -> UUID:
        """Invite the account (as the system); with `password`, also do what the invitee
        does: read the token from the mail that arrived, and activate (`POST /activate`)."""
        email = self.email_of(name, org)
        command = CreateAccount(
            organisation_id=self.orgs[org], display_name=f"Test {name}", email=email, roles=roles
        )
        created = await self.system(accounts.create_account, command)
        self.accounts[name] = created.id
        self.tokens[name] = await self.token_for(name)
        if password is not None:
            await self.activate(email, password)
        return created.id

    async def activate(self, email: str, password: str, purpose: str = "invitation") -> None:
        token = await asyncio.to_thread(token_for, email, None, purpose)
        response = await self.client.post(
            "/activate", json=Activate(token=token, password=password).model_dump()
        )
        assert response.status_code == 204, response.text


ORGANISATIONS: list[tuple[str, OrgType, str | None]] = [
    ("ministry", OrgType.MINISTRY_NATIONAL, None),
    ("region", OrgType.MINISTRY_REGIONAL, "Waikato"),
    ("school_a", OrgType.SCHOOL, "Waikato"),
    ("school_b", OrgType.SCHOOL, "Waikato"),
    ("asp_a", OrgType.ASP, None),
    ("asp_b", OrgType.ASP, None),
    ("agency", OrgType.AGENCY, None),
]

ACCOUNTS: list[tuple[str, str, list[Role]]] = [
    ("admin", "ministry", [Role.PLATFORM_ADMIN]),
    ("contracts", "ministry", [Role.NATIONAL_CONTRACTS]),
    ("investigator", "ministry", [Role.CENTRAL_INVESTIGATION]),
    ("contract_manager", "region", [Role.REGIONAL_CONTRACT_MANAGER]),
    ("leader_a", "school_a", [Role.SCHOOL_LEADER]),
    ("office_a", "school_a", [Role.SCHOOL_OFFICE_SUPPORT]),
    ("teacher_a", "school_a", [Role.SCHOOL_STAFF]),
    ("leader_b", "school_b", [Role.SCHOOL_LEADER]),
    ("teacher_b", "school_b", [Role.SCHOOL_STAFF]),
    ("asp_lead_a", "asp_a", [Role.ASP_WORKFLOW_LEAD]),
    ("case_manager_a", "asp_a", [Role.ASP_CASE_MANAGER]),
    ("case_manager_b", "asp_b", [Role.ASP_CASE_MANAGER]),
    ("asp_lead_b", "asp_b", [Role.ASP_WORKFLOW_LEAD]),
    ("isp_lead_a", "isp_a", [Role.ISP_WORKFLOW_LEAD]),
    ("isp_worker_a", "isp_a", []),
]


@pytest_asyncio.fixture(loop_scope="session")
async def identity(start_service, identity_pdp) -> httpx.AsyncClient:
    # Every test client is 127.0.0.1: the per-client throttle is tested on clients of its
    # own (test_sign_in_throttle.py), not on the address every test shares.
    return await start_service(
        "identity", create, cerbos_url=identity_pdp, sign_in_free_failures_client=100_000
    )


@pytest_asyncio.fixture(loop_scope="session")
async def world(identity) -> World:
    world = World(identity)
    for name, org_type, region in ORGANISATIONS:
        command = RegisterOrganisation(org_type=org_type, name=f"Test {name}", region=region)
        world.orgs[name] = (await world.system(organisations.register_organisation, command)).id
    isp = RegisterOrganisation(
        org_type=OrgType.ISP, name="Test ISP", parent_school_id=world.orgs["school_a"]
    )
    world.orgs["isp_a"] = (await world.system(organisations.register_organisation, isp)).id
    for school in ("school_a", "school_b"):
        catchment = AssignCatchment(asp_id=world.orgs["asp_a"], effective_from="2020-01-01")
        await world.system(
            lambda ctx, actor, c, s=school: organisations.assign_catchment(
                ctx, actor, world.orgs[s], c
            ),
            catchment,
        )
    for name, org, roles in ACCOUNTS:
        await world.add_account(name, org, roles)
    return world
