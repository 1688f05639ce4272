"""The disclosure log: every disclosure of personal information outside the system — who
asked for it, which recipient, which fields, under which agreement or consent, when.
Append-only (migration 0006's trigger refuses any change); the privacy officer queries it,
for everyone or for one student."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from acms_integrations.agency_context import DISCLOSURE_LOG, SharingContext
from acms_integrations.agency_schemas import DisclosurePage, DisclosureView
from acms_integrations.agency_tables import disclosures
from acms_platform.policy import PolicyResource

LOG = PolicyResource("disclosure_log", "log")


async def record(
    session: AsyncSession,
    *,
    at: datetime,
    by: UUID,
    kind: str,
    recipient_org_id: UUID,
    recipient: str,
    fields: list[str],
    student_key: str,
    case_id: UUID,
    record_id: UUID,
    agreement: str | None = None,
    consent_id: UUID | None = None,
) -> None:
    """Log one disclosure, in the transaction that makes it."""
    await session.execute(
        insert(disclosures).values(
            disclosed_at=at,
            disclosed_by=by,
            kind=kind,
            recipient_org_id=recipient_org_id,
            recipient=recipient,
            fields=sorted(fields),
            agreement=agreement,
            consent_id=consent_id,
            student_key=student_key,
            case_id=case_id,
            record_id=record_id,
        )
    )


async def query(
    ctx: SharingContext,
    *,
    student_key: str | None,
    recipient_org_id: UUID | None,
    kind: str | None,
    before: int | None,
    limit: int,
) -> DisclosurePage:
    """Newest first, one page; 404 for everyone but the privacy officer."""
    await ctx.access.authorise(DISCLOSURE_LOG, LOG)
    statement = select(disclosures).order_by(disclosures.c.id.desc()).limit(limit + 1)
    filters: list[tuple[Any, Any]] = [
        (disclosures.c.student_key, student_key),
        (disclosures.c.recipient_org_id, recipient_org_id),
        (disclosures.c.kind, kind),
    ]
    for column, value in filters:
        if value is not None:
            statement = statement.where(column == value)
    if before is not None:
        statement = statement.where(disclosures.c.id < before)
    rows = (await ctx.session.execute(statement)).all()
    page = [DisclosureView.model_validate(row._mapping) for row in rows[:limit]]
    for view in page:
        ctx.access.returned(
            DISCLOSURE_LOG, str(view.id), view.student_key, ["full"], decided_on=LOG.id
        )
    return DisclosurePage(
        disclosures=page, next_before=page[-1].id if len(rows) > limit and page else None
    )
