"""Every audit event on Kafka is stored in the trail once, as it came, with the columns the
privacy officer searches by (real PostgreSQL and Kafka, the service in-process)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, select, text

from acms_contracts import EventEnvelope, topics
from acms_contracts.audit import ApiRequestAudited, AuditedDenial, AuditedRecord
from acms_contracts.identity import RoleGranted
from acms_contracts.vocabulary import Role
from acms_platform.platform_tables import inbox
from acms_platform.testing.kafka import published
from acms_retention.handlers import audit_event_classes
from acms_retention.tables import audit_checkpoints, audit_trail

from .audit_events import access, publish, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_every_audit_topic_and_account_change_is_consumed():
    consumed = {cls.topic for cls in audit_event_classes()}
    assert {t for t in topics.ALL_TOPICS if t.startswith("acms.audit.")} <= consumed
    assert topics.IDENTITY_ACCOUNTS in consumed


async def test_an_access_decision_is_stored_as_it_came_with_its_search_columns(retention):
    organisation, student = uuid.uuid4(), str(uuid.uuid4())
    seen = access(account="acct-1", organisation=organisation, student_key=student)
    refused = access(account="acct-1", organisation=organisation, allowed=False)
    await publish(retention, seen, refused)
    found = await stored(retention, [seen.event_id, refused.event_id], expected=2)
    rows = {r["event_id"]: r for r in found}

    row = rows[seen.event_id]
    assert row["envelope"] == seen.model_dump(mode="json")
    assert row["event_type"] == "AccessDecisionRecorded"
    assert row["topic"] == topics.AUDIT_ACCESS
    assert row["occurred_at"] == seen.occurred_at
    assert row["account_id"] == "acct-1"
    assert row["organisation_id"] == str(organisation)
    assert row["roles"] == ["school_leader"]
    assert row["outcome"] == "allowed"
    assert row["rule"] == "school_leader_sees_requests_of_their_school"
    assert row["trace_id"] == seen.payload["trace_id"]
    assert row["student_keys"] == [student]
    assert row["record_ids"] == [seen.payload["resource_id"]]
    assert row["accesses"] == [
        {
            "record_id": seen.payload["resource_id"],
            "kind": "referral",
            "student_key": student,
            "tiers": ["basic", "summary"],
        }
    ]
    assert rows[refused.event_id]["outcome"] == "denied"
    assert rows[refused.event_id]["accesses"][0]["tiers"] == []


async def test_the_access_kits_request_event_is_indexed_by_its_records_and_denials(retention):
    """ApiRequestAudited (one per request of a service on the access kit): what it returned,
    with tiers, is an allowed access; a request that only refused is denied."""
    organisation, s1, s2 = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    r1, r2 = str(uuid.uuid4()), str(uuid.uuid4())

    def request(**fields) -> EventEnvelope:
        event = ApiRequestAudited(
            principal_id="acct-kit",
            organisation_id=organisation,
            roles=["school_leader"],
            service="referrals",
            method="GET",
            route="/referrals",
            action="list_referrals",
            trace_id=uuid.uuid4().hex,
            **fields,
        )
        return EventEnvelope.wrap(event, producer="referrals")

    page = request(
        records=[
            AuditedRecord(kind="referral", id=r1, student_key=s1, tiers=["basic"], rule="plan"),
            AuditedRecord(kind="referral", id=r2, student_key=s2, tiers=["basic", "summary"]),
        ]
    )
    refusal = request(
        denials=[AuditedDenial(kind="referral", id=r1, action="view", reason="not_visible")]
    )
    probe = request(
        denials=[AuditedDenial(kind="referral", id=r2, action="view", reason="not_found")]
    )
    await publish(retention, page, refusal, probe)
    found = await stored(retention, [page.event_id, refusal.event_id, probe.event_id], expected=3)
    rows = {r["event_id"]: r for r in found}

    row = rows[page.event_id]
    assert (row["event_type"], row["outcome"]) == ("ApiRequestAudited", "allowed")
    assert row["rule"] == "plan"
    assert (row["account_id"], row["action"]) == ("acct-kit", "referrals:list_referrals")
    assert row["student_keys"] == sorted([s1, s2])
    assert row["accesses"] == [
        {"record_id": r1, "kind": "referral", "student_key": s1, "tiers": ["basic"]},
        {"record_id": r2, "kind": "referral", "student_key": s2, "tiers": ["basic", "summary"]},
    ]
    assert rows[refusal.event_id]["outcome"] == "denied"
    assert rows[refusal.event_id]["record_ids"] == [r1]
    assert rows[probe.event_id]["outcome"] == "not_found"


async def test_a_role_grant_is_stored_as_an_account_change(retention):
    account = uuid.uuid4()
    granted = EventEnvelope.wrap(
        RoleGranted(account_id=account, role=Role.PRIVACY_OFFICER), producer="identity"
    )
    await publish(retention, granted, topic=topics.IDENTITY_ACCOUNTS)
    (row,) = await stored(retention, [granted.event_id], expected=1)
    assert row["account_id"] == str(account)
    assert row["action"] == "identity:RoleGranted:privacy_officer"
    assert row["outcome"] == "change"


async def test_a_redelivered_event_is_stored_once_even_after_the_inbox_forgot_it(retention):
    envelopes = [access() for _ in range(20)]
    ids = [e.event_id for e in envelopes]
    await publish(retention, *envelopes)
    await stored(retention, ids, expected=20)

    await publish(retention, *envelopes)  # redelivery: the inbox marker absorbs it
    async with retention.app.state.runtime.database.transaction() as session:
        await session.execute(delete(inbox).where(inbox.c.event_id.in_(ids)))
    await publish(retention, *envelopes)  # markers gone: the trail's own event id does
    marker = access()
    await publish(retention, marker)
    await stored(retention, [marker.event_id], expected=1)  # everything before it is handled

    async with retention.app.state.runtime.database.transaction() as session:
        counts = await session.execute(
            select(audit_trail.c.event_id, func.count())
            .where(audit_trail.c.event_id.in_(ids))
            .group_by(audit_trail.c.event_id)
        )
        assert sorted(n for _, n in counts) == [1] * 20


async def test_each_chain_is_numbered_without_gaps_and_linked(retention):
    envelopes = [access() for _ in range(50)]
    await publish(retention, *envelopes)
    await stored(retention, [e.event_id for e in envelopes], expected=50)
    async with retention.app.state.runtime.database.transaction() as session:
        broken = await session.scalar(
            text(
                "SELECT count(*) FROM (SELECT seq, prev_hash, lag(hash) OVER w AS before,"
                " row_number() OVER w AS n FROM audit_trail WINDOW w AS"
                " (PARTITION BY chain ORDER BY seq)) t"
                " WHERE seq <> n OR (before IS NOT NULL AND before <> prev_hash)"
            )
        )
    assert broken == 0


async def test_each_chain_appended_to_is_sealed_in_the_database_and_on_kafka(retention):
    """(The tests' service seals after every batch.)"""
    envelope = access()
    await publish(retention, envelope)
    (row,) = await stored(retention, [envelope.event_id], expected=1)
    settings = retention.app.state.runtime.settings
    sealed = await published(
        settings.kafka_bootstrap,
        topics.RETENTION_AUDIT,
        lambda e: (
            e["event_type"] == "AuditCheckpointSealed"
            and e["payload"]["chain"] == row["chain"]
            and e["payload"]["seq"] >= row["seq"]
        ),
        linger=0,
    )
    payload = sealed[0][1]["payload"]
    async with retention.app.state.runtime.database.transaction() as session:
        kept = await session.execute(
            select(audit_checkpoints.c.hash, audit_checkpoints.c.mac).where(
                audit_checkpoints.c.chain == payload["chain"],
                audit_checkpoints.c.seq == payload["seq"],
            )
        )
        assert [(h.hex(), m) for h, m in kept] == [(payload["head_hash"], payload["mac"])]
