"""Kafka consumption through FastStream: validation, inbox, retries, dead letters.

A subscriber turns each message into one call of a registered handler inside one database
transaction that also records the event in the inbox. A message that fails validation, or
whose handler keeps failing, is published to the topic's dead-letter topic with the reason,
and the consumer moves on. An outage of the database is not the message's fault: the
message is not acknowledged and comes back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.security import BaseSecurity
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import Event, EventEnvelope, UnknownEventType
from acms_contracts.topics import dead_letter_topic
from acms_platform import inbox
from acms_platform.database import Database, describe_database_error

log = logging.getLogger(__name__)

OFFSET_COMMIT_SECONDS = 0.5
FETCH_MAX_WAIT_MS = 50
# A group (re)joins within a few heartbeats: with Kafka's 3 s default every rebalance (a
# replica starting, a killed one's partitions moving) waits seconds for members to notice.
# 6 s is the broker's smallest session timeout (group.min.session.timeout.ms): a killed
# member's partitions move on after that.
HEARTBEAT_INTERVAL_MS = 300
SESSION_TIMEOUT_MS = 6_000

Handler = Callable[[Any, EventEnvelope, AsyncSession], Awaitable[None]]
_Accepted = tuple[ConsumerRecord, EventEnvelope, Event, Handler]

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    ConnectionError,
    OSError,
    TimeoutError,
)


class DeadLetter(Exception):
    """Raised by a handler for a message that can never succeed (no retries)."""


@dataclass
class EventHandlers:
    """The events one service consumes, by event type."""

    consumer: str
    handlers: dict[str, tuple[type[Event], Handler]] = field(default_factory=dict)

    def on(self, event_class: type[Event]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers[event_class.event_type] = (event_class, handler)
            return handler

        return register

    @property
    def topics(self) -> list[str]:
        return sorted({cls.topic for cls, _ in self.handlers.values()})


@dataclass
class ConsumerStats:
    processed: int = 0
    duplicates: int = 0
    skipped: int = 0
    dead_lettered: int = 0


class EventConsumer:
    """Handles batches of records in one transaction; if any event fails, the batch is
    rolled back and replayed one event per transaction, so the failing event is retried or
    dead-lettered alone. The batch's offsets commit once, after its effects."""

    def __init__(
        self,
        handlers: EventHandlers,
        database: Database,
        broker: KafkaBroker,
        *,
        attempts: int = 3,
    ) -> None:
        self.handlers = handlers
        self.database = database
        self.broker = broker
        self.attempts = attempts
        self.stats = ConsumerStats()

    async def consume(self, message: KafkaMessage) -> None:
        raw = message.raw_message
        records = tuple(raw) if isinstance(raw, tuple | list) else (raw,)
        accepted = [item for record in records if (item := await self._accept(record))]
        if not accepted:
            return
        try:
            await self._handle_batch(accepted)
        except INFRASTRUCTURE_ERRORS:
            raise  # not acknowledged: the batch is redelivered once we recover
        except DBAPIError as error:
            if error.connection_invalidated:
                raise
            await self._handle_one_by_one(accepted)
        except Exception:  # noqa: BLE001 - isolate the failing event, below
            await self._handle_one_by_one(accepted)

    async def _handle_batch(self, accepted: list[_Accepted]) -> None:
        """The fast path: the whole batch, its inbox markers and effects, in one transaction."""
        async with self.database.transaction() as session:
            fresh = await inbox.claim_many(
                session, self.handlers.consumer, [(r.topic, e) for r, e, _, _ in accepted]
            )
            processed = 0
            for _record, envelope, event, handler in accepted:
                if envelope.event_id not in fresh:
                    self.stats.duplicates += 1
                    continue
                fresh.discard(envelope.event_id)
                await handler(event, envelope, session)
                processed += 1
        self.stats.processed += processed

    async def _handle_one_by_one(self, accepted: list[_Accepted]) -> None:
        """After a failure in a batch: each event in its own transaction, retried, and
        dead-lettered alone if it keeps failing."""
        for record, envelope, event, handler in accepted:
            await self._handle(record, envelope, event, handler)

    async def _accept(self, record: ConsumerRecord) -> _Accepted | None:
        """Validate one record; dead-letter it if it can never be handled."""
        try:
            envelope = EventEnvelope.model_validate_json(record.value or b"")
        except ValidationError as error:
            await self._dead_letter(record, f"invalid envelope: {_first_error(error)}")
            return None
        registered = self.handlers.handlers.get(envelope.event_type)
        if registered is None:
            self.stats.skipped += 1
            return None
        event_class, handler = registered
        try:
            event = event_class.model_validate(envelope.payload)
        except (ValidationError, UnknownEventType) as error:
            reason = f"invalid {envelope.event_type} payload: {_first_error(error)}"
            await self._dead_letter(record, reason)
            return None
        return record, envelope, event, handler

    async def _handle(
        self,
        record: ConsumerRecord,
        envelope: EventEnvelope,
        event: Event,
        handler: Handler,
    ) -> None:
        failure: Exception | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.database.transaction() as session:
                    if not await inbox.claim(
                        session, self.handlers.consumer, record.topic, envelope
                    ):
                        self.stats.duplicates += 1
                        return
                    await handler(event, envelope, session)
                self.stats.processed += 1
                return
            except DeadLetter as error:
                return await self._dead_letter(record, str(error))
            except INFRASTRUCTURE_ERRORS:
                raise  # not acknowledged: the batch is redelivered once we recover
            except DBAPIError as error:
                if error.connection_invalidated:
                    raise
                failure = error
            except Exception as error:  # noqa: BLE001 - a handler bug must not stop the stream
                failure = error
            log.warning(
                "handler %s failed on %s (attempt %d/%d): %s",
                handler.__name__,
                envelope.event_id,
                attempt,
                self.attempts,
                _describe(failure),
            )
            if attempt < self.attempts:
                await asyncio.sleep(0.05 * 2**attempt)
        reason = f"handler failed {self.attempts} times: {_describe(failure)}"
        await self._dead_letter(record, reason)

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.error(
            "dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason
        )
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        headers |= {
            "x-dead-letter-reason": reason[:2000],
            "x-original-topic": record.topic,
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
            "x-consumer": self.handlers.consumer,
        }
        await self.broker.publish(
            record.value, topic=dead_letter_topic(record.topic), key=record.key, headers=headers
        )
        self.stats.dead_lettered += 1


