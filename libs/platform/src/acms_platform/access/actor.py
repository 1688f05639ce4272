"""Who is calling: the verified token checked against what the service knows of the
account *now*. An unknown account, a disabled one, a token from another organisation, or
a token listing a role revoked since it was signed is refused at once (401), not when the
token expires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform.errors import NotAuthenticated
from acms_platform.policy import PolicyPrincipal
from acms_platform.tokens import Principal


@dataclass(frozen=True)
class Account:
    """An account as a service knows it now (its staff projection, or identity's table)."""

    account_id: UUID
    organisation_id: UUID
    disabled: bool
    roles: frozenset[str]
    # Roles revoked since they were granted. Where `roles` is exact (identity's own table),
    # every role not held counts as revoked.
    revoked_roles: frozenset[str] = frozenset()
    roles_exact: bool = False
    display_name: str | None = None
    org_type: str | None = None
    parent_school_id: UUID | None = None
    region: str | None = None
    monitored_asp_ids: tuple[str, ...] = ()


class ActorSource(Protocol):
    async def account(self, session: AsyncSession, account_id: UUID) -> Account | None: ...


@dataclass(frozen=True)
class Actor:
    """The verified caller, with their organisation as this service knows it."""

    principal: Principal
    account_id: UUID
    org_id: UUID | None
    org_type: str | None = None
    parent_school_id: UUID | None = None
    region: str | None = None
    monitored_asp_ids: tuple[str, ...] = ()
    display_name: str | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        return self.principal.roles

    def has_role(self, role: str) -> bool:
        return role in self.principal.roles

    @property
    def policy_principal(self) -> PolicyPrincipal:
        # Unknown attributes are left out, not sent as null: a rule comparing two nulls
        # must not match.
        attr: dict[str, Any] = {
            "monitored_asp_ids": list(self.monitored_asp_ids),
            # true only for a client-credential token: a machine identity, never a person
            "is_service": self.principal.is_service,
        }
        for name in ("org_id", "org_type", "parent_school_id", "region"):
            value = getattr(self, name)
            if value is not None:
                attr[name] = str(value)
        return PolicyPrincipal(str(self.account_id), list(self.principal.roles), attr)


def account_id_of(principal: Principal) -> UUID:
    try:
        return UUID(principal.id)
    except ValueError:
        raise NotAuthenticated("access token names no account") from None


def actor_of(principal: Principal, account: Account | None) -> Actor:
    """The actor, or 401 when the account may not act on this token now."""
    if account is None:
        raise NotAuthenticated("access token names an account not known here")
    if account.disabled:
        raise NotAuthenticated("account disabled")
    if (
        principal.organisation_id is not None
        and principal.organisation_id != account.organisation_id
    ):
        raise NotAuthenticated("access token names another organisation than the account's")
    if account.roles_exact:
        revoked = sorted(set(principal.roles) - account.roles)
    else:
        revoked = sorted(set(principal.roles) & account.revoked_roles)
    if revoked:
        raise NotAuthenticated(
            f"role {', '.join(revoked)} revoked since this token was issued: sign in again"
        )
    return Actor(
        principal=principal,
        account_id=account.account_id,
        org_id=account.organisation_id,
        org_type=account.org_type,
        parent_school_id=account.parent_school_id,
        region=account.region,
        monitored_asp_ids=account.monitored_asp_ids,
        display_name=account.display_name,
    )
