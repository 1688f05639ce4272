"""What every use case works with: the transaction, the outbox, and the request's access
(the actor, the policy, the one audit event). A system context (bootstrap, demo) has no
access: the system itself acts, and nothing is checked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform.access import Actor, Decision, RequestAccess, ResourceKind
from acms_platform.database import Database
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyClient, PolicyResource
from acms_platform.settings import Settings

__all__ = ["ACCOUNT", "ORGANISATION", "ROLE_GRANT", "SERVICE", "Actor", "Context"]

SERVICE = "identity"
# Tier → the policy action that grants it (ACCESS-MODEL.md section 3, for staff).
ACCOUNT = ResourceKind(
    "identity_account", "account", {"staff_directory": "view", "staff_contact": "view_contact"}
)
ORGANISATION = ResourceKind("identity_organisation", "organisation", {"view": "view"})
# A grant of a four-eyes role, waiting for a second platform admin (service/role_grants.py).
ROLE_GRANT = ResourceKind("identity_role_grant", "role grant", {"view": "view"})


@dataclass
class Context:
    session: AsyncSession
    outbox: Outbox
    database: Database
    settings: Settings  # mail (smtp_*, public_url) and the activation lifetimes
    access: RequestAccess | None = None  # None: the system itself acts (bootstrap, demo)

    @property
    def request(self) -> RequestAccess:
        if self.access is None:
            raise RuntimeError("a system context decides for no actor")
        return self.access

    @property
    def pdp(self) -> PolicyClient:
        return self.request.policy

    async def require(self, kind: ResourceKind, resource: PolicyResource, action: str) -> None:
        """Allow, or record the denial and raise Forbidden (403): for an action on what the
        caller may see (an organisation, an account about to be created)."""
        if not await self.request.allowed(kind, resource, action):
            raise kind.not_allowed(action)

    async def authorise(
        self, kind: ResourceKind, resource: PolicyResource, action: str | None = None
    ) -> Decision:
        """404 unless the caller sees the record (writes too); 403 unless they may act."""
        return await self.request.authorise(kind, resource, action)
