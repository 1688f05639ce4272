"""Least privilege on the bus: each service's principal writes only the topics it publishes,
reads only those it subscribes to, joins only its own consumer groups; a client without
credentials (or with a principal nobody granted anything) reads nothing.

The rules come from the services' own definitions (`acms_platform.kafka_acls`); the real
broker enforces them (the test session granted them on its namespace)."""

from __future__ import annotations

import ast
import asyncio
import os
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from acms_contracts import topics
from acms_contracts.registry import EVENT_TYPES
from acms_contracts.topics import dead_letter_topic
from acms_platform import kafka_acls
from acms_platform.kafka_acls import ServiceTopics, service_definition
from acms_platform.kafka_admin import (
    KafkaAdmin,
    Operation,
    ResourceType,
    upsert_scram_users_at_controller,
)
from acms_platform.kafka_client import client_options
from acms_platform.messaging import ensure_topics
from acms_platform.settings import Settings
from acms_platform.testing.infra import REPO_ROOT
from acms_platform.testing.plugin import (
    KAFKA_SASL,
    RUN_ID,
    TOPIC_NAMESPACE,
    kafka_admin,
    kafka_admin_credentials,
    kafka_tls,
    settings_for_test,
)

SECONDS = 20
CA = kafka_tls().get("kafka_ca_file")  # over TLS, as every client: refusals are SASL's or ACLs'


@pytest.fixture(scope="module")
def derived() -> dict[str, set]:
    return kafka_acls.deployment_acls()


def _topics_with(rules: set, operation: Operation) -> set[str]:
    return {
        acl.resource_name
        for acl in rules
        if acl.resource_type is ResourceType.TOPIC and acl.operation is operation
    }


def test_a_service_writes_only_what_it_publishes_and_its_dead_letters(derived):
    referrals = ServiceTopics.of(service_definition("referrals"))
    assert referrals.publishes == {topics.REFERRALS, topics.AUDIT_ACCESS}
    assert _topics_with(derived["referrals"], Operation.WRITE) == {
        topics.REFERRALS,
        topics.AUDIT_ACCESS,
        *(dead_letter_topic(t) for t in referrals.subscribes),
    }
    assert _topics_with(derived["referrals"], Operation.READ) == referrals.subscribes


def test_every_topic_but_the_audit_topic_has_one_writer(derived):
    writers: dict[str, set[str]] = {}
    for service, rules in derived.items():
        for topic in _topics_with(rules, Operation.WRITE):
            if not topic.endswith(".dlt"):
                writers.setdefault(topic, set()).add(service)
    assert writers.pop(topics.AUDIT_ACCESS) == {
        "identity",
        "referrals",
        "cases",
        "integrations",
        "retention",
    }
    assert writers[topics.CASES] == {"cases"}
    assert all(len(services) == 1 for services in writers.values()), writers


def test_only_retention_reads_the_audit_topic(derived):
    readers = {
        s
        for s, rules in derived.items()
        if topics.AUDIT_ACCESS in _topics_with(rules, Operation.READ)
    }
    assert readers == {"retention"}


def test_each_service_reads_only_its_own_consumer_group(derived):
    for service, rules in derived.items():
        groups = {a.resource_name for a in rules if a.resource_type is ResourceType.GROUP}
        assert groups <= {f"acms-{service}"}, (service, groups)


