"""Accounts a service under test knows: identity's account events applied through the
service's own handlers (as Kafka would deliver them), and tokens signed for them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from fastapi import FastAPI

from acms_contracts import Event, EventEnvelope
from acms_contracts.identity import AccountCreated, AccountDisabled, RoleGranted, RoleRevoked
from acms_platform.testing.tokens import TestSigner


async def deliver(app: FastAPI, event: Event) -> None:
    """Apply an identity event through `app`'s own handler, in a transaction."""
    runtime = app.state.runtime
    _, handler = runtime.definition.handlers.handlers[event.event_type]
    envelope = EventEnvelope.wrap(event, producer="identity")
    async with runtime.database.transaction() as session:
        await handler(event, envelope, session)


@dataclass(frozen=True)
class TestAccount:
    __test__ = False

    account_id: UUID
    organisation_id: UUID
    roles: tuple[str, ...]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def known_account(
    app: FastAPI,
    signer: TestSigner,
    roles: Sequence[str] = (),
    *,
    organisation_id: UUID | None = None,
    is_service: bool = False,
    display_name: str = "Test account",
) -> TestAccount:
    """An account `app` knows (created, its roles granted), with a token for it."""
    account_id, organisation_id = uuid.uuid4(), organisation_id or uuid.uuid4()
    created = AccountCreated(
        account_id=account_id,
        organisation_id=organisation_id,
        display_name=display_name,
        is_service=is_service,
    )
    await deliver(app, created)
    for role in roles:
        await deliver(app, RoleGranted(account_id=account_id, role=role))  # type: ignore[arg-type]
    token = signer.token(account_id, organisation_id, list(roles), is_service=is_service)
    return TestAccount(account_id, organisation_id, tuple(str(r) for r in roles), token)


async def tokens_refused_at_once(app: FastAPI, signer: TestSigner, role: str) -> dict[str, str]:
    """Tokens every route must refuse with 401 although their signatures are good: of a
    disabled account, of an account the service does not know, and listing a revoked role."""
    disabled = await known_account(app, signer, [role])
    await deliver(app, AccountDisabled(account_id=disabled.account_id))
    revoked = await known_account(app, signer, [role])
    await deliver(app, RoleRevoked(account_id=revoked.account_id, role=role))  # type: ignore[arg-type]
    unknown = signer.token(uuid.uuid4(), uuid.uuid4(), [role])
    return {
        "disabled account": disabled.token,
        "unknown sub": unknown,
        "revoked role": revoked.token,
    }
