"""Transactional outbox: events are rows written in the state change's own transaction,
then relayed to Kafka in id order by a single leader per service, with backoff while
Kafka is unreachable. Delivery is at-least-once; consumers deduplicate with the inbox."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from uuid import UUID

from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry

from acms_contracts import Event, EventEnvelope
from acms_platform.database import Database
from acms_platform.platform_tables import outbox
from acms_platform.telemetry import current_trace_context

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "acms_outbox"
_RELAY_LOCK = 72_410_002
MAX_BACKOFF_SECONDS = 5.0


class OutboxRow:
    """ORM view of an outbox row: added rows are flushed together at commit, as one
    multi-row INSERT, in the order they were added."""

    def __init__(self, event_id: UUID, topic: str, key: str, envelope: dict) -> None:
        self.event_id, self.topic, self.key, self.envelope = event_id, topic, key, envelope


_orm = registry()
_orm.map_imperatively(OutboxRow, outbox)


class Outbox:
    """Writes events of one producing service into its outbox table."""

    def __init__(self, producer: str) -> None:
        self.producer = producer

    async def add(self, session: AsyncSession, event: Event) -> EventEnvelope:
        """Queue `event` in the session's transaction; it is written at flush or commit
        together with the state change, and leaves for Kafka only if that commits."""
        envelope = EventEnvelope.wrap(
            event, producer=self.producer, trace_context=current_trace_context()
        )
        session.add(
            OutboxRow(
                event_id=envelope.event_id,
                topic=event.topic,
                key=envelope.key,
                envelope=envelope.model_dump(mode="json"),
            )
        )
        return envelope


async def pending_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(outbox))).scalar_one()


def kafka_headers(envelope: dict) -> list[tuple[str, bytes]]:
    headers = [("event_type", envelope["event_type"].encode())]
    headers += [(k, v.encode()) for k, v in envelope.get("trace_context", {}).items()]
    return headers


class OutboxRelay:
    """Moves outbox rows to Kafka. Only the holder of a PostgreSQL advisory lock relays,
    so rows leave in id order even with several replicas of a service."""

    def __init__(
        self,
        database: Database,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        batch_size: int = 500,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self.database = database
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.published = 0
        self._wakeup = asyncio.Event()

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any outage: back off, retry
                log.warning("outbox relay paused: %s; retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            else:  # pragma: no cover - _lead only returns by raising
                backoff = 0.1

    async def _lead(self) -> None:
        async with self.database.engine.connect() as connection:
            await connection.execute(text("select pg_advisory_lock(:k)"), {"k": _RELAY_LOCK})
            await connection.commit()
            raw = (await connection.get_raw_connection()).driver_connection
            await raw.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
            producer = self.producer_factory()
            await producer.start()
            try:
                while True:
                    self._wakeup.clear()
                    if await self.publish_batch(producer) < self.batch_size:
                        await self._wait_for_work()
            finally:
                await producer.stop()
                # The lock is released when the connection closes.

    async def _wait_for_work(self) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), self.idle_poll_seconds)
        except TimeoutError:
            pass

    async def publish_batch(self, producer: AIOKafkaProducer) -> int:
        async with self.database.transaction() as session:
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.envelope)
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            if not rows:
                return 0
            deliveries = [
                await producer.send(
                    row.topic,
                    value=json.dumps(row.envelope).encode(),
                    key=row.key.encode(),
                    headers=kafka_headers(row.envelope),
                )
                for row in rows
            ]
            await asyncio.gather(*deliveries)
            # Exactly the rows sent: a lower id committed late is still waiting its turn.
            await session.execute(delete(outbox).where(outbox.c.id.in_([r.id for r in rows])))
        self.published += len(rows)
        return len(rows)
