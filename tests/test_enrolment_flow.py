"""End to end through the gateway on real Kafka (ARCHITECTURE flow 2): ENROL says a
student moved → integrations publishes → referrals re-scopes the student's requests, so
the former school's leader loses the request and the new school's leader sees it."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner

from acms_contracts import topics
from acms_platform.testing.flows import (
    CATCH_UP_SECONDS,
    create_organisation,
    enrol_feed_headers,
    wait_until,
)
from acms_platform.testing.plugin import TOPIC_NAMESPACE, kafka_admin, student_key_for_test


def test_enrol_move_takes_the_request_from_the_old_school_to_the_new(system, gateway):
    admin = system.admin_headers()
    old_school = create_organisation(gateway, admin, "school", "Rimu School")
    new_school = create_organisation(gateway, admin, "school", "Miro School")
    tag = uuid.uuid4().hex[:8]
    system.create_accounts(
        old_school,
        {f"old-leader-{tag}@test.example.org": "school_leader",
         f"old-staff-{tag}@test.example.org": "school_staff"},
    )  # fmt: skip
    system.create_accounts(new_school, {f"new-leader-{tag}@test.example.org": "school_leader"})
    old_leader = system.sign_in(f"old-leader-{tag}@test.example.org")
    old_staff = system.sign_in(f"old-staff-{tag}@test.example.org")
    new_leader = system.sign_in(f"new-leader-{tag}@test.example.org")
    enrol_feed = enrol_feed_headers(gateway, admin)

    nsn = str(random.randint(100_000_000, 999_999_999))
    family = f"Tane{tag}"
    draft = {"student": {"nsn": nsn, "given_name": "Mere", "family_name": family},
             "school_id": old_school}  # fmt: skip
    created: dict = {}

    def create_draft() -> bool:
        response = gateway.post("/api/referrals/referrals", json=draft, headers=old_staff)
        created.update(response.json())
        return response.status_code == 201

    # The old school reaches referrals' projection through Kafka first.
    assert wait_until(create_draft, CATCH_UP_SECONDS), f"staff never created a draft: {created}"
    request = f"/api/referrals/referrals/{created['id']}"

    def status(headers) -> int:
        return gateway.get(request, headers=headers).status_code

    def listed(headers) -> bool:
        response = gateway.get("/api/referrals/referrals", params={"q": family}, headers=headers)
        assert response.status_code == 200, response.text
        return created["id"] in {r["id"] for r in response.json()}

    assert status(old_leader) == 200 and listed(old_leader)
    assert status(new_leader) == 404 and not listed(new_leader)

    def person_reports() -> int:
        # 401 until the account reaches integrations' staff projection through Kafka.
        response = gateway.post("/api/integrations/enrol/changes", json={}, headers=old_leader)
        return response.status_code

    assert wait_until(lambda: person_reports() == 403), f"a person got {person_reports()}"

    move = {
        "nsn": nsn,
        "school_id": new_school,
        "effective_on": datetime.now(UTC).date().isoformat(),
        "as_of": datetime.now(UTC).isoformat(),
    }
    reported: dict = {}

    def report_move() -> bool:
        response = gateway.post(
            "/api/integrations/enrol/changes", json={"changes": [move]}, headers=enrol_feed
        )
        reported.update(status=response.status_code, body=response.json())
        # 422 until the new school reaches integrations' projection through Kafka (401
        # until the feed's client account does).
        return response.status_code == 200

    assert wait_until(report_move, CATCH_UP_SECONDS), f"ENROL feed refused: {reported}"
    assert reported["body"]["applied"] == 1

    assert wait_until(lambda: status(new_leader) == 200), "new school's leader never saw it"
    assert listed(new_leader)
    assert status(old_leader) == 404
    assert not listed(old_leader)
    seen = gateway.get(request, headers=new_leader).json()
    assert seen["school_id"] == new_school
    assert seen["history"][-1]["action"] == "enrolment_changed"
    assert status(old_staff) == 200, "the creator still sees what they made"


STUDENT_TOPICS = (topics.REFERRALS, topics.ENROLMENTS)


def _audits_of(envelope: dict, key: str) -> bool:
    """An audit event that names the student among the records it returned: audit events
    are keyed by the caller's organisation (issue 9), the student key is in each record."""
    records = envelope.get("payload", {}).get("records", [])
    return any(r.get("student_key") == key for r in records)


