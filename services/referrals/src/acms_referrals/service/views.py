"""A request as one caller may see it: only the fields of the tiers granted to them.
Fields of other tiers are absent from the answer (not null, not redacted).

Where the request is now (its school, the provider and the case manager working it) is
shown only with the `school` grant: after ENROL moves a student, the party who made the
request keeps it as written, its status history and decline reason, but nothing that
says where the student went."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from acms_referrals.schemas import ReferralView
from acms_referrals.service.case_moves import ACTION as CASE_TRANSFERRED
from acms_referrals.service.enrolment import ACTION as ENROLMENT_CHANGED
from acms_referrals.service.enrolment import TRANSFERRED

# Transition details kept for audit but not shown in a request's history: a decline's reason
# (shown as `decline_reason` where granted) and the school a student left on a move (the
# "school last attended" of the demographic tier, which no tier of a request grants).
HIDDEN_DETAIL = frozenset({"reason", "from_school_id"})


def _id(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def basic(row: Row[Any], names: dict[UUID, str]) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "status": row.status,
        "version": row.version,
        "student_name": row.student_name,
        "primary_contact_name": (
            names.get(row.primary_contact_id) if row.primary_contact_id else None
        ),
        "opened_at": row.created_at.isoformat(),
    }


def basic_whereabouts(row: Row[Any], names: dict[UUID, str]) -> dict[str, Any]:
    return {
        "school_id": _id(row.school_id),
        "provider_id": _id(row.provider_id),
        "case_manager_name": names.get(row.assignee_id) if row.assignee_id else None,
    }


def summary(row: Row[Any], history: list[Row[Any]] | None, school: bool) -> dict[str, Any]:
    student = row.details.get("student") or {}
    fields: dict[str, Any] = {
        "nsn": row.nsn,
        "year_level": student.get("year_level"),
        "reason_category": row.reason_category,
        "decline_reason": row.decline_reason,
        "updated_at": row.updated_at.isoformat(),
    }
    if history is not None:
        fields["history"] = [_entry(row, h, school) for h in history]
    return fields


def summary_whereabouts(row: Row[Any]) -> dict[str, Any]:
    return {"provider_type": row.provider_type, "assignee_id": _id(row.assignee_id)}


def _entry(row: Row[Any], h: Row[Any], school: bool) -> dict[str, Any]:
    """One transition. Without the school, what happened and when, and who only when it
    was someone of the creator's organisation: details name schools, providers and case
    managers, and an actor of the new provider says where the request went."""
    entry: dict[str, Any] = {
        "action": h.action,
        "from_status": h.from_status,
        "to_status": h.to_status,
        "at": h.at.isoformat(),
    }
    if not school:
        if h.actor_org_id is not None and h.actor_org_id == row.creator_org_id:
            entry["actor_id"] = h.actor_id
        return entry
    detail = {k: v for k, v in h.detail.items() if k not in HIDDEN_DETAIL}
    if h.action in (ENROLMENT_CHANGED, TRANSFERRED, CASE_TRANSFERRED) and detail.get(
        "school_id"
    ) != _id(row.school_id):
        # A school the student has left since (A→B→A: B) is a school last attended.
        detail.pop("school_id", None)
    return {**entry, "actor_id": h.actor_id, **detail}


# The request as written (`details`, the content's fields but its school and contact).
WRITTEN = ("student", "whanau", "reason_category", "reason_text", "actions_taken", "pastoral")


def full(row: Row[Any]) -> dict[str, Any]:
    """The request as written."""
    return {
        **{name: row.details[name] for name in WRITTEN if name in row.details},
        "primary_contact_id": _id(row.primary_contact_id),
        "created_by": row.created_by,
        "creator_org_id": _id(row.creator_org_id),
    }


def duplicates(row: Row[Any], open_rows: list[Row[Any]]) -> list[dict[str, Any]]:
    """The student's other open requests (and their active cases), oldest first."""
    return [
        {"request_id": str(o.id), "status": o.status, "case_id": _id(o.case_id)}
        for o in open_rows
        if o.student_key == row.student_key and o.id != row.id
    ]


def project(
    row: Row[Any],
    tiers: list[str],
    names: dict[UUID, str],
    history: list[Row[Any]] | None = None,
    open_rows: list[Row[Any]] | None = None,
) -> ReferralView:
    """The view of the granted tiers: every group is built, only granted ones are kept
    (`TieredView.project` refuses a field filed under the wrong tier)."""
    school = "school" in tiers
    groups = {
        "basic": basic(row, names),
        "basic+school": basic_whereabouts(row, names),
        "summary": summary(row, history if "summary" in tiers else None, school),
        "summary+school": summary_whereabouts(row),
        "full": full(row) if "full" in tiers else {},
        "duplicates": (
            {"possible_duplicate_of": duplicates(row, open_rows or [])}
            if "duplicates" in tiers
            else {}
        ),
    }
    return ReferralView.project(tiers, groups, tiers=tiers)


def people_of(rows: list[Row[Any]]) -> set[UUID]:
    """Accounts whose names a basic view shows."""
    return {p for r in rows for p in (r.assignee_id, r.primary_contact_id) if p is not None}
