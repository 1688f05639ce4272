"""Fixtures of integrations' tests: a Cerbos PDP serving integrations' policies, the
service on real PostgreSQL and Kafka, tokens signed by a test key the service trusts, and
organisations fed in through the service's own handlers of identity's events."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import pytest_asyncio
import uvicorn

from acms_contracts import EventEnvelope
from acms_contracts.cases import CaseOpened
from acms_contracts.identity import OrganisationRegistered
from acms_contracts.vocabulary import OrgType, Role
from acms_integrations.app import create
from acms_integrations.handlers import handlers
from acms_platform.testing.accounts import deliver, known_account
from acms_platform.testing.openapi import check_responses
from acms_platform.testing.pdp import private_pdp
from acms_platform.testing.plugin import (
    create_database,
    settings_for_test,
    student_key_for_test,
)
from acms_platform.testing.tokens import TestSigner

POLICIES = Path(__file__).resolve().parents[1] / "policies"
AGENCY_CODES = ("immigration", "msd", "oranga_tamariki", "police")

ORGANISATIONS: list[tuple[str, OrgType]] = [
    ("ministry", OrgType.MINISTRY_NATIONAL),
    ("school_a", OrgType.SCHOOL),
    ("school_b", OrgType.SCHOOL),
    ("asp_a", OrgType.ASP),
    ("asp_b", OrgType.ASP),
    ("agency", OrgType.AGENCY),
    ("immigration", OrgType.AGENCY),
    ("msd", OrgType.AGENCY),
    ("oranga_tamariki", OrgType.AGENCY),
    ("police", OrgType.AGENCY),
    ("transport", OrgType.AGENCY),  # a consented third party (a community transport service)
]

# name: (organisation, roles, machine identity?)
CALLERS: dict[str, tuple[str, list[Role], bool]] = {
    "enrol_feed": ("ministry", [Role.ENROL_FEED], True),
    "enrol_person": ("ministry", [Role.ENROL_FEED], False),  # identity refuses it; so do we
    "admin": ("ministry", [Role.PLATFORM_ADMIN], False),
    "investigator": ("ministry", [Role.CENTRAL_INVESTIGATION], False),
    "leader_a": ("school_a", [Role.SCHOOL_LEADER], False),
    "agency_client": ("agency", [Role.AGENCY_CLIENT], True),
    "privacy": ("ministry", [Role.PRIVACY_OFFICER], False),
    "contracts": ("ministry", [Role.NATIONAL_CONTRACTS], False),
    "msd_client": ("msd", [Role.AGENCY_CLIENT], True),
    "police_client": ("police", [Role.AGENCY_CLIENT], True),
    "immigration_client": ("immigration", [Role.AGENCY_CLIENT], True),
    "transport_client": ("transport", [Role.AGENCY_CLIENT], True),
    "cm_a": ("asp_a", [Role.ASP_CASE_MANAGER], False),
    "cm_a2": ("asp_a", [Role.ASP_CASE_MANAGER], False),
    "lead_a": ("asp_a", [Role.ASP_WORKFLOW_LEAD], False),
    "cm_b": ("asp_b", [Role.ASP_CASE_MANAGER], False),
    "lead_b": ("asp_b", [Role.ASP_WORKFLOW_LEAD], False),
}

# The agency simulator (a real process) and the service on a real port for it to answer.
SIMULATOR_PORT = 8191
SERVED_PORT = 8192
SIMULATOR_URL = f"http://127.0.0.1:{SIMULATOR_PORT}"
AGENCY_SETTINGS = {
    **{f"agency_{a}_url": f"{SIMULATOR_URL}/{a}" for a in AGENCY_CODES},
    "agency_retry_base_seconds": 0.2,
    "agency_retry_max_seconds": 1.0,
    "agency_delivery_poll_seconds": 0.1,
    "agency_delivery_timeout_seconds": 5.0,
}


@pytest.fixture(scope="session")
def integrations_pdp(infrastructure, tmp_path_factory) -> Iterator[str]:
    with private_pdp(POLICIES, tmp_path_factory.mktemp("cerbos") / "cerbos.log") as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def integrations(infrastructure, integrations_pdp) -> AsyncIterator[httpx.AsyncClient]:
    """The service, started once for the session (its Kafka consumer takes seconds to join)."""
    settings = settings_for_test(
        "integrations", infrastructure, cerbos_url=integrations_pdp, **AGENCY_SETTINGS
    )
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
    accounts: dict[str, UUID] = field(default_factory=dict)
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
        world.accounts[name] = account.account_id
    for code in AGENCY_CODES:
        linked = await integrations.put(
            f"/agencies/{code}/organisation",
            json={"organisation_id": str(world.orgs[code])},
            headers=world.as_("admin"),
        )
        assert linked.status_code == 200, linked.text
    return world


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def simulator(world) -> AsyncIterator[str]:
    """The agency simulator as a real process, answering with the agencies' tokens through
    the service, served on a real port for it (same app, same event loop)."""
    app = world.client.app  # type: ignore[attr-defined]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=SERVED_PORT, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    command = [
        sys.executable,
        "-m",
        "acms_integrations.simulator",
        "--port",
        str(SIMULATOR_PORT),
        "--integrations-url",
        f"http://127.0.0.1:{SERVED_PORT}",
    ]
    for code in ("msd", "police", "immigration"):
        command += ["--token", f"{code}={world.tokens[code + '_client']}"]
    process = subprocess.Popen(command)  # noqa: ASYNC220 - our own interpreter, once
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    if (await client.get(f"{SIMULATOR_URL}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        yield SIMULATOR_URL
    finally:
        process.terminate()
        process.wait(10)
        server.should_exit = True
        await serving


async def open_case(
    world: World, *, provider: str = "asp_a", case_manager: str = "cm_a", nsn: str | None = None
) -> tuple[UUID, str]:
    """A case the service knows of (CaseOpened through its own handler): (id, student key)."""
    key = student_key_for_test(nsn or str(random.randint(100_000_000, 999_999_999)))
    event = CaseOpened(
        case_id=uuid.uuid4(),
        reference=f"AS-2026-{random.randint(0, 999_999):06d}",
        subject_student_key=key,
        actor_id="system",
        at=datetime.now(UTC),
        referral_id=uuid.uuid4(),
        school_id=world.orgs["school_a"],
        provider_id=world.orgs[provider],
        case_manager_id=world.accounts[case_manager],
    )
    await deliver(world.client.app, event)  # type: ignore[attr-defined]
    return event.case_id, key
