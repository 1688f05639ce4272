"""Fixtures of integrations' tests: a Cerbos PDP serving integrations' policies, the
service on real PostgreSQL and Kafka, tokens signed by a test key the service trusts, and
organisations fed in through the service's own handlers of identity's events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import pytest_asyncio

from acms_contracts import EventEnvelope
from acms_contracts.identity import OrganisationRegistered
from acms_contracts.vocabulary import OrgType, Role
from acms_integrations.app import create
from acms_integrations.handlers import handlers
from acms_platform.testing.accounts import known_account
from acms_platform.testing.openapi import check_responses
from acms_platform.testing.pdp import private_pdp
from acms_platform.testing.plugin import create_database, settings_for_test
from acms_platform.testing.tokens import TestSigner

POLICIES = Path(__file__).resolve().parents[1] / "policies"

ORGANISATIONS: list[tuple[str, OrgType]] = [
    ("ministry", OrgType.MINISTRY_NATIONAL),
    ("school_a", OrgType.SCHOOL),
    ("school_b", OrgType.SCHOOL),
    ("asp_a", OrgType.ASP),
    ("agency", OrgType.AGENCY),
]

# name: (organisation, roles, machine identity?)
CALLERS: dict[str, tuple[str, list[Role], bool]] = {
    "enrol_feed": ("ministry", [Role.ENROL_FEED], True),
    "enrol_person": ("ministry", [Role.ENROL_FEED], False),  # identity refuses it; so do we
    "admin": ("ministry", [Role.PLATFORM_ADMIN], False),
    "investigator": ("ministry", [Role.CENTRAL_INVESTIGATION], False),
    "leader_a": ("school_a", [Role.SCHOOL_LEADER], False),
    "agency_client": ("agency", [Role.AGENCY_CLIENT], True),
}


@pytest.fixture(scope="session")
def integrations_pdp(infrastructure, tmp_path_factory) -> Iterator[str]:
    with private_pdp(POLICIES, tmp_path_factory.mktemp("cerbos") / "cerbos.log") as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def integrations(infrastructure, integrations_pdp) -> AsyncIterator[httpx.AsyncClient]:
    """The service, started once for the session (its Kafka consumer takes seconds to join)."""
    settings = settings_for_test("integrations", infrastructure, cerbos_url=integrations_pdp)
    await create_database(settings)
    app = create(settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        await app.state.runtime.wait_started()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://integrations"
        )
        await stack.enter_async_context(client)
        client.app = app  # type: ignore[attr-defined]
        check_responses(client)  # every answer of every test against its OpenAPI schema
        yield client


@dataclass
class World:
    client: httpx.AsyncClient
    orgs: dict[str, UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    signer: TestSigner = field(default_factory=TestSigner)

    @property
    def runtime(self) -> Any:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    def as_(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    async def add_organisation(self, name: str, org_type: OrgType) -> None:
        event = OrganisationRegistered(
            organisation_id=uuid.uuid4(), org_type=org_type, name=f"Test {name}"
        )
        _, handler = handlers.handlers[event.event_type]
        async with self.runtime.database.transaction() as session:
            await handler(event, EventEnvelope.wrap(event, producer="identity"), session)
        self.orgs[name] = event.organisation_id


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def world(integrations) -> World:
    world = World(integrations)
    world.signer.trusted_by(integrations.app)  # type: ignore[attr-defined]
    for name, org_type in ORGANISATIONS:
        await world.add_organisation(name, org_type)
    for name, (org, roles, machine) in CALLERS.items():
        account = await known_account(
            integrations.app,
            world.signer,
            roles,
            organisation_id=world.orgs[org],
            is_service=machine,
        )
        world.tokens[name] = account.token
    return world
