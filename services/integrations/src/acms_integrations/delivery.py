"""Delivery of information requests to the agencies' endpoints, driven from
`agency_requests` as the outbox relay is driven from the outbox.

A request is written due (`next_attempt_at`) in the transaction that creates it. The
worker takes the earliest due request with `FOR UPDATE SKIP LOCKED` (so replicas share the
work and never send one request at once), POSTs it with the request's id as its
`Idempotency-Key`, and in the same transaction either marks it delivered and logs the
disclosure, or counts the attempt and makes it due again after an exponential back-off
(base * 2^(attempts-1), at most max, with jitter). Nothing is lost while an agency is
down: the row waits. A crash mid-delivery rolls the transaction back and releases the
lock: the request is sent again with the same key, which the agency recognises, and it is
logged once, by the attempt that is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import case, func, select, update

from acms_integrations import disclosures
from acms_integrations.agency_tables import agency_requests
from acms_integrations.agreements import Agency, endpoint_of
from acms_platform.runtime import Runtime

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"


def backoff_seconds(attempts: int, base: float, ceiling: float) -> float:
    """The wait after the `attempts`-th failure: doubling from `base`, at most `ceiling`,
    less up to a tenth at random so that many requests failed together spread out."""
    wait = min(base * 2 ** max(attempts - 1, 0), ceiling)
    return wait * (1 - random.random() / 10)


def message(row: Any) -> dict[str, Any]:
    """What the agency receives: the request as its agreement allowed, and where to answer."""
    return {
        "request_id": str(row.id),
        "agency": row.agency,
        "agreement": {"name": row.agreement_name, "version": row.agreement_version},
        "subject": row.subject,
        "purpose": row.purpose,
        "fields": row.fields,
        "requested_at": row.requested_at.isoformat(),
        "answer_path": f"/partner/information-requests/{row.id}/answer",
    }


class DeliveryWorker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.delivered = 0

    async def run(self) -> None:
        await self.runtime.wait_started()
        timeout = httpx.Timeout(self.settings.agency_delivery_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                try:
                    worked = await self.deliver_next(client)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - the database away: wait, retry
                    log.warning("agency delivery paused: %s", error)
                    worked = False
                if not worked:
                    await asyncio.sleep(self.settings.agency_delivery_poll_seconds)

    async def deliver_next(self, client: httpx.AsyncClient) -> bool:
        """Attempt the earliest due request; False when none is due."""
        async with self.runtime.database.transaction() as session:
            statement = (
                select(agency_requests)
                .where(agency_requests.c.next_attempt_at <= func.now())
                .order_by(agency_requests.c.next_attempt_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            row = (await session.execute(statement)).first()
            if row is None:
                return False
            error = await self._post(client, row)
            now = datetime.now(UTC)
            if error is None:
                await session.execute(
                    update(agency_requests)
                    .where(agency_requests.c.id == row.id)
                    .values(
                        # An answer that overtook the acknowledgement stands.
                        status=case(
                            (agency_requests.c.status == "pending", "delivered"),
                            else_=agency_requests.c.status,
                        ),
                        delivery_attempts=row.delivery_attempts + 1,
                        next_attempt_at=None,
                        last_error=None,
                        delivered_at=now,
                    )
                )
                await disclosures.record(
                    session,
                    at=now,
                    by=row.requested_by,
                    kind="information_request",
                    recipient_org_id=row.agency_org_id,
                    recipient=row.agency,
                    fields=list(row.fields),
                    student_key=row.student_key,
                    case_id=row.case_id,
                    record_id=row.id,
                    agreement=f"{row.agreement_name} (version {row.agreement_version})",
                )
                self.delivered += 1
                return True
            attempts = row.delivery_attempts + 1
            wait = backoff_seconds(
                attempts,
                self.settings.agency_retry_base_seconds,
                self.settings.agency_retry_max_seconds,
            )
            log.info(
                "request %s to %s: attempt %d failed (%s); next in %.1fs",
                row.id,
                row.agency,
                attempts,
                error,
                wait,
            )
            await session.execute(
                update(agency_requests)
                .where(agency_requests.c.id == row.id)
                .values(
                    delivery_attempts=attempts,
                    next_attempt_at=now + timedelta(seconds=wait),
                    last_error=error[:500],
                )
            )
            return True

    async def _post(self, client: httpx.AsyncClient, row: Any) -> str | None:
        """None when the agency acknowledged the request (2xx); else what went wrong."""
        url = endpoint_of(self.settings, Agency(row.agency))
        try:
            response = await client.post(
                url, json=message(row), headers={IDEMPOTENCY_HEADER: str(row.id)}
            )
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if response.is_success:
            return None
        return f"HTTP {response.status_code} from the agency"


async def deliver_to_agencies(runtime: Runtime) -> None:
    """The delivery worker, run by the platform for the service's lifetime."""
    await DeliveryWorker(runtime).run()
