"""What every use case works with: the transaction, the outbox, the PDP, and the actor."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.vocabulary import OrgType, Role
from acms_identity.errors import Forbidden
from acms_platform.audit import access_decision, record_access, record_denial
from acms_platform.database import Database
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyClient, PolicyPrincipal, PolicyResource
from acms_platform.tokens import Principal

SERVICE = "identity"


@dataclass(frozen=True)
class Actor:
    """The caller as identity's own tables say now (not as an older token said)."""

    account_id: UUID
    organisation_id: UUID
    org_type: OrgType
    roles: tuple[Role, ...]

    @property
    def principal(self) -> Principal:
        return Principal(str(self.account_id), self.organisation_id, tuple(self.roles))

    @property
    def policy_principal(self) -> PolicyPrincipal:
        return PolicyPrincipal(
            id=str(self.account_id),
            roles=[r.value for r in self.roles],
            attr={"org_id": str(self.organisation_id), "org_type": self.org_type.value},
        )


@dataclass
class Context:
    session: AsyncSession
    outbox: Outbox
    database: Database
    policy: PolicyClient | None = None  # None: the system itself acts (bootstrap, demo)

    @property
    def pdp(self) -> PolicyClient:
        if self.policy is None:
            raise RuntimeError("a system context decides for no actor: pass a PolicyClient")
        return self.policy

    async def require(self, actor: Actor, resource: PolicyResource, action: str) -> None:
        """Allow, or record the denial and raise Forbidden (403)."""
        if not await self.allowed(actor, resource, action):
            raise Forbidden(
                f"not allowed to {action.replace('_', ' ')} this {_kind_name(resource)}"
            )

    async def allowed(self, actor: Actor, resource: PolicyResource, action: str) -> bool:
        allowed = await self.pdp.is_allowed(actor.policy_principal, resource, action)
        if not allowed:
            await self.record_denial(actor, resource, action)
        return allowed

    async def record_denial(self, actor: Actor, resource: PolicyResource, action: str) -> None:
        decision = access_decision(
            actor.principal,
            service=SERVICE,
            resource_kind=resource.kind,
            resource_id=resource.id,
            action=action,
            allowed=False,
        )
        await record_denial(self.database, self.outbox, decision)

    async def record_read(
        self, actor: Actor, resource_kind: str, resource_id: str, tiers: list[str], rule: str
    ) -> None:
        decision = access_decision(
            actor.principal,
            service=SERVICE,
            resource_kind=resource_kind,
            resource_id=resource_id,
            action="view",
            allowed=True,
            tiers=tiers,
            rule=rule,
        )
        await record_access(self.session, self.outbox, decision)


def _kind_name(resource: PolicyResource) -> str:
    return resource.kind.removeprefix("identity_")
