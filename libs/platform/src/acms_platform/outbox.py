"""Transactional outbox: events are rows written in the state change's own transaction,
then relayed to Kafka in id order by a single leader per service, with backoff while
Kafka is unreachable. Delivery is at-least-once; consumers deduplicate with the inbox."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from sqlalchemy import Text, bindparam, cast, func, insert, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from acms_contracts import Event, EventEnvelope
from acms_platform.database import Database
from acms_platform.platform_tables import outbox
from acms_platform.telemetry import current_trace_context

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "acms_outbox"
_RELAY_LOCK = 72_410_002
MAX_BACKOFF_SECONDS = 5.0
VACUUM_AFTER_DELETED = 5_000
# The largest envelope the outbox takes. Kafka refuses a record above ~1 MiB for good; a row
# it refuses would hold every later row of the service back, so it is refused here, before
# it is written, and the use case's transaction fails instead. The relay's producer batches
# up to the same size.
MAX_EVENT_BYTES = 512 * 1024


class EventTooLarge(ValueError):
    """An event whose envelope is larger than Kafka is sure to take."""


class UndeclaredTopic(ValueError):
    """An event for a topic its service does not declare in `ServiceDefinition.publishes`.

    The service's Kafka principal may write only the topics it declares (kafka_acls), so
    the relay would be refused such a row for ever, holding back every later row of the
    service: it is refused here, before it is written, and the use case's transaction fails.
    """


# The topics each producing service declares (`ServiceDefinition.publishes`, registered as
# the definition is made, by service name; several definitions of one name add up).
_DECLARED: dict[str, set[str]] = {}


def declare_publishes(producer: str, topics: Iterable[str]) -> None:
    """`producer`'s outbox takes events for these topics (and, once declared, no other)."""
    _DECLARED.setdefault(producer, set()).update(topics)


def declared_topics(producer: str) -> frozenset[str] | None:
    """What `producer` declares; None when no definition of that name was made here."""
    declared = _DECLARED.get(producer)
    return None if declared is None else frozenset(declared)


_PENDING = "acms_outbox_pending"


class Outbox:
    """Writes events of one producing service into its outbox table."""

    def __init__(self, producer: str) -> None:
        self.producer = producer

    async def add(self, session: AsyncSession, event: Event) -> EventEnvelope:
        """Queue `event` in the session's transaction; it is written just before commit,
        with the transaction's other events as one statement, and leaves for Kafka only if
        that commits. A rollback drops it. An event for a topic the service does not
        declare is refused (UndeclaredTopic)."""
        declared = _DECLARED.get(self.producer)
        if declared is not None and event.topic not in declared:
            raise UndeclaredTopic(
                f"service {self.producer} writes {type(event).__name__} to the topic "
                f"{event.topic}, which its ServiceDefinition does not declare in `publishes` "
                f"({', '.join(sorted(declared)) or 'nothing'}): its Kafka principal may not "
                "write there, so the event would never leave the outbox"
            )
        envelope = EventEnvelope.wrap(
            event, producer=self.producer, trace_context=current_trace_context()
        )
        serialised = envelope.model_dump_json()
        if len(serialised) > MAX_EVENT_BYTES // 4 and len(serialised.encode()) > MAX_EVENT_BYTES:
            raise EventTooLarge(
                f"{envelope.event_type} is {len(serialised.encode())} bytes as JSON; "
                f"the outbox takes at most {MAX_EVENT_BYTES}"
            )
        session.info.setdefault(_PENDING, []).append(
            {
                "event_id": envelope.event_id,
                "topic": event.topic,
                "key": envelope.key,
                "envelope": serialised,
            }
        )
        return envelope


@sa_event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if rows := session.info.pop(_PENDING, None):
        session.execute(_INSERT, rows)


@sa_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def queued_in(session: AsyncSession | Session) -> int:
    """Events added in the session's open transaction, written when it commits."""
    return len(session.info.get(_PENDING, ()))


def discard_queued_after(session: AsyncSession | Session, count: int) -> None:
    """Forget the events queued after the first `count` (a step rolled back to its
    savepoint takes its events with it)."""
    del session.info.get(_PENDING, [])[count:]


