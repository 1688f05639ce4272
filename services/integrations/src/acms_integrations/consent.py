"""Consents, and what case teams share under them (ACCESS-MODEL section 7; the privacy
statement: "Personal information will only be shared with the student and/or parent's
agreement").

A consent from the student or a parent covers one party (an agency-type organisation: a
government agency asked for additional support, or a third party such as a community
transport service), one purpose and a set of fields, from when it was given until it
expires or is withdrawn. A share names the party, purpose and fields; it is made only if a
valid consent covers all three (else 422 saying so), is logged as a disclosure in its own
transaction, and is readable by the party only while that consent stands. The consent row
is locked while a share is made, so a withdrawal and a share never interleave: once the
withdrawal commits, no share under it is made and no party reads one.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from acms_integrations import case_relationships, disclosures
from acms_integrations.agency_context import CONSENT, SHARE, SharingContext, org_type_of
from acms_integrations.agency_schemas import (
    SHAREABLE_FIELDS,
    ConsentView,
    NewConsent,
    NewShare,
    PartnerShareView,
    ShareView,
    Withdrawal,
)
from acms_integrations.agency_tables import case_relationships as relationships
from acms_integrations.agency_tables import consents, shares
from acms_integrations.errors import Invalid
from acms_integrations.tables import organisations
from acms_platform.errors import Conflict
from acms_platform.policy import PolicyResource

CLOCK_SKEW_SECONDS = 300


def _case_attr(case: Any) -> dict[str, Any]:
    return {
        "provider_id": str(case.provider_id or ""),
        "case_manager_id": str(case.case_manager_id or ""),
        "case_open": bool(case.open),
    }


def valid_now(table: Any = consents) -> ColumnElement[bool]:
    """The consent stands now: given, not expired, not withdrawn (SQL)."""
    return and_(
        table.c.withdrawn_at.is_(None),
        table.c.given_at <= func.now(),
        table.c.expires_at > func.now(),
    )


def _is_valid(row: Any, now: Any) -> bool:
    return row.withdrawn_at is None and row.given_at <= now < row.expires_at


async def _case(ctx: SharingContext, kind: Any, case_id: UUID) -> Row[Any]:
    case = await case_relationships.relationship(ctx.session, case_id)
    if case is None:
        raise ctx.access.missing(kind, f"case:{case_id}")
    return case


async def _case_authorised(
    ctx: SharingContext, kind: Any, case_id: UUID, action: str | None
) -> Row[Any]:
    """404 unless the caller is on the case's team; 403 if on it but not allowed `action`."""
    case = await _case(ctx, kind, case_id)
    resource = PolicyResource(kind.name, f"case:{case_id}", _case_attr(case))
    await ctx.access.authorise(kind, resource, action, student_key=case.student_key)
    return case


async def record_consent(ctx: SharingContext, case_id: UUID, command: NewConsent) -> ConsentView:
    case = await _case_authorised(ctx, CONSENT, case_id, "record")
    now = ctx.now()
    problems = [
        (f"scope.{i}", f"{name} is not a field that may be shared")
        for i, name in enumerate(command.scope)
        if name not in SHAREABLE_FIELDS
    ]
    if command.given_at.timestamp() > now.timestamp() + CLOCK_SKEW_SECONDS:
        problems.append(("given_at", "in the future"))
    if command.expires_at <= command.given_at:
        problems.append(("expires_at", "not after given_at"))
    elif command.expires_at <= now:
        problems.append(("expires_at", "already past"))
    party_type = await org_type_of(ctx.session, command.party_org_id)
    if party_type != "agency":
        problems.append(
            ("party_org_id", f"no agency or third party {command.party_org_id} is known here")
        )
    if problems:
        raise Invalid(problems)
    row = (
        await ctx.session.execute(
            insert(consents)
            .values(
                id=uuid.uuid4(),
                case_id=case_id,
                student_key=case.student_key,
                party_org_id=command.party_org_id,
                purpose=command.purpose,
                scope=sorted(set(command.scope)),
                given_by_name=command.given_by_name,
                given_by_relationship=command.given_by_relationship,
                given_at=command.given_at,
                expires_at=command.expires_at,
                recorded_by=ctx.actor_id,
                recorded_at=now,
            )
            .returning(consents)
        )
    ).one()
    return consent_view(row, now)


async def list_consents(ctx: SharingContext, case_id: UUID) -> list[ConsentView]:
    case = await _case_authorised(ctx, CONSENT, case_id, None)
    rows = (
        await ctx.session.execute(
            select(consents).where(consents.c.case_id == case_id).order_by(consents.c.recorded_at)
        )
    ).all()
    now = ctx.now()
    for row in rows:
        ctx.access.returned(
            CONSENT, row.id, case.student_key, ["full"], decided_on=f"case:{case_id}"
        )
    return [consent_view(row, now) for row in rows]


async def withdraw_consent(ctx: SharingContext, consent_id: UUID, body: Withdrawal) -> ConsentView:
    row = (
        await ctx.session.execute(
            select(consents).where(consents.c.id == consent_id).with_for_update()
        )
    ).first()
    if row is None:
        raise ctx.access.missing(CONSENT, consent_id)
    case = await _case(ctx, CONSENT, row.case_id)
    resource = PolicyResource("consent", str(consent_id), _case_attr(case))
    await ctx.access.authorise(CONSENT, resource, "withdraw", student_key=row.student_key)
    if row.withdrawn_at is not None:
        raise Conflict("this consent has been withdrawn already")
    now = ctx.now()
    updated = (
        await ctx.session.execute(
            update(consents)
            .where(consents.c.id == consent_id)
            .values(withdrawn_at=now, withdrawn_by=ctx.actor_id, withdrawal_note=body.note)
            .returning(consents)
        )
    ).one()
    return consent_view(updated, now)