def _events_in_code(package: Path) -> tuple[dict[type, set[str]], dict[type, set[str]]]:
    """The event classes a service's code makes, by reading it: (constructed, referenced).

    Constructed: called by name (`CaseOpened(...)`). Referenced: named anywhere else as a
    value (`event = A if x else B`, a mapping of classes), which a consumer does too when
    it picks the class to read a message with; not counted: handler registrations
    (`handlers.on(X)`), annotations and `isinstance` checks. Each with its file:line."""
    by_name = {cls.__name__: cls for cls in EVENT_TYPES.values()}
    constructed: dict[type, set[str]] = {}
    referenced: dict[type, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        ignored: set[int] = set()
        called: set[int] = set()
        for node in ast.walk(tree):
            parts: list[ast.AST] = []
            if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
                parts = [node.annotation]
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
                parts = [node.returns]
            elif isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute) and node.func.attr == "on":
                    parts = list(node.args)
                elif isinstance(node.func, ast.Name) and node.func.id == "isinstance":
                    parts = node.args[1:]
                elif isinstance(node.func, ast.Name):
                    called.add(id(node.func))
            ignored |= {id(inner) for part in parts for inner in ast.walk(part)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in by_name and id(node) not in ignored:
                found = constructed if id(node) in called else referenced
                where = f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
                found.setdefault(by_name[node.id], set()).add(where)
    return constructed, referenced


@pytest.mark.parametrize("service", kafka_acls.SERVICES)
def test_every_event_a_services_code_makes_is_for_a_topic_it_declares(service):
    """Read from the code, not from a run: an event the service constructs is for a topic in
    its `publishes` (the outbox would refuse it, the ACLs too); an event class it names is
    for a topic it publishes or subscribes to; and every topic it declares but the audit
    topic (written by the platform's access kit) is made somewhere in its code, so that
    its principal is allowed no topic it never writes."""
    definition = service_definition(service)
    declared = set(definition.publishes)
    read = ServiceTopics.of(definition).subscribes
    package = REPO_ROOT / "services" / service / "src" / f"acms_{service}"
    constructed, referenced = _events_in_code(package)
    undeclared = {
        f"{cls.__name__} ({cls.topic}) at {', '.join(sorted(where))}"
        for found, allowed in ((constructed, declared), (referenced, declared | read))
        for cls, where in found.items()
        if cls.topic not in allowed
    }
    assert not undeclared, f"{service} makes events for topics it does not declare: {undeclared}"
    made = {cls.topic for cls in constructed} | ({cls.topic for cls in referenced} - read)
    unused = declared - made - {topics.AUDIT_ACCESS}
    assert not unused, f"{service} declares topics its code never writes: {sorted(unused)}"


# --- on the real broker ---------------------------------------------------------------------

needs_sasl = pytest.mark.skipif(not KAFKA_SASL, reason="the containers' broker has no SASL")


@pytest.fixture(scope="module")
def bootstrap(infrastructure) -> str:
    bootstrap = infrastructure.endpoints.kafka_bootstrap
    asyncio.run(
        ensure_topics(
            kafka_admin(bootstrap),
            [TOPIC_NAMESPACE + t for t in (topics.CASES, topics.REFERRALS, topics.AUDIT_ACCESS)]
            + [TOPIC_NAMESPACE + topics.IDENTITY_ORGANISATIONS],
            # as many partitions as the services make: the topics are the session's, and
            # a later test reads a student's events on the partition their key chooses
            Settings.model_fields["kafka_partitions"].default,
        )
    )
    return bootstrap


def _as(service: str, infrastructure) -> dict:
    return settings_for_test(service, infrastructure).kafka_client_options()


async def _produce(options: dict, topic: str) -> None:
    producer = AIOKafkaProducer(**options, request_timeout_ms=SECONDS * 1000)
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC_NAMESPACE + topic, b"{}", key=b"acl-test")
    finally:
        await producer.stop()


async def _read_until(options: dict, topic: str, group: str, wanted: bytes) -> bool:
    """Reads the topic from its start until `wanted` (True) or SECONDS pass (False): other
    tests of the session may have published to it first."""
    consumer = AIOKafkaConsumer(
        TOPIC_NAMESPACE + topic,
        **options,
        group_id=group,
        auto_offset_reset="earliest",
        request_timeout_ms=SECONDS * 1000,
    )
    try:
        await consumer.start()
        deadline = asyncio.get_running_loop().time() + SECONDS
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                record = await asyncio.wait_for(consumer.getone(), left)
            except TimeoutError:
                return False
            if record.value == wanted:
                return True
        return False
    finally:
        await consumer.stop()


@needs_sasl
def test_a_service_producing_to_another_services_topic_is_refused(bootstrap, infrastructure):
    referrals = _as("referrals", infrastructure)
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_produce(referrals, topics.CASES))
    asyncio.run(_produce(referrals, topics.REFERRALS))  # its own: allowed
    asyncio.run(_produce(_as("cases", infrastructure), topics.CASES))


