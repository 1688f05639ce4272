"""Sign-in throttling that an attacker cannot turn against the account's owner.

No lock-out: failed sign-ins make the next attempt wait (429 with Retry-After), longer
with each failure, for at most `sign_in_delay_max_seconds`. The counters:

- per account (its e-mail, known or not) and per client address, for attempts from a
  client the account has never signed in from: a guesser slows down on both;
- per (account, usual client), for a client the account signed in from before (its device
  cookie, else its address): the owner there counts only their own failures, so nobody
  else's failures keep them out.

Keys are digests: the table holds no e-mail address or IP address. A blocked attempt is
answered without checking the password and does not add to the count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from acms_identity.tables import known_clients, sign_in_throttle
from acms_platform.settings import Settings


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def account_key(email: str) -> str:
    return "email:" + _digest(email.strip().lower())


def address_key(address: str) -> str:
    return "ip:" + _digest(address)


def device_key(device_token: str) -> str:
    return "device:" + _digest(device_token)


def usual_key(account_id: UUID, client_key: str) -> str:
    return "usual:" + _digest(f"{account_id}/{client_key}")


@dataclass(frozen=True)
class Client:
    """Where an attempt comes from: its address, and the device cookie it sent, if any."""

    address: str | None
    device_token: str | None = None

    def client_keys(self) -> list[str]:
        keys = [device_key(self.device_token)] if self.device_token else []
        return keys + ([address_key(self.address)] if self.address else [])


@dataclass(frozen=True)
class Counter:
    key: str
    free_failures: int


async def usual_client_of(session: AsyncSession, account_id: UUID, client: Client) -> str | None:
    """The client key by which `client` is one the account signed in from, if it is."""
    keys = client.client_keys()
    if not keys:
        return None
    rows = await session.execute(
        select(known_clients.c.client_key).where(
            known_clients.c.account_id == account_id, known_clients.c.client_key.in_(keys)
        )
    )
    known = set(rows.scalars())
    return next((key for key in keys if key in known), None)


def counters_for(
    settings: Settings, email: str, account_id: UUID | None, client: Client, usual: str | None
) -> list[Counter]:
    if account_id is not None and usual is not None:
        return [Counter(usual_key(account_id, usual), settings.sign_in_free_failures_account)]
    counters = [Counter(account_key(email), settings.sign_in_free_failures_account)]
    if client.address:
        counters.append(Counter(address_key(client.address), settings.sign_in_free_failures_client))
    return counters


async def retry_after(session: AsyncSession, counters: list[Counter], now: datetime) -> float:
    """Seconds until an attempt may be made (0: now)."""
    statement = select(func.max(sign_in_throttle.c.blocked_until)).where(
        sign_in_throttle.c.key.in_([c.key for c in counters])
    )
    blocked_until = (await session.execute(statement)).scalar()
    if blocked_until is None or blocked_until <= now:
        return 0.0
    return (blocked_until - now).total_seconds()


def delay_after(settings: Settings, failures: int, free: int) -> float:
    """After `free` failures the next attempt waits base seconds, then twice as long after
    each further failure, at most max."""
    if failures < free:
        return 0.0
    exponent = min(failures - free, 40)
    return min(
        settings.sign_in_delay_base_seconds * 2**exponent, settings.sign_in_delay_max_seconds
    )


async def count_failure(
    session: AsyncSession, settings: Settings, counters: list[Counter], now: datetime
) -> None:
    window_start = now - timedelta(seconds=settings.sign_in_failure_window_seconds)
    table = sign_in_throttle
    for counter in counters:
        statement = (
            pg_insert(table)
            .values(key=counter.key, failures=1, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": case(
                        (table.c.last_failure_at < window_start, 1), else_=table.c.failures + 1
                    ),
                    "last_failure_at": now,
                },
            )
            .returning(table.c.failures)
        )
        failures = (await session.execute(statement)).scalar_one()
        delay = delay_after(settings, failures, counter.free_failures)
        blocked_until = now + timedelta(seconds=delay) if delay else None
        await session.execute(
            update(table).where(table.c.key == counter.key).values(blocked_until=blocked_until)
        )


async def count_success(
    session: AsyncSession, account_id: UUID, counters: list[Counter], client: Client, now: datetime
) -> None:
    """The attempt's counters start again, and its client becomes one of the account's
    usual clients (device cookie and address)."""
    keys = [c.key for c in counters]
    await session.execute(delete(sign_in_throttle).where(sign_in_throttle.c.key.in_(keys)))
    for client_key in client.client_keys():
        await session.execute(
            pg_insert(known_clients)
            .values(account_id=account_id, client_key=client_key, last_seen_at=now)
            .on_conflict_do_update(
                index_elements=[known_clients.c.account_id, known_clients.c.client_key],
                set_={"last_seen_at": now},
            )
        )


async def forget_account_failures(session: AsyncSession, email: str | None) -> None:
    """After the owner set a new password (activation, reset)."""
    if email:
        key = account_key(email)
        await session.execute(delete(sign_in_throttle).where(sign_in_throttle.c.key == key))
