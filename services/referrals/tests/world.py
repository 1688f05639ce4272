"""A small country for referrals' tests: organisations and accounts delivered through
this service's own handlers of identity's events, and access tokens signed by a test
key that the service under test trusts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from acms_contracts import Event, EventEnvelope
from acms_contracts.identity import AccountCreated, OrganisationRegistered, RoleGranted
from acms_contracts.vocabulary import OrgType, Role
from acms_platform.testing.tokens import TestSigner
from acms_referrals.handlers import handlers


@dataclass
class World:
    client: httpx.AsyncClient
    orgs: dict[str, UUID] = field(default_factory=dict)
    accounts: dict[str, UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    signer: TestSigner = field(default_factory=TestSigner)

    def __post_init__(self) -> None:
        self.signer.trusted_by(self.client.app)  # type: ignore[attr-defined]

    @property
    def runtime(self) -> Any:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    def as_(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    async def deliver(self, event: Event) -> None:
        """Apply an identity event through this service's own handler, as Kafka would."""
        _, handler = handlers.handlers[event.event_type]
        envelope = EventEnvelope.wrap(event, producer="identity")
        async with self.runtime.database.transaction() as session:
            await handler(event, envelope, session)

    async def add_organisation(
        self, name: str, org_type: OrgType, region: str | None, parent: str | None
    ) -> UUID:
        organisation_id = uuid.uuid4()
        await self.deliver(
            OrganisationRegistered(
                organisation_id=organisation_id,
                org_type=org_type,
                name=f"Test {name}",
                region=region,
                parent_school_id=self.orgs[parent] if parent else None,
            )
        )
        self.orgs[name] = organisation_id
        return organisation_id

    async def add_account(self, name: str, org: str, roles: list[Role]) -> UUID:
        account_id = uuid.uuid4()
        await self.deliver(
            AccountCreated(
                account_id=account_id, organisation_id=self.orgs[org], display_name=f"Test {name}"
            )
        )
        for role in roles:
            await self.deliver(RoleGranted(account_id=account_id, role=role))
        self.accounts[name] = account_id
        self.tokens[name] = self.signer.token(account_id, self.orgs[org], roles)
        return account_id
