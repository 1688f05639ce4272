"""Each service's AsyncAPI document: committed as the service builds it, listing every topic
it consumes and publishes with the contracts' events, and served beside its OpenAPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from acms_contracts import topics
from acms_contracts.identity import OrganisationRegistered
from acms_contracts.registry import EVENT_TYPES
from acms_contracts.topics import dead_letter_topic
from acms_platform import asyncapi
from acms_platform.app import create_app
from acms_platform.kafka_acls import SERVICES, service_definition
from acms_platform.messaging import EventHandlers
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET

REGENERATE = "uv run python -m acms_platform.asyncapi"


@pytest.fixture(scope="module")
def definitions() -> dict[str, ServiceDefinition]:
    return {service: service_definition(service) for service in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
def test_the_committed_document_is_what_the_service_generates(
    definitions: dict[str, ServiceDefinition], service: str
) -> None:
    path = asyncapi.DOCUMENT_DIR / f"{service}.json"
    assert path.exists(), f"{path} is missing: run `{REGENERATE}`"
    generated = asyncapi.rendered(asyncapi.document(definitions[service]))
    assert path.read_text() == generated, f"{path} is out of date: run `{REGENERATE}`"


def test_no_committed_document_without_a_service() -> None:
    committed = {path.stem for path in asyncapi.DOCUMENT_DIR.glob("*.json")}
    assert committed == set(SERVICES)


def _event_types(document: dict[str, Any], channel: dict[str, Any]) -> set[str]:
    """The event types one channel's message payload admits (by its envelopes' const)."""
    schemas = document["components"]["schemas"]
    (message,) = channel["messages"].values()
    name = message["$ref"].removeprefix("#/components/messages/")
    payload = document["components"]["messages"][name]["payload"]
    schema = schemas[payload["$ref"].removeprefix("#/components/schemas/")]
    envelopes = schema.get("oneOf") or schema.get("anyOf") or [schema]
    found = set()
    for envelope in envelopes:
        if "$ref" in envelope:
            envelope = schemas[envelope["$ref"].removeprefix("#/components/schemas/")]
        payload_schema = schemas[
            envelope["properties"]["payload"]["$ref"].removeprefix("#/components/schemas/")
        ]
        assert payload_schema["required"] or payload_schema["properties"], payload_schema
        found.add(envelope["properties"]["event_type"]["const"])
    return found


def _channels(document: dict[str, Any], action: str) -> dict[str, dict[str, Any]]:
    """address → channel, of the operations with this action (send, receive)."""
    channels = {}
    for operation in document["operations"].values():
        if operation["action"] == action:
            channel = document["channels"][operation["channel"]["$ref"].split("/")[-1]]
            channels[channel["address"]] = channel
    return channels


@pytest.mark.parametrize("service", SERVICES)
def test_every_topic_consumed_and_published_is_there_with_its_contract_events(
    definitions: dict[str, ServiceDefinition], service: str
) -> None:
    definition = definitions[service]
    document = asyncapi.document(definition)
    consumed = definition.handlers.topics if definition.handlers else []
    received = _channels(document, "receive")
    assert set(received) == set(consumed)
    for topic, channel in received.items():
        assert definition.handlers is not None
        handled = {t for t, (cls, _) in definition.handlers.handlers.items() if cls.topic == topic}
        assert _event_types(document, channel) == handled, topic
    sent = _channels(document, "send")
    dead_letters = {dead_letter_topic(topic) for topic in consumed}
    assert set(sent) == set(definition.publishes) | dead_letters
    for topic in definition.publishes:
        contract = {name for name, cls in EVENT_TYPES.items() if cls.topic == topic}
        assert contract, topic
        assert _event_types(document, sent[topic]) == contract, topic


def test_a_typed_envelope_carries_the_contract_payload_schema() -> None:
    envelope = asyncapi.envelope_of(OrganisationRegistered).model_json_schema()
    contract = OrganisationRegistered.model_json_schema()
    assert envelope["$defs"]["OrganisationRegistered"] == {
        key: value for key, value in contract.items() if key != "$defs"
    }
    assert envelope["properties"]["payload"] == {"$ref": "#/$defs/OrganisationRegistered"}
    assert envelope["properties"]["event_type"]["const"] == "OrganisationRegistered"
    assert envelope["properties"]["schema_version"]["const"] == 1


def test_a_published_topic_without_contract_events_is_refused() -> None:
    definition = ServiceDefinition(name="probe", root=Path(__file__).parent, publishes=("nope",))
    with pytest.raises(ValueError, match="nope"):
        asyncapi.document(definition)


@pytest.mark.asyncio
async def test_served_at_asyncapi_json_beside_the_openapi_without_a_token() -> None:
    handlers = EventHandlers(consumer="probe")

    @handlers.on(OrganisationRegistered)
    async def registered(event: Any, envelope: Any, session: Any) -> None:
        return None

    definition = ServiceDefinition(
        name="probe",
        root=Path(__file__).parent,
        handlers=handlers,
        publishes=(topics.AUDIT_ACCESS,),
    )
    app = create_app(
        definition,
        settings=Settings(service_name="probe", student_key_secret=TEST_STUDENT_KEY_SECRET),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        served = await client.get("/asyncapi.json")
        again = await client.get("/asyncapi.json")
        openapi = await client.get("/openapi.json")
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "application/json"
    assert served.json() == again.json() == json.loads(json.dumps(asyncapi.document(definition)))
    assert {c["address"] for c in served.json()["channels"].values()} == {
        topics.IDENTITY_ORGANISATIONS,
        dead_letter_topic(topics.IDENTITY_ORGANISATIONS),
        topics.AUDIT_ACCESS,
    }
    assert all("correlationId" not in m for m in served.json()["components"]["messages"].values())
    assert openapi.status_code == 200
    assert "/asyncapi.json" not in openapi.json()["paths"]  # like /openapi.json itself
