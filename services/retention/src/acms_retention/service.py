"""Use cases of the privacy officer's view: each read of the trail is authorised by the
policy (404 for anyone else, the refusal audited) and is itself audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform.access import Actor
from acms_platform.audit import access_decision, record_access, record_denial
from acms_platform.database import Database
from acms_platform.errors import NotFound
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyClient, PolicyResource

SERVICE = "retention"
KIND = "audit_trail"
RULE = "privacy_officer_reads_the_audit_trail"
TRAIL = PolicyResource(KIND, "trail")


class Officer:
    """The caller, once the policy let them read the trail: their reads are audited."""

    def __init__(self, actor: Actor, session: AsyncSession, outbox: Outbox) -> None:
        self.actor, self.session, self.outbox = actor, session, outbox

    @property
    def account_id(self) -> str:
        return str(self.actor.account_id)

    async def audited(self, action: str, what: str, student_key: str | None = None) -> None:
        decision = access_decision(
            self.actor.principal,
            service=SERVICE,
            resource_kind=KIND,
            resource_id=what,
            action=action,
            allowed=True,
            tiers=["full"],
            rule=RULE,
            student_key=student_key,
        )
        await record_access(self.session, self.outbox, decision)


async def authorise(
    actor: Actor,
    action: str,
    *,
    policy: PolicyClient,
    database: Database,
    session: AsyncSession,
    outbox: Outbox,
) -> Officer:
    """The officer, or 404 exactly as for a route that does not exist (the refusal audited
    in a transaction of its own). `actor` is the kit's: an account retention does not know,
    a disabled one or a revoked role was refused (401) before this."""
    if not await policy.is_allowed(actor.policy_principal, TRAIL, action):
        decision = access_decision(
            actor.principal,
            service=SERVICE,
            resource_kind=KIND,
            resource_id=TRAIL.id,
            action=action,
            allowed=False,
        )
        await record_denial(database, outbox, decision)
        raise NotFound("Not Found")
    return Officer(actor, session, outbox)


CSV_COLUMNS = (
    "occurred_at",
    "account_id",
    "organisation_id",
    "roles",
    "action",
    "record_id",
    "kind",
    "tiers",
    "rule",
    "trace_id",
    "event_id",
)


def as_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Lists joined by spaces; a cell a spreadsheet would run as a formula is quoted off."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    value = str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
