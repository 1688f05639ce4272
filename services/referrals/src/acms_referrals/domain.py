"""The lifecycle of a request for support, as plain Python (no database, no HTTP).

`draft → submitted → (withdrawn | declined | accepted) → allocated → assigned`, with
re-allocation while allocated or assigned. Who may make a transition is the policy's
business (policies/referral.yaml); *when* it may be made is decided here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"
    ACCEPTED = "accepted"
    ALLOCATED = "allocated"
    ASSIGNED = "assigned"


@dataclass(frozen=True)
class Transition:
    action: str
    from_states: frozenset[Status]
    to_state: Status


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("edit", frozenset({Status.DRAFT}), Status.DRAFT),
        Transition("submit", frozenset({Status.DRAFT}), Status.SUBMITTED),
        Transition("withdraw", frozenset({Status.SUBMITTED}), Status.WITHDRAWN),
        Transition("decline", frozenset({Status.SUBMITTED}), Status.DECLINED),
        Transition("accept", frozenset({Status.SUBMITTED}), Status.ACCEPTED),
        Transition("allocate", frozenset({Status.ACCEPTED}), Status.ALLOCATED),
        # A re-allocated request goes back to the new provider's queue, unassigned.
        Transition("reallocate", frozenset({Status.ALLOCATED, Status.ASSIGNED}), Status.ALLOCATED),
        Transition("assign", frozenset({Status.ALLOCATED}), Status.ASSIGNED),
    )
}


class WrongState(Exception):
    """The transition is not possible from the request's current state (409)."""

    def __init__(self, action: str, current: Status) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[action].from_states))
        super().__init__(
            f"cannot {action} a request that is {current.value} (only when: {allowed})"
        )
        self.action, self.current = action, current


class StaleVersion(Exception):
    """Someone else changed the request since the caller read it (409)."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            f"the request changed since you read it: you sent version {expected}, "
            f"it is now at version {current}; reload and try again"
        )
        self.expected, self.current = expected, current


def next_status(action: str, current: Status) -> Status:
    transition = TRANSITIONS[action]
    if current not in transition.from_states:
        raise WrongState(action, current)
    return transition.to_state


def check_version(expected: int, current: int) -> None:
    if expected != current:
        raise StaleVersion(expected, current)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def missing_for_submit(
    details: Mapping[str, Any],
    *,
    school_id: Any,
    primary_contact_id: Any,
    school_from_enrol: bool = False,
) -> list[str]:
    """Names of the fields a request must have before it can be submitted. A school set by
    ENROL, none included (enrolled nowhere), is the student's school as known: it is not
    missing, and whether it is none is not the creator's to learn from a refusal."""
    student = details.get("student") or {}
    not_enrolled = bool(student.get("not_enrolled"))
    required: dict[str, Any] = {
        "student.given_name": student.get("given_name"),
        "student.family_name": student.get("family_name"),
        "student.date_of_birth": student.get("date_of_birth"),
        "reason_category": details.get("reason_category"),
        "reason_text": details.get("reason_text"),
        "actions_taken": details.get("actions_taken"),
        "whanau": details.get("whanau"),
        "primary_contact_id": primary_contact_id,
    }
    if not not_enrolled:
        # A student enrolled somewhere has an NSN and a school; a non-enrolment request
        # may lack both.
        required["student.nsn"] = student.get("nsn")
        if not school_from_enrol:
            required["school_id"] = school_id
    return sorted(name for name, value in required.items() if _blank(value))
