"""Tests every service that keeps identity's organisations owes, on real PostgreSQL and
Kafka: ready with its migrations at head; organisations projected from Kafka once per
event; served to signed-in callers only. A service's tests subclass `ProjectionServiceTests`
with a `service` fixture answering its in-process client (the plugin's `start_service`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import pytest
import pytest_asyncio
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from acms_contracts import EventEnvelope, topics
from acms_contracts.identity import OrganisationRegistered, OrganisationRenamed
from acms_contracts.vocabulary import OrgType
from acms_platform.migrations import alembic_config
from acms_platform.platform_tables import inbox
from acms_platform.testing.accounts import known_account, tokens_refused_at_once
from acms_platform.testing.kafka import publish_as_admin
from acms_platform.testing.plugin import ServiceClient
from acms_platform.testing.routes import not_refused
from acms_platform.testing.tokens import TestSigner


async def publish_then_get(
    client: ServiceClient, headers: dict[str, str], *envelopes: EventEnvelope
) -> dict[str, Any]:
    """Publish as identity does (the admin stands in for it), all on one partition (the
    first event's key); then the last event's organisation as served once that event is
    applied, less its updated_at."""
    settings = client.app.state.runtime.settings
    key = envelopes[0].key.encode()
    await publish_as_admin(
        settings.kafka_bootstrap,
        settings.topic(topics.IDENTITY_ORGANISATIONS),
        *((envelope.model_dump_json().encode(), key) for envelope in envelopes),
    )
    last = envelopes[-1]
    async with asyncio.timeout(30):
        while True:
            got = await client.get(f"/organisations/{last.key}", headers=headers)
            assert got.status_code in (200, 404), got.text
            served: dict[str, Any] = got.json() if got.status_code == 200 else {}
            if served and datetime.fromisoformat(served.pop("updated_at")) == last.occurred_at:
                return served
            await asyncio.sleep(0.05)


@pytest.mark.asyncio(loop_scope="session")
class ProjectionServiceTests:
    @pytest.fixture
    def service(self) -> ServiceClient:
        raise NotImplementedError("a subclass provides the service's client")

    @pytest.fixture
    def signer(self, service: ServiceClient) -> TestSigner:
        signer = TestSigner()
        signer.trusted_by(service.app)
        return signer

    @pytest_asyncio.fixture(loop_scope="session")
    async def signed_in(self, service: ServiceClient, signer: TestSigner) -> dict[str, str]:
        """Headers of an account the service knows (through its staff projection)."""
        return (await known_account(service.app, signer)).headers

    async def test_started_ready_with_migrations_at_head(self, service: ServiceClient) -> None:
        assert (await service.get("/healthz")).status_code == 200
        # Started means ready, but each probe is bounded: a Kafka check that meets a group
        # rebalance on a loaded machine answers 503 for that probe; the next one is ready.
        ready: dict[str, Any] = {}
        async with asyncio.timeout(15):
            while ready != {"status": "ready"}:
                ready = (await service.get("/readyz")).json()
                if ready != {"status": "ready"}:
                    await asyncio.sleep(0.2)
        root = service.app.state.runtime.definition.root
        head = ScriptDirectory.from_config(alembic_config(root, "")).get_current_head()
        async with service.app.state.runtime.database.transaction() as session:
            versions = await session.scalar(
                text("select array_agg(version_num) from alembic_version")
            )
        assert versions == [head]

    async def test_organisations_from_kafka_are_projected_once_and_served(
        self, service: ServiceClient, signed_in: dict[str, str]
    ) -> None:
        school, isp = uuid.uuid4(), uuid.uuid4()
        registered, renamed, isp_registered = (
            EventEnvelope.wrap(event, producer="identity")
            for event in (
                OrganisationRegistered(
                    organisation_id=school, org_type=OrgType.SCHOOL, name="Before", region="Otago"
                ),
                OrganisationRenamed(organisation_id=school, name="After"),
                OrganisationRegistered(
                    organisation_id=isp, org_type=OrgType.ISP, name="ISP", parent_school_id=school
                ),
            )
        )
        got = await publish_then_get(service, signed_in, registered, renamed)
        assert got == {
            "id": str(school),
            "org_type": "school",
            "name": "After",
            "region": "Otago",
            "parent_school_id": None,
        }
        # The registration comes again, in a later batch, and the ISP after it: only the
        # inbox keeps the copy from undoing the rename.
        got = await publish_then_get(service, signed_in, registered, isp_registered)
        assert got == {
            "id": str(isp),
            "org_type": "isp",
            "name": "ISP",
            "region": None,
            "parent_school_id": str(school),
        }
        got = (await service.get(f"/organisations/{school}", headers=signed_in)).json()
        assert got["name"] == "After"
        consumer = service.app.state.runtime.definition.handlers.consumer
        async with service.app.state.runtime.database.transaction() as session:
            marked = select(inbox.c.consumer).where(inbox.c.event_id == registered.event_id)
            assert (await session.scalars(marked)).all() == [consumer]

    @pytest.mark.parametrize(
        "token",
        [None, "not-a-token", TestSigner().token(uuid.uuid4(), uuid.uuid4(), [])],
        ids=["no token", "malformed token", "untrusted key"],
    )
    @pytest.mark.usefixtures("signed_in")  # the service trusts a test key, not that one
    async def test_get_organisation_refuses_callers_not_signed_in(
        self, service: ServiceClient, token: str | None
    ) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await service.get(f"/organisations/{uuid.uuid4()}", headers=headers)
        assert response.status_code == 401, response.text

    async def test_a_good_signature_is_not_enough_for_an_account_that_may_not_act_now(
        self, service: ServiceClient, signer: TestSigner
    ) -> None:
        """Every route of the service, with a disabled account's token, an unknown
        account's, and one listing a revoked role: all 401."""
        refused = await tokens_refused_at_once(service.app, signer, "school_leader")
        assert await not_refused(service, refused) == []

    async def test_an_unknown_organisation_is_404_naming_it(
        self, service: ServiceClient, signed_in: dict[str, str]
    ) -> None:
        unknown = uuid.uuid4()
        response = await service.get(f"/organisations/{unknown}", headers=signed_in)
        assert response.status_code == 404, response.text
        assert str(unknown) in response.json()["detail"]
