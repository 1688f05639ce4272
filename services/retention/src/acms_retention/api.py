"""HTTP routes of the retention service: the platform's `GET /organisations/{id}`, and the
privacy officer's view of the audit trail (everyone else 404)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from acms_contracts.retention import AccessAlertAcknowledged
from acms_contracts.student_keys import NSN_PATTERN
from acms_platform.access import Access
from acms_platform.dependencies import DbSession, ServiceOutbox, ServiceRuntime
from acms_platform.errors import Conflict, Invalid, NotFound
from acms_retention import repository, service
from acms_retention.config import checkpoint_key
from acms_retention.schemas import (
    Acknowledgement,
    Alert,
    StudentAccess,
    StudentAccessReport,
    TrailEntry,
    TrailPage,
    Verification,
)
from acms_retention.tables import projections
from acms_retention.trail.verification import verify_trail

router = APIRouter()
# Everyone but the privacy officer gets 404, as for a route that does not exist.
OFFICERS_ONLY: dict[int | str, dict[str, str]] = {404: {"description": "not a privacy officer"}}


def officer_for(action: str):  # type: ignore[no-untyped-def]
    async def authorised(access: Access) -> service.Officer:
        return await service.authorise(access, action)

    return Depends(authorised)


Limit = Annotated[int, Query(ge=1, le=repository.MAX_ROWS)]
Since = Annotated[AwareDatetime | None, Query(description="from this moment (inclusive)")]
Until = Annotated[AwareDatetime | None, Query(description="to this moment (exclusive)")]


@router.get("/audit/events", response_model=TrailPage, tags=["audit"], responses=OFFICERS_ONLY)
async def search_trail(
    session: DbSession,
    runtime: ServiceRuntime,
    officer: Annotated[service.Officer, officer_for("search")],
    account_id: str | None = None,
    organisation_id: UUID | None = None,
    student_key: str | None = None,
    nsn: Annotated[str | None, Query(pattern=NSN_PATTERN)] = None,
    record_id: str | None = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 100,
) -> TrailPage:
    """Trail entries matching every criterion given, newest first."""
    key = _one_student(runtime, nsn, student_key, required=False)
    where = repository.TrailFilter(
        account_id=account_id,
        organisation_id=str(organisation_id) if organisation_id else None,
        student_key=key,
        record_id=record_id,
        occurred_from=since,
        occurred_to=until,
    )
    entries = await repository.search(session, where, limit + 1)
    officer.audited(_described(where), key)
    return TrailPage(
        entries=[TrailEntry.model_validate(entry) for entry in entries[:limit]],
        truncated=len(entries) > limit,
    )


@router.get(
    "/audit/student-access",
    response_model=StudentAccessReport,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **OFFICERS_ONLY},
    tags=["audit"],
)
async def student_access(
    session: DbSession,
    runtime: ServiceRuntime,
    officer: Annotated[service.Officer, officer_for("view_student_access")],
    student_key: str | None = None,
    nsn: Annotated[str | None, Query(pattern=NSN_PATTERN)] = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    format: Literal["json", "csv"] = "json",
) -> StudentAccessReport | Response:
    """Everyone who saw this student's records, with which tiers, when (oldest first);
    `format=csv` for a spreadsheet."""
    key = _one_student(runtime, nsn, student_key, required=True)
    assert key is not None
    rows = await repository.student_access(session, key, since, until, limit + 1)
    officer.audited(f"student:{key}", key)
    truncated, rows = len(rows) > limit, rows[:limit]
    if format == "csv":
        headers = {
            "content-disposition": 'attachment; filename="student-access.csv"',
            "x-truncated": str(truncated).lower(),
        }
        return Response(service.as_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    accesses = [StudentAccess.model_validate(row) for row in rows]
    return StudentAccessReport(student_key=key, accesses=accesses, truncated=truncated)


@router.get(
    "/audit/verification", response_model=Verification, tags=["audit"], responses=OFFICERS_ONLY
)
async def verification(
    runtime: ServiceRuntime,
    officer: Annotated[service.Officer, officer_for("view_verification")],
) -> dict:
    """Verifies the whole trail now (every link, every checkpoint) and says where it
    breaks. On a large trail prefer `python -m acms_retention.verify`."""
    async with runtime.database.engine.connect() as connection:
        raw: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        result = await verify_trail(raw, checkpoint_key(runtime.settings))
    officer.audited("trail")
    return result.as_json()


def _one_student(
    runtime: ServiceRuntime, nsn: str | None, student_key: str | None, *, required: bool
) -> str | None:
    if nsn is not None and student_key is not None:
        raise Invalid("nsn", "give the student's nsn or student_key, not both")
    if nsn is not None:
        return runtime.settings.student_key(nsn)
    if student_key is None and required:
        raise Invalid("nsn", "name the student: nsn or student_key")
    return student_key


def _described(where: repository.TrailFilter) -> str:
    given = {k: v for k, v in vars(where).items() if v is not None}
    return "search:" + ",".join(f"{k}={v}" for k, v in sorted(given.items()))[:190]


@router.get("/audit/alerts", response_model=list[Alert], tags=["audit"], responses=OFFICERS_ONLY)
async def list_alerts(
    session: DbSession,
    officer: Annotated[service.Officer, officer_for("list_alerts")],
    status: Literal["open", "acknowledged", "all"] = "open",
    rule: str | None = None,
    account_id: str | None = None,
    limit: Limit = 100,
) -> list[dict]:
    """Alerts, newest first (open ones by default)."""
    found = await repository.list_alerts(session, status, rule, account_id, limit)
    officer.audited(f"alerts:{status}")
    return found


@router.post(
    "/audit/alerts/{alert_id}/acknowledgement",
    response_model=Alert,
    tags=["audit"],
    responses=OFFICERS_ONLY,
)
async def acknowledge_alert(
    alert_id: UUID,
    body: Acknowledgement,
    session: DbSession,
    outbox: ServiceOutbox,
    officer: Annotated[service.Officer, officer_for("acknowledge_alert")],
) -> dict:
    """Acknowledge an open alert with a note; published as AccessAlertAcknowledged."""
    acknowledged = await repository.acknowledge_alert(
        session, alert_id, officer.account_id, body.note
    )
    if acknowledged is None:
        if await repository.get_alert(session, alert_id) is None:
            raise NotFound(f"no alert {alert_id}")
        raise Conflict(f"alert {alert_id} is already acknowledged")
    await outbox.add(
        session,
        AccessAlertAcknowledged(
            alert_id=alert_id,
            account_id=acknowledged["account_id"],
            acknowledged_by=officer.account_id,
            note=body.note,
        ),
    )
    officer.audited(f"alert:{alert_id}")
    return acknowledged


routers = [projections.router, router]
