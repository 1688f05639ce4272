"""A small country for cases' tests: organisations and accounts delivered through this
service's own handlers of identity's events, tokens signed by a test key the service
trusts, and cases opened as referrals' assignment events open them (through the inbox)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import func, select

from acms_cases.handlers import handlers
from acms_cases.tables import cases as cases_table
from acms_contracts import Event, EventEnvelope
from acms_contracts.identity import AccountCreated, OrganisationRegistered, RoleGranted
from acms_contracts.referrals import ReferralAssigned, ReferralHistoryEntry
from acms_contracts.vocabulary import OrgType, Role
from acms_platform import inbox
from acms_platform.testing.plugin import student_key_for_test as student_key_for_nsn
from acms_platform.testing.tokens import TestSigner


@dataclass
class World:
    client: httpx.AsyncClient
    orgs: dict[str, UUID] = field(default_factory=dict)
    accounts: dict[str, UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    signer: TestSigner = field(default_factory=TestSigner)
    nsn_counter: int = 100_000_000

    def __post_init__(self) -> None:
        self.signer.trusted_by(self.client.app)  # type: ignore[attr-defined]

    @property
    def runtime(self) -> Any:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    def as_(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    async def deliver(self, event: Event, envelope: EventEnvelope | None = None) -> bool:
        """Apply an event through this service's own handler inside the inbox, as the
        consumer does. False if the inbox had it already."""
        _, handler = handlers.handlers[event.event_type]
        envelope = envelope or EventEnvelope.wrap(event, producer="test")
        async with self.runtime.database.transaction() as session:
            if not await inbox.claim(session, handlers.consumer, event.topic, envelope):
                return False
            await handler(event, envelope, session)
        return True

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

    def assignment(
        self,
        *,
        school: str = "school_a",
        provider: str = "asp_a",
        assignee: str = "case_manager_a",
        primary_contact: str | None = "teacher_a",
        nsn: str | None = None,
        name: str = "Aroha Test",
    ) -> ReferralAssigned:
        """The event referrals publishes when it assigns a request."""
        self.nsn_counter += 1
        nsn = nsn or str(self.nsn_counter)
        now = datetime.now(UTC)
        return ReferralAssigned(
            referral_id=uuid.uuid4(),
            subject_student_key=student_key_for_nsn(nsn),
            actor_id=str(self.accounts["asp_lead_a"]),
            version=5,
            at=now,
            school_id=self.orgs[school],
            provider_id=self.orgs[provider],
            assignee_id=self.accounts[assignee],
            provider_type="isp" if provider.startswith("isp") else "asp",
            nsn=nsn,
            student_name=name,
            year_level=9,
            reason_category="chronic_absence",
            reason_text="Absent most days this term",
            actions_taken="Two calls home",
            primary_contact_id=self.accounts[primary_contact] if primary_contact else None,
            student={
                "nsn": nsn,
                "given_name": name.split()[0],
                "address": {"line1": "1 Test Street", "city": "Hamilton"},
            },
            whanau=[{"name": "Mere Test", "relationship": "parent", "phone": "021 555 0100"}],
            pastoral={"iep": "Reading support plan", "medical": "Asthma"},
            history=[
                ReferralHistoryEntry(action="submit", to_status="submitted", at=now),
                ReferralHistoryEntry(
                    action="allocate",
                    from_status="accepted",
                    to_status="allocated",
                    at=now,
                    detail={"provider_id": str(self.orgs[provider])},
                ),
            ],
        )

    async def open_case(self, **kwargs: Any) -> dict[str, Any]:
        """A case opened from a new assignment; its row as a dict."""
        event = self.assignment(**kwargs)
        assert await self.deliver(event)
        return await self.case_of(event.referral_id)

    async def case_of(self, referral_id: UUID) -> dict[str, Any]:
        async with self.runtime.database.transaction() as session:
            row = (
                await session.execute(
                    select(cases_table).where(cases_table.c.referral_id == referral_id)
                )
            ).one()
        return dict(row._mapping)

    async def cases_of(self, referral_id: UUID) -> int:
        async with self.runtime.database.transaction() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(cases_table.c.referral_id == referral_id)
                )
            )
