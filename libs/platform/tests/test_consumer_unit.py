"""Fast unit tests of the consumer's validation path on FastStream's in-memory broker."""

import pytest
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker

from acms_contracts import EventEnvelope, topics
from acms_contracts.platform import ProbeEmitted
from acms_contracts.topics import dead_letter_topic
from acms_platform.messaging import EventConsumer, EventHandlers, build_broker, subscribe


class NoDatabase:
    """The validation path must reject before touching the database."""

    def transaction(self):
        raise AssertionError("database used for a message that should be dead-lettered")


def consumer_on(broker: KafkaBroker) -> EventConsumer:
    handlers = EventHandlers(consumer="unit")

    @handlers.on(ProbeEmitted)
    async def never_called(event, envelope, session):  # pragma: no cover
        raise AssertionError

    consumer = EventConsumer(handlers, NoDatabase(), broker)  # type: ignore[arg-type]
    subscribe(broker, consumer, group_id="unit")
    return consumer


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid envelope"),
        (
            EventEnvelope(
                event_type="ProbeEmitted",
                schema_version=1,
                producer="t",
                key="k",
                payload={"stream": "", "sequence": -1},
            )
            .model_dump_json()
            .encode(),
            "invalid ProbeEmitted payload",
        ),
    ],
)
async def test_invalid_messages_are_dead_lettered_with_the_reason(body, reason):
    broker = build_broker("localhost:9092", "unit")
    consumer = consumer_on(broker)
    dead: list[dict] = []

    async def whole_message(message: KafkaMessage) -> KafkaMessage:
        return message

    @broker.subscriber(dead_letter_topic(topics.PLATFORM_PROBES), decoder=whole_message)
    async def collect(message: KafkaMessage) -> None:
        dead.append(message.headers)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(body, topic=topics.PLATFORM_PROBES, key=b"k")

    assert consumer.stats.dead_lettered == 1
    assert consumer.stats.processed == 0
    assert dead[0]["x-dead-letter-reason"].startswith(reason)
    assert dead[0]["x-original-topic"] == topics.PLATFORM_PROBES


@pytest.mark.asyncio
async def test_event_types_the_service_does_not_handle_are_skipped():
    broker = build_broker("localhost:9092", "unit")
    consumer = consumer_on(broker)
    other = EventEnvelope(
        event_type="AccountDisabled",
        schema_version=1,
        producer="t",
        key="k",
        payload={"account_id": "00000000-0000-0000-0000-000000000001"},
    )
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(other.model_dump_json().encode(), topic=topics.PLATFORM_PROBES)
    assert consumer.stats.skipped == 1
    assert consumer.stats.dead_lettered == 0
