"""A service's running parts, and the start-up that waits for its dependencies.

Start-up never crashes on a missing database or broker: it says which is missing, retries
with backoff, and reports not-ready until both are reachable and migrations are applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

from acms_platform import inbox
from acms_platform.database import Database
from acms_platform.messaging import (
    EventConsumer,
    EventHandlers,
    build_broker,
    ensure_topics,
    subscribe,
)
from acms_platform.migrations import RuntimeGrants, upgrade_to_head
from acms_platform.outbox import MAX_EVENT_BYTES, Outbox, OutboxRelay, declare_publishes
from acms_platform.settings import Settings

if TYPE_CHECKING:
    from acms_platform.access.actor import ActorSource

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 10.0
# /readyz answers within this (a probe with a 1 s timeout learns something from every call).
READINESS_BOUND_SECONDS = 0.5
# A stopping service gives each step this long (uvicorn's graceful shutdown is 20 s).
STOP_STEP_SECONDS = 10.0
KAFKA_PING_SECONDS = 3.0
INBOX_PRUNE_SECONDS = 3600


@dataclass
class ServiceDefinition:
    """What a service contributes; `app.py` of each service builds one."""

    name: str
    root: Path
    handlers: EventHandlers | None = None
    publishes: tuple[str, ...] = ()
    # Who a caller is now (`acms_platform.access.ActorSource`): the staff projection, or
    # identity's own accounts. Every route's actor is checked against it.
    actors: ActorSource | None = None
    # Paths (regular expressions, matched whole) whose request body is streamed to the
    # route unbuffered, up to `Settings.max_upload_bytes` (hygiene.py), e.g. file uploads.
    streamed_uploads: tuple[str, ...] = ()
    # Background loops of the service (reminder scans, delivery to agencies), each started
    # once the service is ready and cancelled when it stops, like the outbox relay. Each
    # takes the runtime and runs until cancelled; it must survive its own errors.
    workers: tuple[Callable[[Runtime], Coroutine[Any, Any, None]], ...] = ()
    # Tables the service may only read and add to: when it runs as a role of its own
    # (`Settings.pg_owner_user` runs the migrations), that role may never update, delete
    # or truncate them (acms_platform.migrations.RuntimeGrants).
    append_only_tables: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The outbox refuses, at the write, an event for a topic not declared here (the
        # service's Kafka ACLs are derived from `publishes`: the relay would be refused).
        declare_publishes(self.name, self.publishes)

    def runtime_grants(self, settings: Settings) -> RuntimeGrants | None:
        """What the migrations grant the role this service runs as, if it is not the owner."""
        if settings.runtime_role is None:
            return None
        return RuntimeGrants(settings.runtime_role, self.append_only_tables)


@dataclass
class Runtime:
    definition: ServiceDefinition
    settings: Settings
    database: Database
    outbox: Outbox
    broker: KafkaBroker | None = None
    consumer: EventConsumer | None = None
    relay: OutboxRelay | None = None
    waiting_for: str | None = "database"
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _started: asyncio.Event = field(default_factory=asyncio.Event)
    _database_check: BoundedCheck = field(init=False)
    _kafka_check: BoundedCheck = field(init=False)

    def __post_init__(self) -> None:
        self._database_check = BoundedCheck(self._ping_database)
        self._kafka_check = BoundedCheck(self._ping_kafka)

    @classmethod
    def create(cls, definition: ServiceDefinition, settings: Settings) -> Runtime:
        database = Database(settings)
        SQLAlchemyInstrumentor().instrument(engine=database.engine.sync_engine)
        return cls(definition, settings, database, Outbox(definition.name))

    @property
    def started(self) -> bool:
        return self.waiting_for is None

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._connect(), name="connect-dependencies"))

    async def wait_started(self) -> None:
        await self._started.wait()

    async def _connect(self) -> None:
        settings = self.settings
        pg = f"{settings.pg_host}:{settings.pg_port}"
        await _retry(f"database at {pg}", self.database.ping)
        self.waiting_for = "migrations"
        await _retry(
            "migrations",
            lambda: asyncio.to_thread(
                upgrade_to_head,
                self.definition.root,
                settings.migration_database_url,
                settings.student_key_secret.get_secret_value(),
                self.definition.runtime_grants(settings),
            ),
        )
        self.waiting_for = "kafka"
        self.broker = await _retry(f"kafka at {settings.kafka_bootstrap}", self._start_broker)
        self.relay = OutboxRelay(
            self.database,
            self._new_producer,
            batch_size=settings.outbox_batch_size,
            idle_poll_seconds=settings.outbox_idle_poll_seconds,
            topic_namespace=settings.topic_namespace,
        )
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        if self.consumer is not None:
            self._tasks.append(asyncio.create_task(self._prune_inbox(), name="inbox-pruning"))
        for worker in self.definition.workers:
            self._tasks.append(asyncio.create_task(worker(self), name=worker.__name__))
        self.waiting_for = None
        self._started.set()
        log.info("%s ready", self.definition.name)

    async def _prune_inbox(self) -> None:
        """Once an hour (and at start), forget inbox markers past their retention."""
        keep = timedelta(days=self.settings.inbox_retention_days)
        while True:
            try:
                async with self.database.transaction() as session:
                    removed = await inbox.prune(session, keep)
                if removed:
                    log.info("inbox: forgot %d markers older than %s", removed, keep)
            except Exception as error:  # noqa: BLE001 - hygiene only; retried next hour
                log.warning("inbox pruning failed: %s", error)
            await asyncio.sleep(INBOX_PRUNE_SECONDS)

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **self.settings.kafka_client_options(),
            client_id=f"acms-{self.definition.name}-outbox",
            enable_idempotence=True,
            linger_ms=0,
            # The relay hands over up to a batch of rows at once; with idempotence a
            # partition has one request in flight, so small batches queue behind each other.
            max_batch_size=MAX_EVENT_BYTES,
            request_timeout_ms=10_000,
        )

    async def _start_broker(self) -> KafkaBroker:
        settings = self.settings
        handlers = self.definition.handlers
        topics = sorted(set(self.definition.publishes) | set(handlers.topics if handlers else ()))
        if topics:
            await ensure_topics(
                settings.kafka_client_options(),
                [settings.topic(topic) for topic in topics],
                settings.kafka_partitions,
            )
        broker = build_broker(
            settings.kafka_bootstrap, self.definition.name, settings.kafka_security()
        )
        if handlers and handlers.handlers:
            self.consumer = EventConsumer(
                handlers, self.database, broker, attempts=settings.handler_attempts
            )
            subscribe(broker, self.consumer, settings.group_id, settings.topic_namespace)
        try:
            await broker.start()
        except BaseException:
            await broker.stop()
            raise
        return broker

    async def readiness(self) -> dict[str, str]:
        """Failing components by name, with the reason; empty when ready. Answers within
        READINESS_BOUND_SECONDS whatever the database or Kafka do: both are asked at once,
        and one that has not answered by then is reported as not answering."""
        if self.waiting_for is not None:
            return {self.waiting_for: "not connected yet"}
        results = await asyncio.gather(
            self._database_check.within(READINESS_BOUND_SECONDS),
            self._kafka_check.within(READINESS_BOUND_SECONDS),
        )
        return {
            name: reason
            for name, reason in zip(("database", "kafka"), results, strict=True)
            if reason is not None
        }

    async def _ping_database(self) -> None:
        await self.database.ping()

    async def _ping_kafka(self) -> None:
        if self.broker is None or not await self.broker.ping(timeout=KAFKA_PING_SECONDS):
            raise ConnectionError(f"unreachable at {self.settings.kafka_bootstrap}")

    async def stop(self) -> None:
        """Stops within a bound: a step that does not finish in STOP_STEP_SECONDS is logged
        and left behind, as a crash would leave it (offsets are committed only after their
        transactions, so what it had not finished is redelivered and the inbox absorbs it)."""
        self._database_check.cancel()
        self._kafka_check.cancel()
        for task in self._tasks:
            task.cancel()
        await _bounded("background tasks", asyncio.gather(*self._tasks, return_exceptions=True))
        if self.broker is not None:
            await _bounded("the Kafka broker", self.broker.stop())
        await _bounded("the database pool", self.database.dispose())


async def _bounded(what: str, step: Awaitable[object]) -> None:
    try:
        await asyncio.wait_for(step, STOP_STEP_SECONDS)
    except TimeoutError:
        log.warning("stopping: %s did not stop within %ss; left behind", what, STOP_STEP_SECONDS)


class BoundedCheck:
    """A dependency check whose caller waits at most a bound. The check itself is not
    cancelled at the bound (cancelling a query mid-flight would spoil its pooled connection):
    it goes on in the background, and until it ends later calls report it as not answering
    instead of starting another, so a hung dependency never piles checks up."""

    def __init__(self, check: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.check = check
        self._task: asyncio.Task[None] | None = None

    async def within(self, bound: float) -> str | None:
        """None when the check passed; else why not."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.check())
            self._task.add_done_callback(_retrieve)
        done, _ = await asyncio.wait({self._task}, timeout=bound)
        if not done:
            return f"no answer within {bound}s"
        if self._task.cancelled():
            return "check cancelled"
        error = self._task.exception()
        return None if error is None else (str(error) or repr(error))

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # read, so an unanswered failure is not logged as never retrieved


async def _retry(what: str, attempt):  # type: ignore[no-untyped-def]
    backoff = 0.5
    while True:
        try:
            return await attempt()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - logged, then retried
            log.warning("waiting for %s: %s; retrying in %.1fs", what, error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
