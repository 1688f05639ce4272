"""Invitations, activation and password reset: nobody sets another person's password.

An account is created without a password; a one-time token, valid for
`activation_ttl_hours`, is mailed to its address (`mail.py`). The invitee sends it back
with the password they chose (`POST /activate`). A password reset is the same with a
shorter lifetime (`password_reset_ttl_minutes`): the new token is mailed to the account's
own address, whoever asked. Only the token's digest is stored; issuing a new token spends
the account's earlier ones.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from acms_identity import repository
from acms_identity.errors import MailUnavailable, TokenRefused
from acms_identity.mail import ActivationMail, send_activation
from acms_identity.passwords import hash_secret_off_loop, new_opaque_token, token_digest
from acms_identity.schemas import Activate, PasswordReset
from acms_identity.service.context import Context
from acms_identity.service.throttle import forget_account_failures
from acms_identity.tables import accounts, activation_tokens

log = logging.getLogger(__name__)

INVITATION, PASSWORD_RESET = "invitation", "password_reset"
TOKEN_REFUSED = "token: unknown, expired or already used; ask for a new one"


async def send_token(ctx: Context, account: Any, purpose: str) -> None:
    """Issue a token for `account` (a row with id, email, display_name) and mail it."""
    now = datetime.now(UTC)
    settings = ctx.settings
    if purpose == INVITATION:
        lifetime = timedelta(hours=settings.activation_ttl_hours)
    else:
        lifetime = timedelta(minutes=settings.password_reset_ttl_minutes)
    await _spend_tokens_of(ctx.session, account.id, now)
    token = new_opaque_token()
    await ctx.session.execute(
        activation_tokens.insert().values(
            token_hash=token_digest(token),
            account_id=account.id,
            purpose=purpose,
            expires_at=now + lifetime,
        )
    )
    mail = ActivationMail(account.email, account.display_name, purpose, token, now + lifetime)
    await send_activation(settings, mail)


async def activate(session: AsyncSession, command: Activate) -> None:
    """Set the password of the token's account, once. Unknown, expired and used tokens
    are refused alike; so is a token of a disabled account."""
    account_id, email = await _account_of_token(session, command.token)
    password_hash = await hash_secret_off_loop(command.password)
    await _set_password(session, account_id, email, password_hash)


async def activate_with_hash(session: AsyncSession, token: str, password_hash: str) -> None:
    """`activate` with the password's Argon2id hash made by the caller: for
    `local_mail.activate_invited` only (the demo loader and benchmarks, which give hundreds
    of invitees one published demo password and so hash it once). The same token checks
    and the same writes; never reached from the API, which always hashes what it is sent."""
    account_id, email = await _account_of_token(session, token)
    await _set_password(session, account_id, email, password_hash)


async def _account_of_token(session: AsyncSession, token: str) -> tuple[UUID, str]:
    """(id, email) of the account whose usable token this is, the token row locked."""
    now = datetime.now(UTC)
    row = (
        await session.execute(
            select(activation_tokens)
            .where(activation_tokens.c.token_hash == token_digest(token))
            .with_for_update()
        )
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise TokenRefused(TOKEN_REFUSED)
    account = (await session.execute(select(accounts).where(accounts.c.id == row.account_id))).one()
    if account.disabled_at is not None or account.is_service:
        raise TokenRefused(TOKEN_REFUSED)
    return account.id, account.email


async def _set_password(
    session: AsyncSession, account_id: UUID, email: str, password_hash: str
) -> None:
    now = datetime.now(UTC)
    await repository.update_account(session, account_id, {"password_hash": password_hash})
    await _spend_tokens_of(session, account_id, now)
    # A new password ends every session signed in with the old one.
    await repository.revoke_refresh_tokens(session, account_id, now)
    await forget_account_failures(session, email)


async def request_password_reset(ctx: Context, command: PasswordReset) -> None:
    """Mail a reset token to the account's own address. The answer is the same whether or
    not the address is known, so it tells nobody who has an account."""
    row = (
        await ctx.session.execute(
            select(accounts).where(accounts.c.email == command.email.strip().lower())
        )
    ).first()
    if row is None or row.is_service or row.disabled_at is not None:
        return
    try:
        await send_token(ctx, row, PASSWORD_RESET)
    except MailUnavailable:
        # Answered as a success all the same (a 503 would say the address is known).
        log.warning("password reset for account %s not mailed: mail server unavailable", row.id)


async def _spend_tokens_of(session: AsyncSession, account_id: UUID, now: datetime) -> None:
    await session.execute(
        update(activation_tokens)
        .where(activation_tokens.c.account_id == account_id, activation_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