@needs_sasl
def test_a_service_reads_what_it_subscribes_to_in_its_own_group_only(bootstrap, infrastructure):
    marker = f'{{"marker": "{uuid.uuid4().hex}"}}'.encode()

    async def publish_as_admin() -> None:
        producer = AIOKafkaProducer(**kafka_admin(bootstrap))
        await producer.start()
        try:
            await producer.send_and_wait(
                TOPIC_NAMESPACE + topics.IDENTITY_ORGANISATIONS, marker, key=b"acl-test"
            )
        finally:
            await producer.stop()

    asyncio.run(publish_as_admin())
    referrals = _as("referrals", infrastructure)
    own_group = f"{TOPIC_NAMESPACE}test-{RUN_ID}-referrals-acl-{uuid.uuid4().hex[:6]}"
    assert asyncio.run(_read_until(referrals, topics.IDENTITY_ORGANISATIONS, own_group, marker))

    with pytest.raises(TopicAuthorizationFailedError):  # retention's audit trail, not its own
        asyncio.run(_read_until(referrals, topics.AUDIT_ACCESS, own_group, marker))
    cases_group = f"{TOPIC_NAMESPACE}test-{RUN_ID}-cases-acl"
    with pytest.raises(GroupAuthorizationFailedError):
        asyncio.run(_read_until(referrals, topics.IDENTITY_ORGANISATIONS, cases_group, marker))


async def _try_to_read(options: dict, topic: str) -> None:
    consumer = AIOKafkaConsumer(
        TOPIC_NAMESPACE + topic,
        **options,
        group_id=f"{TOPIC_NAMESPACE}outsider-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        request_timeout_ms=5_000,
        connections_max_idle_ms=10_000,
    )
    try:
        await asyncio.wait_for(consumer.start(), SECONDS)
        await asyncio.wait_for(consumer.getone(), 5)
    finally:
        await consumer.stop()


@needs_sasl
def test_a_client_without_credentials_cannot_read_any_topic(bootstrap):
    for topic in (topics.AUDIT_ACCESS, topics.CASES):
        with pytest.raises((KafkaError, TimeoutError)):
            asyncio.run(_try_to_read(client_options(bootstrap, ca_file=CA), topic))
        wrong_password = client_options(bootstrap, "acms-referrals", "not-the-password", CA)
        with pytest.raises((KafkaError, TimeoutError)):
            asyncio.run(_try_to_read(wrong_password, topic))


@needs_sasl
def test_a_principal_nobody_granted_anything_reads_nothing(bootstrap):
    # One fixed name, its password new each run and never deleted (kafka_admin: a removed
    # SCRAM user can lock every user out after the broker's next restart).
    name, password = "acms-test-outsider", uuid.uuid4().hex

    async def as_outsider() -> None:
        async with KafkaAdmin(**kafka_admin(bootstrap)) as admin:
            await admin.upsert_scram_users({name: password})
        await _signed_in_and_refused(client_options(bootstrap, name, password, CA), topics.CASES)
        for topic in (topics.AUDIT_ACCESS, topics.CASES, topics.REFERRALS):
            with pytest.raises(TopicAuthorizationFailedError):
                await _try_to_read(client_options(bootstrap, name, password, CA), topic)

    asyncio.run(as_outsider())


async def _signed_in_and_refused(options: dict, topic: str) -> None:
    """Waits (up to SECONDS) for a credential just set to reach the broker from the
    metadata log: until then the sign-in itself fails. Returns once the principal signs in
    and is refused the topic for want of an ACL; raises whatever else it last met."""
    deadline = asyncio.get_running_loop().time() + SECONDS
    while True:
        try:
            await _try_to_read(options, topic)
        except TopicAuthorizationFailedError:
            return
        except (KafkaError, TimeoutError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


@needs_sasl
def test_a_credential_set_through_the_controller_listener_signs_in_at_the_broker(bootstrap):
    """What deploy/kafka.sh does for a broker that refuses every SCRAM credential: the
    controller listener takes the admin over SASL/PLAIN (over TLS), and what it writes reaches the
    broker's credential cache. The old password stops working, the new one works."""
    name, old, new = "acms-test-reset", uuid.uuid4().hex, uuid.uuid4().hex  # never deleted
    admin = kafka_admin_credentials()
    controller = f"127.0.0.1:{os.environ.get('ACMS_KAFKA_CONTROLLER_PORT', '59093')}"

    async def reset_at_the_controller() -> None:
        async with KafkaAdmin(**kafka_admin(bootstrap)) as broker_admin:
            await broker_admin.upsert_scram_users({name: old})
        await upsert_scram_users_at_controller(
            controller, admin["kafka_username"], admin["kafka_password"], {name: new}, CA
        )
        await _signed_in_and_refused(client_options(bootstrap, name, new, CA), topics.CASES)
        with pytest.raises((KafkaError, TimeoutError)) as refused:
            await _try_to_read(client_options(bootstrap, name, old, CA), topics.CASES)
        assert not isinstance(refused.value, TopicAuthorizationFailedError)

    asyncio.run(reset_at_the_controller())