async def _student_records(bootstrap: str, key: str, wanted: dict[str, int]) -> list[dict]:
    """Every record keyed `key` on the `wanted` topics (on the audit topic: every audit
    naming the student), from their start, with its topic, partition and offset; reads
    until each topic has `wanted[topic]` of them (or 60 s)."""
    consumer = AIOKafkaConsumer(
        *(TOPIC_NAMESPACE + t for t in wanted),  # this test session's topics
        **kafka_admin(bootstrap),
        group_id=f"{TOPIC_NAMESPACE}reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[dict] = []
    deadline = asyncio.get_running_loop().time() + 60
    try:
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for r in records:
                    topic, envelope = r.topic.removeprefix(TOPIC_NAMESPACE), json.loads(r.value)
                    keyed = r.key is not None and r.key.decode() == key
                    if keyed or (topic == topics.AUDIT_ACCESS and _audits_of(envelope, key)):
                        found.append(
                            {"topic": topic, "partition": r.partition, "offset": r.offset,
                             "key": r.key.decode() if r.key else None, "envelope": envelope}
                        )  # fmt: skip
            counts = {t: sum(1 for f in found if f["topic"] == t) for t in wanted}
            if all(counts[t] >= n for t, n in wanted.items()):
                break
    finally:
        await consumer.stop()
    return found


def test_one_students_events_share_one_key_and_partition_in_order_across_services(
    system, gateway, infrastructure
):
    """ENROL (integrations) and referrals derive the same student key from the NSN under
    the deployment's secret: the student's events of both services are on one partition of
    each topic, in the order they happened, and the audit of reading them names that key."""
    admin = system.admin_headers()
    first = create_organisation(gateway, admin, "school", "Kauri School")
    second = create_organisation(gateway, admin, "school", "Tōtara")
    tag = uuid.uuid4().hex[:8]
    staff_email, leader_email = f"staff-{tag}@test.example.org", f"leader-{tag}@test.example.org"
    system.create_accounts(first, {staff_email: "school_staff"})
    system.create_accounts(second, {leader_email: "school_leader"})
    staff, leader = system.sign_in(staff_email), system.sign_in(leader_email)
    enrol_feed = enrol_feed_headers(gateway, admin)
    nsn = str(random.randint(100_000_000, 999_999_999))
    key = student_key_for_test(nsn)
    draft = {"student": {"nsn": nsn, "given_name": "Aroha", "family_name": f"Ngata{tag}"},
             "school_id": first}  # fmt: skip
    created: dict = {}

    def create_draft() -> bool:
        response = gateway.post("/api/referrals/referrals", json=draft, headers=staff)
        created.update(response.json())
        return response.status_code == 201

    assert wait_until(create_draft, CATCH_UP_SECONDS), f"no draft: {created}"
    request = f"/api/referrals/referrals/{created['id']}"
    now = datetime.now(UTC)

    def report(school: str, as_of: datetime) -> None:
        move = {"nsn": nsn, "school_id": school, "effective_on": as_of.date().isoformat(),
                "as_of": as_of.isoformat()}  # fmt: skip
        reported: dict = {}

        def post() -> bool:
            response = gateway.post(
                "/api/integrations/enrol/changes", json={"changes": [move]}, headers=enrol_feed
            )
            reported.update(status=response.status_code, body=response.json())
            return response.status_code == 200

        assert wait_until(post, CATCH_UP_SECONDS), f"ENROL feed refused: {reported}"
        assert reported["body"]["applied"] == 1

    report(second, now)
    # Referrals applied integrations' event by key: the second school's leader sees it.
    assert wait_until(lambda: gateway.get(request, headers=leader).status_code == 200)
    # A second request for the same student, made after the move.
    first_id = created["id"]
    assert create_draft(), created
    second_id = created["id"]
    report(first, now + timedelta(seconds=1))

    found = asyncio.run(
        _student_records(
            infrastructure.endpoints.kafka_bootstrap,
            key,
            {topics.REFERRALS: 2, topics.ENROLMENTS: 2, topics.AUDIT_ACCESS: 1},
        )
    )
    by_topic = {t: [f for f in found if f["topic"] == t] for t in STUDENT_TOPICS}
    audits = [f for f in found if f["topic"] == topics.AUDIT_ACCESS]
    found = [f for f in found if f["topic"] in STUDENT_TOPICS]
    # One key: the one both services derive, in every record and its envelope.
    assert {f["envelope"]["student_key"] for f in found} == {key}
    assert nsn not in json.dumps([f["envelope"] for f in found + audits])
    # One partition: the same in every topic (each has ACMS_KAFKA_PARTITIONS partitions).
    partitions = system.processes["referrals"].settings.kafka_partitions
    expected = DefaultPartitioner()(key.encode(), list(range(partitions)), None)
    placed = [(f["topic"], f["partition"], f["offset"], f["envelope"]["event_type"]) for f in found]
    assert {f["partition"] for f in found} == {expected}, f"expected {expected}: {placed}"
    # In order: each topic's records in offset order are the order the events happened.
    referral_events = [
        (f["envelope"]["event_type"], f["envelope"]["payload"]["referral_id"])
        for f in by_topic[topics.REFERRALS]
    ]
    assert referral_events == [("ReferralDrafted", first_id), ("ReferralDrafted", second_id)]
    moves = [f["envelope"]["payload"]["school_id"] for f in by_topic[topics.ENROLMENTS]]
    assert moves == [second, first]
    for records in by_topic.values():
        offsets = [f["offset"] for f in records]
        assert offsets == sorted(offsets)
    # Reading the request was audited, naming the student by the same key (never the NSN).
    read = [a for a in audits if a["envelope"]["payload"]["method"] == "GET"]
    assert read, "reading the request was audited under the key"
    assert any(r["id"] == first_id for a in read for r in a["envelope"]["payload"]["records"])
