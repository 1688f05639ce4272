"""Reading what a service published, from real Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from acms_platform.testing.plugin import TOPIC_NAMESPACE, kafka_admin


async def published(
    bootstrap: str,
    topic: str,
    wanted: Callable[[dict[str, Any]], bool],
    *,
    enough: int = 1,
    within_seconds: float = 30,
    linger: float = 1.5,
    namespace: str = TOPIC_NAMESPACE,
) -> list[tuple[str, dict[str, Any]]]:
    """(key, envelope) of records on the contract topic `topic` (in `namespace`: this test
    session's, or a suite's, `plugin.suite_namespace`) for which `wanted(envelope)` holds,
    from the start; after `enough` are found, keeps reading for `linger` seconds to catch
    extras."""
    consumer = AIOKafkaConsumer(
        namespace + topic,
        **kafka_admin(bootstrap),
        group_id=f"{namespace}reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[tuple[str, dict[str, Any]]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_seconds
    try:
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    envelope = json.loads(record.value)
                    # Tests of malformed messages put junk ({}) on the topics: not events.
                    if isinstance(envelope, dict) and "event_type" in envelope and wanted(envelope):
                        found.append((record.key.decode(), envelope))
            if len(found) >= enough:
                deadline = min(deadline, loop.time() + linger)
    finally:
        await consumer.stop()
    return found


async def publish_as_admin(
    bootstrap: str, topic: str, *records: tuple[bytes, bytes | None]
) -> None:
    """Put (value, key) records on the Kafka topic `topic` (namespace included), in order, as
    the admin: how a test stands in for the service that owns the topic, since a service's
    own principal may write only the topics it publishes."""
    producer = AIOKafkaProducer(**kafka_admin(bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        for value, key in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
