"""What the agency-request, consent and sharing use cases work with: the request's access
(actor, policy, the one audit event), its transaction, the outbox and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from acms_integrations.tables import organisations
from acms_platform.access import RequestAccess, ResourceKind
from acms_platform.outbox import Outbox
from acms_platform.settings import Settings

# One tier each: a record is seen whole or not at all.
AGENCY_REQUEST = ResourceKind("agency_request", "information request", {"full": "view"})
AGENCY_LINK = ResourceKind("agency_link", "agency", {"full": "view"})
DISCLOSURE_LOG = ResourceKind("disclosure_log", "disclosure log", {"full": "view"})
CONSENT = ResourceKind("consent", "consent", {"full": "view"})
SHARE = ResourceKind("share", "share", {"full": "view"})


@dataclass
class SharingContext:
    access: RequestAccess
    session: AsyncSession
    outbox: Outbox
    settings: Settings

    @property
    def actor_id(self):
        return self.access.actor.account_id

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


async def org_type_of(session: AsyncSession, organisation_id: UUID) -> str | None:
    """The organisation's type in this service's projection; None if not known here."""
    table = organisations.table
    statement = select(table.c.org_type).where(table.c.id == organisation_id)
    return (await session.execute(statement)).scalar_one_or_none()
