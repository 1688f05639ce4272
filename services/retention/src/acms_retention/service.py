"""Use cases of the privacy officer's view: each read of the trail is authorised by the
policy (404 for anyone else, the refusal audited) and is itself audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from acms_platform.access import RequestAccess, ResourceKind
from acms_platform.errors import NotFound
from acms_platform.policy import PolicyResource

KIND = ResourceKind("audit_trail", "audit trail", {"full": "search"})
TRAIL = PolicyResource(KIND.name, "trail")


class Officer:
    """The caller, once the policy let them read the trail: what they read goes in the
    request's one audit event (the access kit's), like every other read."""

    def __init__(self, access: RequestAccess) -> None:
        self.access = access

    @property
    def account_id(self) -> str:
        return str(self.access.actor.account_id)

    def audited(self, what: str, student_key: str | None = None) -> None:
        self.access.returned(KIND, what, student_key, ["full"], decided_on=TRAIL.id)


async def authorise(access: RequestAccess, action: str) -> Officer:
    """The officer, or 404 exactly as for a route that does not exist (the kit records
    the refusal, in a transaction of its own). An account retention does not know, a
    disabled one or a revoked role was refused (401) before this."""
    if not await access.allowed(KIND, TRAIL, action):
        raise NotFound("Not Found")
    return Officer(access)


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
