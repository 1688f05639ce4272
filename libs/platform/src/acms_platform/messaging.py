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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from acms_contracts import Event, EventEnvelope, UnknownEventType
from acms_contracts.topics import dead_letter_topic
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform import inbox
from acms_platform.database import Database

log = logging.getLogger(__name__)

Handler = Callable[[Any, EventEnvelope, AsyncSession], Awaitable[None]]

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
        topic = raw.topic
        try:
            envelope = EventEnvelope.model_validate_json(message.body)
        except ValidationError as error:
            return await self._dead_letter(message, f"invalid envelope: {_first_error(error)}")
        registered = self.handlers.handlers.get(envelope.event_type)
        if registered is None:
            self.stats.skipped += 1
            return None
        event_class, handler = registered
        try:
            event = event_class.model_validate(envelope.payload)
        except (ValidationError, UnknownEventType) as error:
            return await self._dead_letter(
                message, f"invalid {envelope.event_type} payload: {_first_error(error)}"
            )
        await self._handle(message, topic, envelope, event, handler)
        return None

    async def _handle(
        self,
        message: KafkaMessage,
        topic: str,
        envelope: EventEnvelope,
        event: Event,
        handler: Handler,
    ) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.database.transaction() as session:
                    if not await inbox.claim(session, self.handlers.consumer, topic, envelope):
                        self.stats.duplicates += 1
                        return
                    await handler(event, envelope, session)
                self.stats.processed += 1
                return
            except DeadLetter as error:
                return await self._dead_letter(message, str(error))
            except INFRASTRUCTURE_ERRORS:
                raise  # not acknowledged: the message is redelivered once we recover
            except DBAPIError as error:
                if error.connection_invalidated:
                    raise
                failure: Exception = error
            except Exception as error:
                failure = error
            log.warning(
                "handler %s failed on %s (attempt %d/%d): %r",
                handler.__name__,
                envelope.event_id,
                attempt,
                self.attempts,
                failure,
            )
            if attempt < self.attempts:
                await asyncio.sleep(0.05 * 2**attempt)
        await self._dead_letter(message, f"handler failed {self.attempts} times: {failure!r}")

    async def _dead_letter(self, message: KafkaMessage, reason: str) -> None:
        raw = message.raw_message
        log.error("dead-lettering %s[%d]@%d: %s", raw.topic, raw.partition, raw.offset, reason)
        headers = {k: v.decode(errors="replace") for k, v in (raw.headers or ())}
        headers |= {
            "x-dead-letter-reason": reason[:2000],
            "x-original-topic": raw.topic,
            "x-original-partition": str(raw.partition),
            "x-original-offset": str(raw.offset),
            "x-consumer": self.handlers.consumer,
        }
        await self.broker.publish(
            raw.value, topic=dead_letter_topic(raw.topic), key=raw.key, headers=headers
        )
        self.stats.dead_lettered += 1


def _first_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        location = ".".join(str(p) for p in first["loc"]) or "(root)"
        return f"{location}: {first['msg']}"
    return str(error)


def _raw_body(message: Any) -> Any:
    return message.body


def build_broker(bootstrap: str, service_name: str) -> KafkaBroker:
    return KafkaBroker(
        bootstrap,
        client_id=f"acms-{service_name}",
        middlewares=[KafkaTelemetryMiddleware()],
        graceful_timeout=15,
        enable_idempotence=True,
    )


def subscribe(broker: KafkaBroker, consumer: EventConsumer, group_id: str) -> None:
    """Register one subscriber per consumed topic; offsets commit only after handling."""
    for topic in consumer.handlers.topics:

        async def on_message(body: bytes, message: KafkaMessage) -> None:
            await consumer.consume(message)

        broker.subscriber(
            topic,
            group_id=group_id,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            decoder=_raw_body,
        )(on_message)


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    """Create topics (and their dead-letter topics) if absent; idempotent."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = {t for topic in topics for t in (topic, dead_letter_topic(topic))}
        missing = sorted(wanted - existing)
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
            log.info("created topics %s", missing)
    finally:
        await admin.close()
