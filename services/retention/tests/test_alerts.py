"""Alerts raised as audit events arrive, each rule firing at its threshold and not one
below it; listed, acknowledged with a note and published (real Kafka, PostgreSQL, Cerbos).
Thresholds are the tests' service's (conftest.py): 3 distinct students in 10 minutes,
3 refusals in 5 minutes, a read within an hour of a Ministry role's grant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from acms_contracts import EventEnvelope, topics
from acms_contracts.identity import RoleGranted
from acms_contracts.vocabulary import Role
from acms_platform.testing.accounts import known_account
from acms_platform.testing.kafka import published
from acms_platform.testing.tokens import TestSigner

from .audit_events import access, publish, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def alerts_after(service, account: str, *envelopes: EventEnvelope, topic=topics.AUDIT_ACCESS):
    """Publish, wait until stored (alerts are raised in the same transaction), then the
    alerts about `account`."""
    await publish(service, *envelopes, topic=topic)
    await stored(service, [e.event_id for e in envelopes], expected=len(envelopes))
    response = await service.get(
        "/audit/alerts", params={"account_id": account, "status": "all"}, headers=service.officer
    )
    assert response.status_code == 200, response.text
    return response.json()


def reads(account: str, students: list[str], start: datetime, step: timedelta, **kw):
    return [
        access(account=account, student_key=s, occurred_at=start + i * step, **kw)
        for i, s in enumerate(students)
    ]


async def test_distinct_students_fires_at_the_threshold_within_the_window(service):
    account = str(uuid.uuid4())
    students = [str(uuid.uuid4()) for _ in range(3)]
    below = reads(account, students[:2] + students[:1], T0, timedelta(minutes=1))
    assert await alerts_after(service, account, *below) == []  # 2 distinct, 3 reads

    (alert,) = await alerts_after(
        service,
        account,
        access(account=account, student_key=students[2], occurred_at=T0 + timedelta(minutes=4)),
    )
    assert alert["rule"] == "many_distinct_students" and alert["count"] == 3
    assert alert["acknowledged_at"] is None


async def test_distinct_students_spread_beyond_the_window_do_not_fire(service):
    account = str(uuid.uuid4())
    students = [str(uuid.uuid4()) for _ in range(4)]
    spread = reads(account, students, T0, timedelta(minutes=6))  # any 10 minutes: 2
    assert await alerts_after(service, account, *spread) == []


async def test_repeated_refusals_fire_at_the_threshold(service):
    account = str(uuid.uuid4())
    refusals = reads(
        account, [str(uuid.uuid4()) for _ in range(2)], T0, timedelta(minutes=1), allowed=False
    )
    assert await alerts_after(service, account, *refusals) == []
    third = access(account=account, allowed=False, occurred_at=T0 + timedelta(minutes=3))
    (alert,) = await alerts_after(service, account, third)
    assert alert["rule"] == "repeated_denials" and alert["count"] == 3
    # A fourth in the same window adds no second alert while the first is open.
    fourth = access(account=account, allowed=False, occurred_at=T0 + timedelta(minutes=4))
    assert len(await alerts_after(service, account, fourth)) == 1


def granted(account: uuid.UUID, role: Role, at: datetime) -> EventEnvelope:
    envelope = EventEnvelope.wrap(RoleGranted(account_id=account, role=role), producer="identity")
    return envelope.model_copy(update={"occurred_at": at})


async def test_a_ministry_read_soon_after_the_grant_fires_and_a_later_one_does_not(service):
    soon, late = uuid.uuid4(), uuid.uuid4()
    for account in (soon, late):
        grant = granted(account, Role.CENTRAL_INVESTIGATION, T0)
        assert (
            await alerts_after(service, str(account), grant, topic=topics.IDENTITY_ACCOUNTS) == []
        )
    ministry = {"roles": ["central_investigation"], "rule": "central_investigation_sees_cases"}

    late_read = access(
        account=str(late), occurred_at=T0 + timedelta(hours=1, seconds=1), **ministry
    )
    assert await alerts_after(service, str(late), late_read) == []
    soon_read = access(account=str(soon), occurred_at=T0 + timedelta(minutes=10), **ministry)
    (alert,) = await alerts_after(service, str(soon), soon_read)
    assert alert["rule"] == "ministry_read_after_grant"
    assert "600 s after" in alert["summary"]


async def test_a_read_before_its_grant_arrives_fires_when_the_grant_arrives(service):
    account = uuid.uuid4()
    ministry = {"roles": ["prosecutions"], "rule": "prosecutions_see_notified_cases"}
    read = access(account=str(account), occurred_at=T0 + timedelta(minutes=5), **ministry)
    assert await alerts_after(service, str(account), read) == []
    grant = granted(account, Role.PROSECUTIONS, T0)
    (alert,) = await alerts_after(service, str(account), grant, topic=topics.IDENTITY_ACCOUNTS)
    assert alert["rule"] == "ministry_read_after_grant"


async def test_a_non_ministry_read_after_a_grant_does_not_fire(service):
    account = uuid.uuid4()
    grant = granted(account, Role.SCHOOL_LEADER, T0)
    read = access(account=str(account), occurred_at=T0 + timedelta(minutes=5))
    await alerts_after(service, str(account), grant, topic=topics.IDENTITY_ACCOUNTS)
    assert await alerts_after(service, str(account), read) == []


async def test_an_alert_is_published_listed_and_acknowledged_once_with_a_note(service):
    account = str(uuid.uuid4())
    refusals = reads(
        account, [str(uuid.uuid4()) for _ in range(3)], T0, timedelta(seconds=1), allowed=False
    )
    (alert,) = await alerts_after(service, account, *refusals)
    bootstrap = service.app.state.runtime.settings.kafka_bootstrap
    raised = await published(
        bootstrap,
        topics.RETENTION_AUDIT,
        lambda e: (
            e["event_type"] == "AccessAlertRaised" and e["payload"]["alert_id"] == alert["id"]
        ),
        linger=0,
    )
    assert raised[0][1]["payload"]["rule"] == "repeated_denials"

    open_ids = [
        a["id"] for a in (await service.get("/audit/alerts", headers=service.officer)).json()
    ]
    assert alert["id"] in open_ids
    path = f"/audit/alerts/{alert['id']}/acknowledgement"
    assert (await service.post(path, json={"note": ""}, headers=service.officer)).status_code == 422
    done = await service.post(path, json={"note": "spoke to the school"}, headers=service.officer)
    assert done.status_code == 200, done.text
    assert done.json()["note"] == "spoke to the school" and done.json()["acknowledged_at"]
    again = await service.post(path, json={"note": "again"}, headers=service.officer)
    assert again.status_code == 409
    unknown = f"/audit/alerts/{uuid.uuid4()}/acknowledgement"
    assert (
        await service.post(unknown, json={"note": "x"}, headers=service.officer)
    ).status_code == 404
    still_open = [
        a["id"] for a in (await service.get("/audit/alerts", headers=service.officer)).json()
    ]
    assert alert["id"] not in still_open
    acknowledged = await published(
        bootstrap,
        topics.RETENTION_AUDIT,
        lambda e: (
            e["event_type"] == "AccessAlertAcknowledged" and e["payload"]["alert_id"] == alert["id"]
        ),
        linger=0,
    )
    assert acknowledged[0][1]["payload"]["note"] == "spoke to the school"


async def test_alerts_are_refused_to_everyone_but_the_privacy_officer(service):
    signer = TestSigner()
    signer.trusted_by(service.app)
    for roles in ([Role.RECORDS_MANAGER], [Role.PLATFORM_ADMIN], [Role.CENTRAL_INVESTIGATION]):
        headers = (await known_account(service.app, signer, roles)).headers
        assert (await service.get("/audit/alerts", headers=headers)).status_code == 404
        path = f"/audit/alerts/{uuid.uuid4()}/acknowledgement"
        refused = await service.post(path, json={"note": "x"}, headers=headers)
        assert refused.status_code == 404


async def test_a_failing_rule_leaves_the_event_stored_and_the_other_rules_alerts_undone(
    service, monkeypatch
):
    """A bug in one rule must not cost the trail its record (nor dead-letter the event):
    the step is undone in its savepoint, with any alert it had raised, and the event is
    stored; the next event is evaluated again."""
    from acms_retention.alerts import AlertRules

    account = str(uuid.uuid4())
    students = [str(uuid.uuid4()) for _ in range(3)]
    original = AlertRules._outside_usual_hours

    def broken(self, session, row):
        raise RuntimeError("a rule's bug")

    monkeypatch.setattr(AlertRules, "_outside_usual_hours", broken)
    # Three distinct students: the first rule raises its alert, then the broken rule fails,
    # so the whole step (that alert included) is undone; the events are stored all the same.
    burst = reads(account, students, T0 + timedelta(days=3), timedelta(minutes=1))
    assert await alerts_after(service, account, *burst) == []

    monkeypatch.setattr(AlertRules, "_outside_usual_hours", original)
    later = access(
        account=account, student_key=students[0], occurred_at=T0 + timedelta(days=3, minutes=5)
    )
    (alert,) = await alerts_after(service, account, later)
    assert alert["rule"] == "many_distinct_students" and alert["count"] == 3
