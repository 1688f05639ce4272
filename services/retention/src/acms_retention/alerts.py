"""Inappropriate-access alerts, evaluated as events arrive: an after-append step of the
trail (trail/append.py) run in the consumer's transaction, over the events' own times.

- `many_distinct_students`: one account shown records of at least N distinct students
  within a window;
- `repeated_denials`: one account refused (or probing ids that do not exist) at least N
  times within a window;
- `ministry_read_after_grant`: an account reading student data with a Ministry role
  within a grace period after that role was granted to it (whichever of the read and the
  grant arrives first);
- `outside_usual_hours`: a read of personal information in an hour of the day (local time)
  that holds less than a share of the organisation's own reads, once it has enough of them
  (learned as events arrive: `organisation_hours`);
- `after_relationship_ended`: an account reading (or trying to read) a case or request its
  organisation lost by a move or re-allocation, after a grace period (whichever of the
  read and the loss arrives first: `relationships.py` records the losses).

An alert is not raised again for the same rule and account while one still open covers
the same window (for a grant: the same grant). Each raised alert is published
(AccessAlertRaised) through the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from acms_contracts.retention import AccessAlertRaised
from acms_contracts.vocabulary import Role
from acms_platform.outbox import Outbox
from acms_retention.tables import access_alerts

MINISTRY_STUDENT_ROLES = (
    Role.CENTRAL_INVESTIGATION,
    Role.NATIONAL_CONTRACTS,
    Role.PROSECUTIONS,
    Role.PRIVACY_OFFICER,
    Role.RECORDS_MANAGER,
)
GRANT_ACTIONS = tuple(f"identity:RoleGranted:{role}" for role in MINISTRY_STUDENT_ROLES)
REFUSED = ("denied", "not_found")


@dataclass(frozen=True)
class Thresholds:
    distinct_students: int
    distinct_students_window: timedelta
    denials: int
    denials_window: timedelta
    grant_grace: timedelta
    usual_hours_min_reads: int
    usual_hours_min_share: float
    usual_hours_zone: ZoneInfo
    relationship_grace: timedelta


_DISTINCT_STUDENTS = text(
    "SELECT count(DISTINCT k), array_agg(DISTINCT t.event_id), min(t.occurred_at)"
    " FROM audit_trail t CROSS JOIN LATERAL unnest(t.student_keys) AS k"
    " WHERE t.account_id = :account AND t.outcome = 'allowed'"
    " AND t.occurred_at > :since AND t.occurred_at <= :until"
)
_REFUSALS = text(
    "SELECT count(*), array_agg(t.event_id), min(t.occurred_at) FROM audit_trail t"
    " WHERE t.account_id = :account AND t.outcome IN ('denied', 'not_found')"
    " AND t.occurred_at > :since AND t.occurred_at <= :until"
)
_GRANTS = text(
    "SELECT event_id, occurred_at, action FROM audit_trail WHERE account_id = :account"
    " AND action = ANY(:grants) AND occurred_at <= :until AND occurred_at >= :since"
    " ORDER BY occurred_at DESC"
)
_READS_AFTER = text(
    "SELECT event_id, occurred_at, roles FROM audit_trail WHERE account_id = :account"
    " AND outcome = 'allowed' AND cardinality(student_keys) > 0"
    " AND occurred_at >= :since AND occurred_at <= :until ORDER BY occurred_at LIMIT 1"
)
_HOURS = text(
    "SELECT coalesce(sum(reads), 0)::bigint,"
    " coalesce(sum(reads) FILTER (WHERE hour = :hour), 0)::bigint"
    " FROM organisation_hours WHERE organisation_id = :organisation"
)
_COUNT_HOUR = text(
    "INSERT INTO organisation_hours (organisation_id, hour, reads) VALUES (:organisation, :hour, 1)"
    " ON CONFLICT (organisation_id, hour) DO UPDATE SET reads = organisation_hours.reads + 1"
)
_LOST_RECORDS = text(
    "SELECT record_id, ended_at, cause, event_id FROM ended_relationships"
    " WHERE organisation_id = :organisation AND record_id = ANY(:records)"
    " AND ended_at + :grace < :at ORDER BY ended_at LIMIT 1"
)
_READS_OF_LOST = text(
    "SELECT event_id, occurred_at, account_id, organisation_id FROM audit_trail"
    " WHERE organisation_id = :organisation AND :record = ANY(record_ids)"
    " AND account_id IS NOT NULL AND occurred_at > :after ORDER BY occurred_at"
)
_OPEN_SINCE = text(
    "SELECT 1 FROM access_alerts WHERE rule = :rule AND account_id = :account"
    " AND acknowledged_at IS NULL AND last_seen_at > :since LIMIT 1"
)
_RAISED_FOR = text(
    "SELECT 1 FROM access_alerts WHERE rule = :rule AND account_id = :account"
    " AND :evidence = ANY(evidence) LIMIT 1"
)


class AlertRules:
    """The after-append step evaluating every rule for the accounts of a batch."""

    def __init__(self, thresholds: Thresholds, outbox: Outbox) -> None:
        self.thresholds = thresholds
        self.outbox = outbox

    def __call__(self, session: Session, rows: list[dict[str, Any]]) -> None:
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            account = row["account_id"]
            if account and (
                account not in latest or row["occurred_at"] > latest[account]["occurred_at"]
            ):
                latest[account] = row
        for account, row in sorted(latest.items()):
            self._distinct_students(session, account, row)
            self._repeated_denials(session, account, row)
        for row in sorted(rows, key=lambda r: r["occurred_at"]):
            if row["account_id"]:
                self._read_after_grant(session, row)
                self._outside_usual_hours(session, row)
                self._after_relationship_ended(session, row)

    def _distinct_students(self, session: Session, account: str, row: dict[str, Any]) -> None:
        t = self.thresholds
        since = row["occurred_at"] - t.distinct_students_window
        count, evidence, first = session.execute(
            _DISTINCT_STUDENTS, {"account": account, "since": since, "until": row["occurred_at"]}
        ).one()
        if count >= t.distinct_students and not self._open(
            session, "many_distinct_students", account, since
        ):
            summary = (
                f"shown records of {count} distinct students within "
                f"{int(t.distinct_students_window.total_seconds())} s"
            )
            self._raise(session, "many_distinct_students", row, summary, first, count, evidence)

    def _repeated_denials(self, session: Session, account: str, row: dict[str, Any]) -> None:
        t = self.thresholds
        since = row["occurred_at"] - t.denials_window
        count, evidence, first = session.execute(
            _REFUSALS, {"account": account, "since": since, "until": row["occurred_at"]}
        ).one()
        if count >= t.denials and not self._open(session, "repeated_denials", account, since):
            summary = (
                f"refused or probing unknown ids {count} times within "
                f"{int(t.denials_window.total_seconds())} s"
            )
            self._raise(session, "repeated_denials", row, summary, first, count, evidence)

    def _read_after_grant(self, session: Session, row: dict[str, Any]) -> None:
        grace, account = self.thresholds.grant_grace, row["account_id"]
        if row["action"] in GRANT_ACTIONS:  # the grant arrived after the read
            grant = {
                "event_id": row["event_id"],
                "occurred_at": row["occurred_at"],
                "action": row["action"],
            }
            read = session.execute(
                _READS_AFTER,
                {
                    "account": account,
                    "since": row["occurred_at"],
                    "until": row["occurred_at"] + grace,
                },
            ).first()
            if read is None or self._granted_role(grant["action"]) not in read.roles:
                return
            read_row = {**row, "event_id": read.event_id, "occurred_at": read.occurred_at}
        elif row["outcome"] == "allowed" and row["student_keys"]:
            roles = set(row["roles"]) & set(MINISTRY_STUDENT_ROLES)
            if not roles:
                return
            grants = session.execute(
                _GRANTS,
                {
                    "account": account,
                    "grants": [f"identity:RoleGranted:{r}" for r in roles],
                    "since": row["occurred_at"] - grace,
                    "until": row["occurred_at"],
                },
            ).first()
            if grants is None:
                return
            grant, read_row = dict(grants._mapping), row
        else:
            return
        if session.execute(
            _RAISED_FOR,
            {
                "rule": "ministry_read_after_grant",
                "account": account,
                "evidence": grant["event_id"],
            },
        ).first():
            return
        role = self._granted_role(grant["action"])
        waited = read_row["occurred_at"] - grant["occurred_at"]
        seconds = int(waited.total_seconds())
        summary = f"read student data as {role} {seconds} s after the role was granted"
        self._raise(
            session,
            "ministry_read_after_grant",
            read_row,
            summary,
            grant["occurred_at"],
            1,
            [grant["event_id"], read_row["event_id"]],
        )

    def _outside_usual_hours(self, session: Session, row: dict[str, Any]) -> None:
        """Judged against the history before this read, which then joins it."""
        organisation, t = row["organisation_id"], self.thresholds
        if not organisation or row["outcome"] != "allowed" or not row["student_keys"]:
            return
        hour = row["occurred_at"].astimezone(t.usual_hours_zone).hour
        params = {"organisation": organisation, "hour": hour}
        total, here = session.execute(_HOURS, params).one()
        session.execute(_COUNT_HOUR, params)
        if total < t.usual_hours_min_reads or here >= t.usual_hours_min_share * total:
            return
        rule, account = "outside_usual_hours", row["account_id"]
        if self._open(session, rule, account, row["occurred_at"] - timedelta(hours=1)):
            return
        share = 100 * here / total
        summary = (
            f"read personal information at {hour:02d}:00-{hour:02d}:59 local time, an hour"
            f" holding {share:.2f} % of the organisation's {total} reads"
        )
        self._raise(session, rule, row, summary, row["occurred_at"], 1, [row["event_id"]])

    def _after_relationship_ended(self, session: Session, row: dict[str, Any]) -> None:
        if not row["organisation_id"] or not row["record_ids"]:
            return
        lost = session.execute(
            _LOST_RECORDS,
            {
                "organisation": row["organisation_id"],
                "records": row["record_ids"],
                "grace": self.thresholds.relationship_grace,
                "at": row["occurred_at"],
            },
        ).first()
        if lost is not None:
            self.raise_after_relationship_ended(session, row, dict(lost._mapping))

    def reads_of_lost_record(self, session: Session, loss: dict[str, Any]) -> None:
        """A loss arriving after reads that followed it (topics are consumed apart)."""
        after = loss["ended_at"] + self.thresholds.relationship_grace
        for read in session.execute(
            _READS_OF_LOST,
            {"organisation": loss["organisation_id"], "record": loss["record_id"], "after": after},
        ).mappings():
            self.raise_after_relationship_ended(session, dict(read), loss)

    def raise_after_relationship_ended(
        self, session: Session, row: dict[str, Any], loss: dict[str, Any]
    ) -> None:
        """Once per account and loss: the loss event is the alert's first evidence."""
        rule, account = "after_relationship_ended", row["account_id"]
        found = session.execute(
            _RAISED_FOR, {"rule": rule, "account": account, "evidence": loss["event_id"]}
        )
        if found.first():
            return
        waited = int((row["occurred_at"] - loss["ended_at"]).total_seconds())
        summary = (
            f"read {loss['record_id']} {waited} s after the organisation lost it ({loss['cause']})"
        )
        self._raise(
            session, rule, row, summary, loss["ended_at"], 1, [loss["event_id"], row["event_id"]]
        )

    @staticmethod
    def _granted_role(action: str) -> str:
        return action.rsplit(":", 1)[-1]

    @staticmethod
    def _open(session: Session, rule: str, account: str, since: datetime) -> bool:
        found = session.execute(_OPEN_SINCE, {"rule": rule, "account": account, "since": since})
        return found.first() is not None

    def _raise(
        self,
        session: Session,
        rule: str,
        row: dict[str, Any],
        summary: str,
        first: datetime,
        count: int,
        evidence: list[uuid.UUID],
    ) -> None:
        alert = AccessAlertRaised(
            alert_id=uuid.uuid4(),
            rule=rule,
            account_id=row["account_id"],
            organisation_id=row.get("organisation_id"),
            summary=summary,
            first_seen_at=first,
            last_seen_at=row["occurred_at"],
            count=count,
        )
        session.execute(
            insert(access_alerts).values(
                id=alert.alert_id,
                rule=rule,
                account_id=alert.account_id,
                organisation_id=alert.organisation_id,
                summary=summary,
                first_seen_at=first,
                last_seen_at=alert.last_seen_at,
                count=count,
                evidence=list(evidence)[:1000],
                raised_at=datetime.now(UTC),
            )
        )
        # As for checkpoints: queued in the session's info, written by the outbox's
        # before_commit listener, which runs after the trail's.
        await_only(self.outbox.add(session, alert))  # type: ignore[arg-type]