def _describe(failure: Exception | None) -> str:
    """A handler's failure as logs and dead-letter headers may carry it: a database error
    without its message (which may quote the event's personal data)."""
    if isinstance(failure, DBAPIError):
        return describe_database_error(failure)
    return repr(failure)


def _first_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        location = ".".join(str(p) for p in first["loc"]) or "(root)"
        return f"{location}: {first['msg']}"
    return str(error)


async def _whole_message(message: KafkaMessage) -> KafkaMessage:
    # The handler takes the message as it came (its raw records). Async on purpose:
    # FastStream runs a plain-function decoder in a worker thread.
    return message


class ConcurrentStartBroker(KafkaBroker):
    """Starts its subscribers together. A subscriber's start waits for its consumer's
    partition assignment; one after another, each join makes the members already in the
    group rebalance again."""

    async def start(self) -> None:
        await self.connect()
        await asyncio.gather(*(subscriber.start() for subscriber in self.subscribers))
        for publisher in self.publishers:
            await publisher.start()
        self.running = True


def build_broker(
    bootstrap: str, service_name: str, security: BaseSecurity | None = None
) -> KafkaBroker:
    """The service's broker; `security` is its principal (`Settings.kafka_security()`)."""
    return ConcurrentStartBroker(
        bootstrap,
        security=security,
        client_id=f"acms-{service_name}",
        middlewares=[KafkaTelemetryMiddleware()],
        graceful_timeout=15,
        logger=logging.getLogger("faststream"),  # through our JSON handler
        log_level=logging.DEBUG,  # FastStream's per-message lines; ours are JSON
        enable_idempotence=True,
        apply_types=False,  # handlers take the message as is: no per-batch injection
    )


class OffsetCommits:
    """When a subscriber commits its offsets: after a batch's transaction, and at most every
    `interval` seconds. A crash replays what was handled since the last commit, which the
    inbox turns into no-ops; committing every batch would put a broker round trip into
    every event's latency."""

    def __init__(self, interval: float = OFFSET_COMMIT_SECONDS) -> None:
        self.interval = interval
        self._last = 0.0

    async def after(self, message: KafkaMessage) -> None:
        if time.monotonic() - self._last >= self.interval:
            await message.ack()
            self._last = time.monotonic()


def subscribe(
    broker: KafkaBroker, consumer: EventConsumer, group_id: str, namespace: str = ""
) -> None:
    """Register one batch subscriber per consumed topic (`namespace` + the topic's name).
    Offsets commit after the batch's transaction (see OffsetCommits); an infrastructure
    error rewinds the batch for redelivery."""
    for topic in consumer.handlers.topics:
        commits = OffsetCommits()

        async def on_batch(message: KafkaMessage, commits: OffsetCommits = commits) -> None:
            try:
                await consumer.consume(message)
            except BaseException:
                await message.nack()  # rewinds to the batch's first records
                raise
            await commits.after(message)

        broker.subscriber(
            namespace + topic,
            group_id=group_id,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            batch=True,
            max_records=500,
            batch_timeout_ms=5,  # FastStream also sleeps this long after an empty poll
            # One fetch is in flight per broker: a fetch for partitions with nothing new
            # must not hold back partitions that have data for the default 500 ms.
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            decoder=_whole_message,
        )(on_batch)


async def ensure_topics(
    client_options: Mapping[str, Any], topics: list[str], partitions: int
) -> None:
    """Create topics (and their dead-letter topics) if absent; idempotent. `client_options`
    say where and as whom (`Settings.kafka_client_options()`): a service's principal may
    create exactly these topics (acms_platform.kafka_acls)."""
    admin = AIOKafkaAdminClient(**client_options, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = {t for topic in topics for t in (topic, dead_letter_topic(topic))}
        missing = sorted(wanted - existing)
        if missing:
            response = await admin.create_topics(
                [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
            )
            refused = [
                f"{error[0]} ({for_code(error[1]).__name__})"
                for error in response.topic_errors
                if error[1] not in (0, TopicAlreadyExistsError.errno)
            ]
            if refused:  # e.g. a principal without CREATE on it: say so, do not go on
                raise ConnectionError(f"Kafka did not create topics: {', '.join(refused)}")
            log.info("created topics %s", missing)
    finally:
        await admin.close()
