"""Keeping test runs out of the demo stack's Kafka topics and consumer groups.

Each test session publishes and consumes under its own topic namespace (`test-<run>.`,
`Settings.topic_namespace`), which also prefixes its consumer groups. The session records
the demo stack's topics (un-namespaced, `acms.*`) and groups (`acms-*`) when it starts, so a
last test can check they are as they were, and deletes its own topics and groups at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import DeleteGroupsRequest

from acms_platform.kafka_admin import KafkaAdmin

DEMO_TOPIC_PREFIX = "acms."
DEMO_GROUP_PREFIX = "acms-"


@dataclass
class KafkaPicture:
    """End offsets of the demo topics, committed offsets of the demo groups."""

    end_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    committed: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def differences(self, later: KafkaPicture) -> list[str]:
        """What changed from this picture to `later` (a partition absent counts as 0)."""
        changed = []
        for topic, partition in sorted(self.end_offsets.keys() | later.end_offsets.keys()):
            before = self.end_offsets.get((topic, partition), 0)
            after = later.end_offsets.get((topic, partition), 0)
            if before != after:
                changed.append(f"{topic}[{partition}] end offset {before} -> {after}")
        for key in sorted(self.committed.keys() | later.committed.keys()):
            was, now = self.committed.get(key), later.committed.get(key)
            if was != now:
                group, topic, partition = key
                changed.append(f"group {group} at {topic}[{partition}] {was} -> {now}")
        return changed


async def demo_picture(kafka: dict[str, Any]) -> KafkaPicture:
    """`kafka`: the admin's client options (it reads every topic and group)."""
    picture = KafkaPicture()
    admin = AIOKafkaAdminClient(**kafka, request_timeout_ms=10_000)
    consumer = AIOKafkaConsumer(**kafka, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        demo_topics = [t for t in await admin.list_topics() if t.startswith(DEMO_TOPIC_PREFIX)]
        partitions = [
            TopicPartition(topic, p)
            for topic in demo_topics
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        if partitions:
            ends = await consumer.end_offsets(partitions)
            picture.end_offsets = {(tp.topic, tp.partition): o for tp, o in ends.items()}
        for group, _protocol in await admin.list_consumer_groups():
            if not group.startswith(DEMO_GROUP_PREFIX):
                continue
            offsets = await admin.list_consumer_group_offsets(group)
            for tp, meta in offsets.items():
                picture.committed[group, tp.topic, tp.partition] = meta.offset
    finally:
        await consumer.stop()
        await admin.close()
    return picture


async def delete_namespace(kafka: dict[str, Any], namespace: str) -> list[str]:
    """Deletes the topics, consumer groups and ACLs of `namespace` (e.g. `test-1a2b3c4d.`),
    as the admin (`kafka`: its client options)."""
    assert namespace.endswith(".") and not namespace.startswith(DEMO_TOPIC_PREFIX)
    if "sasl_mechanism" in kafka:  # a broker with ACLs
        async with KafkaAdmin(**kafka) as acls:
            ours = {a for a in await acls.describe_acls() if a.resource_name.startswith(namespace)}
            await acls.delete_acls(ours)
    admin = AIOKafkaAdminClient(**kafka, request_timeout_ms=30_000)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(namespace)]
        if topics:
            await admin.delete_topics(topics)
        groups = [g for g, _ in await admin.list_consumer_groups() if g.startswith(namespace)]
        for group in groups:
            # aiokafka's admin client has no delete_consumer_groups: its DeleteGroups request,
            # sent to the group's coordinator.
            coordinator = await admin.find_coordinator(group)
            await admin._send_request_to_node(coordinator, DeleteGroupsRequest([group]))
        return topics + groups
    finally:
        await admin.close()