async def share(ctx: SharingContext, case_id: UUID, command: NewShare) -> ShareView:
    """Share under a valid consent covering the party, the purpose and every field."""
    case = await _case_authorised(ctx, SHARE, case_id, "create")
    candidates = (
        await ctx.session.execute(
            select(consents)
            .where(
                consents.c.case_id == case_id,
                consents.c.party_org_id == command.party_org_id,
                consents.c.purpose == command.purpose,
                valid_now(),
            )
            .order_by(consents.c.expires_at.desc())
            .with_for_update()
        )
    ).all()
    wanted = set(command.fields)
    consent = next((c for c in candidates if wanted <= set(c.scope)), None)
    if consent is None:
        if candidates:
            uncovered = sorted(wanted - set().union(*(set(c.scope) for c in candidates)))
            detail = (
                f"no valid consent covers {', '.join(uncovered) or 'these fields together'}"
                f" for sharing with {command.party_org_id} ({command.purpose})"
            )
        else:
            detail = (
                f"no valid consent from the student or a parent covers sharing with "
                f"{command.party_org_id} for {command.purpose}: record one first (a withdrawn "
                "or expired consent does not count)"
            )
        raise Invalid([("consent", detail)])
    now = ctx.now()
    party = await ctx.session.execute(
        select(organisations.table.c.name).where(organisations.table.c.id == command.party_org_id)
    )
    row = (
        await ctx.session.execute(
            insert(shares)
            .values(
                id=uuid.uuid4(),
                consent_id=consent.id,
                case_id=case_id,
                student_key=case.student_key,
                recipient_org_id=command.party_org_id,
                purpose=command.purpose,
                fields=dict(command.fields),
                note=command.note,
                shared_by=ctx.actor_id,
                shared_at=now,
            )
            .returning(shares)
        )
    ).one()
    await disclosures.record(
        ctx.session,
        at=now,
        by=ctx.actor_id,
        kind=command.purpose,
        recipient_org_id=command.party_org_id,
        recipient=party.scalar_one(),
        fields=list(command.fields),
        student_key=case.student_key,
        case_id=case_id,
        record_id=row.id,
        consent_id=consent.id,
    )
    ctx.access.returned(SHARE, row.id, case.student_key, ["full"], decided_on=f"case:{case_id}")
    return ShareView.model_validate(row._mapping)


async def list_shares(ctx: SharingContext, case_id: UUID) -> list[ShareView]:
    case = await _case_authorised(ctx, SHARE, case_id, None)
    rows = (
        await ctx.session.execute(
            select(shares).where(shares.c.case_id == case_id).order_by(shares.c.shared_at)
        )
    ).all()
    for row in rows:
        ctx.access.returned(SHARE, row.id, case.student_key, ["full"], decided_on=f"case:{case_id}")
    return [ShareView.model_validate(row._mapping) for row in rows]


# The partner's view: every attribute the share policy reads, as SQL over shares joined
# to their consent and case.
_CONSENT_VALID = valid_now().label("consent_valid")


def _partner_statement() -> Any:
    return (
        select(
            shares,
            relationships.c.provider_id,
            relationships.c.case_manager_id,
            relationships.c.open,
            _CONSENT_VALID,
        )
        .join(consents, consents.c.id == shares.c.consent_id)
        .join(relationships, relationships.c.case_id == shares.c.case_id)
    )


def _share_resource(row: Any) -> PolicyResource:
    return PolicyResource(
        "share",
        str(row.id),
        {
            "provider_id": str(row.provider_id or ""),
            "case_manager_id": str(row.case_manager_id or ""),
            "case_open": bool(row.open),
            "recipient_org_id": str(row.recipient_org_id),
            "consent_valid": bool(row.consent_valid),
        },
    )


async def partner_shares(ctx: SharingContext, limit: int) -> list[PartnerShareView]:
    """What was shared with the caller's organisation under consents that stand now. The
    candidates are narrowed in SQL to the caller's organisation and standing consents;
    each is then decided by the policy, and any it refuses is left out (fail closed)."""
    org = ctx.access.actor.org_id
    statement = (
        _partner_statement()
        .where(shares.c.recipient_org_id == org, valid_now())
        .order_by(shares.c.shared_at.desc())
        .limit(limit)
    )
    rows = (await ctx.session.execute(statement)).all()
    granted = await ctx.access.tiers_of(SHARE, [_share_resource(r) for r in rows])
    visible = [r for r in rows if "full" in granted.get(str(r.id), [])]
    for row in visible:
        ctx.access.returned(SHARE, row.id, row.student_key, ["full"])
    return [PartnerShareView.model_validate(r._mapping) for r in visible]


async def partner_share(ctx: SharingContext, share_id: UUID) -> PartnerShareView:
    row = (await ctx.session.execute(_partner_statement().where(shares.c.id == share_id))).first()
    if row is None:
        raise ctx.access.missing(SHARE, share_id)
    await ctx.access.authorise(SHARE, _share_resource(row), student_key=row.student_key)
    ctx.access.returned(SHARE, row.id, row.student_key, ["full"])
    return PartnerShareView.model_validate(row._mapping)


def consent_view(row: Any, now: Any) -> ConsentView:
    return ConsentView(
        **{k: v for k, v in row._mapping.items() if k != "student_key"}, valid=_is_valid(row, now)
    )
