"""Sign-in with a password, refresh, client credentials, sign-out.

Every failure looks the same from outside (one message, one status, the same Argon2
work), so sign-in tells nobody whether an email is registered or an account locked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from acms_identity import signing
from acms_identity.passwords import new_opaque_token, token_digest, verify_secret_off_loop
from acms_identity.repository import account_roles_of
from acms_identity.schemas import ClientCredentials, Refresh, SignIn, TokenOut
from acms_identity.tables import accounts, refresh_tokens

MAX_FAILED_SIGN_INS = 5
LOCK_OUT = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = timedelta(hours=12)

SIGN_IN_FAILED = "sign-in failed: wrong email or password, or too many attempts; try later"
REFRESH_REFUSED = "refresh refused: sign in again"
CLIENT_REFUSED = "client authentication failed"


class SignInRefused(Exception):
    """Answered with 401 and this message; the failure counters are kept (committed)."""


async def sign_in_with_password(session: AsyncSession, command: SignIn) -> TokenOut:
    row = (
        await session.execute(
            select(accounts)
            .where(accounts.c.email == command.email.strip().lower())
            .with_for_update()
        )
    ).first()
    matches = await verify_secret_off_loop(row.password_hash if row else None, command.password)
    if row is None:
        raise SignInRefused(SIGN_IN_FAILED)
    now = datetime.now(UTC)
    locked = row.locked_until is not None and row.locked_until > now
    if locked:
        raise SignInRefused(SIGN_IN_FAILED)
    if not matches:
        await _count_failure(session, row, now)
        raise SignInRefused(SIGN_IN_FAILED)
    if row.disabled_at is not None or row.is_service:
        raise SignInRefused(SIGN_IN_FAILED)
    await session.execute(
        update(accounts).where(accounts.c.id == row.id).values(failed_sign_ins=0, locked_until=None)
    )
    return await _issue(session, row, with_refresh=True)


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


async def _count_failure(session: AsyncSession, row: Any, now: datetime) -> None:
    failures = row.failed_sign_ins + 1
    values: dict[str, Any] = {"failed_sign_ins": failures}
    if failures >= MAX_FAILED_SIGN_INS:
        values = {"failed_sign_ins": 0, "locked_until": now + LOCK_OUT}
    await session.execute(update(accounts).where(accounts.c.id == row.id).values(**values))


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
