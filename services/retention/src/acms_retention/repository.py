"""Queries of the audit trail for the privacy officer's view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Text, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from acms_retention.tables import access_alerts, audit_trail

MAX_ROWS = 1000


@dataclass(frozen=True)
class TrailFilter:
    account_id: str | None = None
    organisation_id: str | None = None
    student_key: str | None = None
    record_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in vars(self).values())


_ENTRY_COLUMNS = [
    audit_trail.c.event_id,
    audit_trail.c.event_type,
    audit_trail.c.occurred_at,
    audit_trail.c.account_id,
    audit_trail.c.organisation_id,
    audit_trail.c.roles,
    audit_trail.c.action,
    audit_trail.c.outcome,
    audit_trail.c.rule,
    audit_trail.c.trace_id,
    audit_trail.c.accesses,
    audit_trail.c.chain,
    audit_trail.c.seq,
    audit_trail.c.envelope,
]


async def search(session: AsyncSession, where: TrailFilter, limit: int) -> list[dict[str, Any]]:
    """Trail entries matching every given criterion, newest first, at most `limit`."""
    t = audit_trail.c
    query = select(*_ENTRY_COLUMNS)
    if where.account_id is not None:
        query = query.where(t.account_id == where.account_id)
    if where.organisation_id is not None:
        query = query.where(t.organisation_id == where.organisation_id)
    if where.student_key is not None:
        query = query.where(t.student_keys.contains([where.student_key]))
    if where.record_id is not None:
        query = query.where(t.record_ids.contains([where.record_id]))
    if where.occurred_from is not None:
        query = query.where(t.occurred_at >= where.occurred_from)
    if where.occurred_to is not None:
        query = query.where(t.occurred_at < where.occurred_to)
    query = query.order_by(t.occurred_at.desc(), t.chain, t.seq.desc()).limit(limit)
    return [dict(row) for row in (await session.execute(query)).mappings()]


_STUDENT_ACCESS = text(
    "SELECT t.occurred_at, t.account_id, t.organisation_id, t.roles, t.action, t.rule,"
    " t.trace_id, t.event_id, a->>'record_id' AS record_id, a->>'kind' AS kind,"
    " ARRAY(SELECT jsonb_array_elements_text(a->'tiers')) AS tiers"
    " FROM audit_trail t CROSS JOIN LATERAL jsonb_array_elements(t.accesses) AS a"
    " WHERE t.student_keys @> :keys AND t.outcome = 'allowed'"
    " AND a->>'student_key' = :key"
    " AND (CAST(:since AS timestamptz) IS NULL OR t.occurred_at >= :since)"
    " AND (CAST(:until AS timestamptz) IS NULL OR t.occurred_at < :until)"
    " ORDER BY t.occurred_at, t.event_id, record_id LIMIT :limit"
).bindparams(bindparam("keys", type_=ARRAY(Text)))


async def student_access(
    session: AsyncSession,
    student_key: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Everyone who was shown a record of this student: who, which record, which tiers,
    when, by which rule — oldest first."""
    rows = await session.execute(
        _STUDENT_ACCESS,
        {"keys": [student_key], "key": student_key, "since": since, "until": until, "limit": limit},
    )
    return [dict(row) for row in rows.mappings()]


async def list_alerts(
    session: AsyncSession, status: str, rule: str | None, account_id: str | None, limit: int
) -> list[dict[str, Any]]:
    a = access_alerts.c
    query = select(access_alerts).order_by(a.raised_at.desc()).limit(limit)
    if status == "open":
        query = query.where(a.acknowledged_at.is_(None))
    elif status == "acknowledged":
        query = query.where(a.acknowledged_at.is_not(None))
    if rule is not None:
        query = query.where(a.rule == rule)
    if account_id is not None:
        query = query.where(a.account_id == account_id)
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def acknowledge_alert(
    session: AsyncSession, alert_id: UUID, by: str, note: str
) -> dict[str, Any] | None:
    """The alert acknowledged now; None when there is no such alert, or it already was
    (the caller tells which)."""
    a = access_alerts.c
    acknowledged = await session.execute(
        update(access_alerts)
        .where(a.id == alert_id, a.acknowledged_at.is_(None))
        .values(acknowledged_at=func.now(), acknowledged_by=by, note=note)
        .returning(access_alerts)
    )
    found = acknowledged.mappings().first()
    return dict(found) if found else None


async def get_alert(session: AsyncSession, alert_id: UUID) -> dict[str, Any] | None:
    found = await session.execute(select(access_alerts).where(access_alerts.c.id == alert_id))
    row = found.mappings().first()
    return dict(row) if row else None
