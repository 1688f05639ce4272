"""Sign-in with a password, refresh, client credentials, sign-out.

Every failure looks the same from outside (one message, one status, the same Argon2
work), so sign-in tells nobody whether an email is registered, invited or disabled.
There is no lock-out: failures slow the next attempts down (`throttle.py`), and a blocked
attempt is answered 429 with Retry-After. Every failure is audited
(`AccessDecisionRecorded`, kind `identity_sign_in`, the reason as its rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.audit import AccessDecisionRecorded
from acms_identity import signing
from acms_identity.passwords import new_opaque_token, token_digest, verify_secret_off_loop
from acms_identity.repository import account_roles_of
from acms_identity.schemas import ClientCredentials, Refresh, SignIn, TokenOut
from acms_identity.service import throttle
from acms_identity.service.context import SERVICE
from acms_identity.service.throttle import Client
from acms_identity.tables import accounts, refresh_tokens
from acms_platform.outbox import Outbox
from acms_platform.settings import Settings
from acms_platform.telemetry import current_trace_id

REFRESH_TOKEN_LIFETIME = timedelta(hours=12)

SIGN_IN_FAILED = "sign-in failed: wrong email or password"
REFRESH_REFUSED = "refresh refused: sign in again"
CLIENT_REFUSED = "client authentication failed"
SIGN_IN_KIND = "identity_sign_in"


class SignInRefused(Exception):
    """Answered with 401 and this message; the failure counters are kept (committed)."""


class SignInThrottled(Exception):
    """Answered with 429 and Retry-After: too many recent failures for this attempt."""

    def __init__(self, seconds: float) -> None:
        self.retry_after = max(1, math.ceil(seconds))
        super().__init__(f"too many failed sign-ins: try again in {self.retry_after} s")


@dataclass(frozen=True)
class SignedIn:
    tokens: TokenOut
    device_token: str  # the client's device cookie, now one of the account's usual clients


async def sign_in_with_password(
    session: AsyncSession, outbox: Outbox, settings: Settings, command: SignIn, client: Client
) -> SignedIn:
    email = command.email.strip().lower()
    row = (await session.execute(select(accounts).where(accounts.c.email == email))).first()
    now = datetime.now(UTC)
    usual = await throttle.usual_client_of(session, row.id, client) if row else None
    counters = throttle.counters_for(settings, email, row.id if row else None, client, usual)
    wait = await throttle.retry_after(session, counters, now)
    if wait > 0:
        await _audit_failure(session, outbox, row, "throttled")
        raise SignInThrottled(wait)
    matches = await verify_secret_off_loop(row.password_hash if row else None, command.password)
    reason = _failure_reason(row, matches)
    if reason is not None:
        await throttle.count_failure(session, settings, counters, now)
        await _audit_failure(session, outbox, row, reason)
        raise SignInRefused(SIGN_IN_FAILED)
    assert row is not None  # an unknown e-mail has a failure reason
    device = client.device_token or new_opaque_token()
    await throttle.count_success(session, row.id, counters, Client(client.address, device), now)
    return SignedIn(await _issue(session, row, with_refresh=True), device)


def _failure_reason(row: Any, matches: bool) -> str | None:
    if row is None:
        return "unknown_email"
    if row.password_hash is None and not row.is_service:
        return "not_activated"
    if not matches:
        return "wrong_password"
    if row.disabled_at is not None:
        return "disabled"
    if row.is_service:
        return "machine_identity"
    return None


async def _audit_failure(session: AsyncSession, outbox: Outbox, row: Any, reason: str) -> None:
    """In the attempt's own transaction, which commits (the route returns its refusal)."""
    await outbox.add(
        session,
        AccessDecisionRecorded(
            principal_id=str(row.id) if row else "anonymous",
            organisation_id=row.organisation_id if row else None,
            roles=[],
            service=SERVICE,
            resource_kind=SIGN_IN_KIND,
            resource_id=str(row.id) if row else "unknown",
            action="sign_in",
            allowed=False,
            tiers=[],
            rule=reason,
            trace_id=current_trace_id(),
        ),
    )


async def refresh(session: AsyncSession, command: Refresh) -> TokenOut:
    """Rotate a refresh token. A disabled account, or a token already used or revoked,
    is refused at once; reuse of an old token revokes every token of the account."""
    digest = token_digest(command.refresh_token)
    token = (
        await session.execute(
            select(refresh_tokens).where(refresh_tokens.c.token_hash == digest).with_for_update()
        )
    ).first()
    now = datetime.now(UTC)
    if token is None or token.expires_at <= now:
        raise SignInRefused(REFRESH_REFUSED)
    if token.revoked_at is not None:
        await _revoke_all(session, token.account_id, now)
        raise SignInRefused(REFRESH_REFUSED)
    await session.execute(
        update(refresh_tokens).where(refresh_tokens.c.token_hash == digest).values(revoked_at=now)
    )
    row = (await session.execute(select(accounts).where(accounts.c.id == token.account_id))).one()
    if row.disabled_at is not None:
        raise SignInRefused(REFRESH_REFUSED)
    return await _issue(session, row, with_refresh=True)


async def sign_out(session: AsyncSession, command: Refresh) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.token_hash == token_digest(command.refresh_token))
        .where(refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def client_token(session: AsyncSession, command: ClientCredentials) -> TokenOut:
    row = (
        await session.execute(select(accounts).where(accounts.c.client_id == command.client_id))
    ).first()
    matches = await verify_secret_off_loop(
        row.client_secret_hash if row else None, command.client_secret
    )
    if row is None or not matches or not row.is_service or row.disabled_at is not None:
        raise SignInRefused(CLIENT_REFUSED)
    return await _issue(session, row, with_refresh=False)


async def _revoke_all(session: AsyncSession, account_id: Any, now: datetime) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.account_id == account_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def _issue(session: AsyncSession, row: Any, *, with_refresh: bool) -> TokenOut:
    roles = await account_roles_of(session, row.id)
    access = await signing.sign_access_token(
        session,
        subject=str(row.id),
        organisation_id=str(row.organisation_id),
        roles=roles,
        is_service=row.is_service,
    )
    refresh_token = None
    if with_refresh:
        refresh_token = new_opaque_token()
        await session.execute(
            refresh_tokens.insert().values(
                token_hash=token_digest(refresh_token),
                account_id=row.id,
                expires_at=datetime.now(UTC) + REFRESH_TOKEN_LIFETIME,
            )
        )
    return TokenOut(
        access_token=access, expires_in=signing.ACCESS_TOKEN_SECONDS, refresh_token=refresh_token
    )