async def pending_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(outbox))).scalar_one()


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
        topic_namespace: str = "",
    ) -> None:
        self.database = database
        self.topic_namespace = topic_namespace
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.published = 0
        self._deleted_since_vacuum = 0
        self._vacuum: asyncio.Task[None] | None = None
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
            try:
                # Polled, not waited for: a backend waiting inside pg_advisory_lock holds a
                # snapshot, which would keep VACUUM from removing any outbox row the leader
                # deletes for as long as this replica stands by.
                while True:
                    if await self._try_lock(connection):
                        break
                    await asyncio.sleep(self.idle_poll_seconds)
                # The leader's own connection, used directly: one prepared select and one
                # delete per batch, outside any ORM session. A delete lost in a crash only
                # means the rows are sent again, which the consumers' inbox absorbs, so it
                # need not wait for the WAL flush.
                raw = (await connection.get_raw_connection()).driver_connection
                if raw is None:
                    raise RuntimeError("the outbox relay's pooled connection has no driver")
                await raw.execute("SET synchronous_commit = off")
                await raw.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
                producer = self.producer_factory()
                try:
                    await producer.start()
                    while True:
                        self._wakeup.clear()
                        if await self.publish_batch(raw, producer) < self.batch_size:
                            await self._wait_for_work()
                finally:
                    await producer.stop()
            finally:
                if self._vacuum is not None:
                    self._vacuum.cancel()
                # Closing the connection (not returning it to the pool) releases the lock.
                await connection.invalidate()

    @staticmethod
    async def _try_lock(connection: AsyncConnection) -> bool:
        locked = await connection.scalar(
            text("select pg_try_advisory_lock(:k)"), {"k": _RELAY_LOCK}
        )
        await connection.commit()
        return bool(locked)

    async def _wait_for_work(self) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), self.idle_poll_seconds)
        except TimeoutError:
            pass

    async def publish_batch(self, raw: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        """Send the oldest rows in id order, wait for Kafka to acknowledge them all, then
        delete exactly those rows (a lower id committed late is still waiting its turn)."""
        rows = await raw.fetch(_SELECT_BATCH, self.batch_size)
        if not rows:
            return 0
        await asyncio.gather(*await _send_in_batches(producer, rows, self.topic_namespace))
        await raw.execute(_DELETE_SENT, [row[0] for row in rows])
        self.published += len(rows)
        self._deleted_since_vacuum += len(rows)
        vacuuming = self._vacuum is not None and not self._vacuum.done()
        if self._deleted_since_vacuum >= VACUUM_AFTER_DELETED and not vacuuming:
            self._deleted_since_vacuum = 0
            self._vacuum = asyncio.create_task(self._vacuum_outbox())
        return len(rows)

    async def _vacuum_outbox(self) -> None:
        """A queue table: without this every select walks the dead rows of everything sent
        since autovacuum last came by (once a minute at best), and PostgreSQL may skip the
        index when only a few pages changed, hence INDEX_CLEANUP. On a connection of its
        own, so the relay does not wait for it."""
        try:
            async with self.database.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM (INDEX_CLEANUP ON) outbox"))
        except Exception as error:  # noqa: BLE001 - hygiene only; the next round retries
            log.warning("outbox vacuum failed: %s", error)


async def _send_in_batches(
    producer: AIOKafkaProducer, rows: list[asyncpg.Record], namespace: str = ""
) -> list[asyncio.Future[object]]:
    """Hands `rows` to the producer as one record batch per partition, in id order within
    each, and returns their deliveries. Partitions are chosen as `producer.send` would
    (the default partitioner over the key), without its per-message round of metadata
    checks; a batch that fills up is sent and another started (a record larger than a
    batch goes alone). Rows name contract topics; each goes to `namespace` + its topic."""
    deliveries = []
    partitions: dict[str, list[int]] = {}
    chosen: dict[tuple[str, str], int] = {}
    open_batches: dict[tuple[str, int], BatchBuilder] = {}
    for _id, contract_topic, key, envelope, event_type, trace_context in rows:
        topic = namespace + contract_topic
        if topic not in partitions:
            partitions[topic] = sorted(await producer.partitions_for(topic))
        key_bytes = key.encode()
        partition = chosen.get((topic, key))
        if partition is None:
            every = partitions[topic]
            partition = chosen[topic, key] = _PARTITIONER(key_bytes, every, every)
        record = {
            "timestamp": None,
            "key": key_bytes,
            "value": envelope.encode(),
            "headers": _headers(event_type, trace_context),
        }
        batch = open_batches.get((topic, partition))
        if batch is not None and batch.append(**record) is None:
            deliveries.append(await producer.send_batch(batch, topic, partition=partition))
            batch = None
        if batch is None:
            batch = open_batches[topic, partition] = producer.create_batch()
            batch.append(**record)
    for (topic, partition), batch in open_batches.items():
        deliveries.append(await producer.send_batch(batch, topic, partition=partition))
    return deliveries


_PARTITIONER = DefaultPartitioner()
_TRY_LOCK = text("select pg_try_advisory_lock(:k)")

# The envelope arrives as JSON text (pydantic's serialiser) and PostgreSQL parses it once.
_INSERT = insert(outbox).values(
    event_id=bindparam("event_id"),
    topic=bindparam("topic"),
    key=bindparam("key"),
    envelope=cast(bindparam("envelope", type_=Text), JSONB),
)

# The envelope leaves as PostgreSQL stored it: no decoding and re-encoding on the way.
_SELECT_BATCH = (
    "SELECT id, topic, key, envelope::text, envelope->>'event_type',"
    " (envelope->'trace_context')::text FROM outbox ORDER BY id LIMIT $1"
)
_DELETE_SENT = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"


def _headers(event_type: str, trace_context: str | None) -> list[tuple[str, bytes]]:
    headers = [("event_type", event_type.encode())]
    if trace_context and trace_context != "{}":
        headers += [(k, v.encode()) for k, v in json.loads(trace_context).items()]
    return headers
