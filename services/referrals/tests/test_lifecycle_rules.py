"""The lifecycle as plain domain rules (no I/O): which transition is possible from which
state, versions, and what submit requires."""

import pytest

from acms_referrals.domain import (
    TRANSITIONS,
    StaleVersion,
    Status,
    WrongState,
    check_version,
    missing_for_submit,
    next_status,
)

ALLOWED = {
    ("edit", Status.DRAFT): Status.DRAFT,
    ("submit", Status.DRAFT): Status.SUBMITTED,
    ("withdraw", Status.SUBMITTED): Status.WITHDRAWN,
    ("decline", Status.SUBMITTED): Status.DECLINED,
    ("accept", Status.SUBMITTED): Status.ACCEPTED,
    ("allocate", Status.ACCEPTED): Status.ALLOCATED,
    ("reallocate", Status.ALLOCATED): Status.ALLOCATED,
    ("reallocate", Status.ASSIGNED): Status.ALLOCATED,
    ("assign", Status.ALLOCATED): Status.ASSIGNED,
}


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
@pytest.mark.parametrize("current", list(Status))
def test_each_transition_is_possible_only_from_its_states(action, current):
    if (action, current) in ALLOWED:
        assert next_status(action, current) is ALLOWED[action, current]
    else:
        with pytest.raises(WrongState) as refused:
            next_status(action, current)
        assert refused.value.current is current


def test_wrong_state_message_names_the_current_state():
    with pytest.raises(WrongState, match="cannot accept a request that is declined"):
        next_status("accept", Status.DECLINED)


def test_withdrawn_and_declined_requests_are_final():
    for final in (Status.WITHDRAWN, Status.DECLINED):
        assert all(final not in t.from_states for t in TRANSITIONS.values())


def test_a_stale_version_is_refused_with_the_current_one():
    check_version(3, 3)
    with pytest.raises(StaleVersion) as refused:
        check_version(2, 3)
    assert refused.value.current == 3 and "version 3" in str(refused.value)


def test_submit_lists_every_missing_required_field_by_name():
    missing = missing_for_submit({"student": {}}, school_id=None, primary_contact_id=None)
    assert missing == [
        "actions_taken",
        "primary_contact_id",
        "reason_category",
        "reason_text",
        "school_id",
        "student.date_of_birth",
        "student.family_name",
        "student.given_name",
        "student.nsn",
        "whanau",
    ]


def test_a_non_enrolment_request_needs_neither_nsn_nor_school():
    details = {
        "student": {
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": "2014-01-01",
            "not_enrolled": True,
        },
        "reason_category": "non_enrolment",
        "reason_text": "Not enrolled since moving to the area.",
        "actions_taken": "Visited the family.",
        "whanau": [{"name": "C"}],
    }
    assert missing_for_submit(details, school_id=None, primary_contact_id="someone") == []


def test_a_school_enrol_set_is_not_missing_even_when_it_is_none():
    """ENROL's answer is the student's school: a creator who is not told that it is none
    must not learn it from what submit says is missing."""
    details = {
        "student": {
            "nsn": "123456789",
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": "2014-01-01",
        },
        "reason_category": "chronic_absence",
        "reason_text": "Away.",
        "actions_taken": "Called.",
        "whanau": [{"name": "C"}],
    }
    assert missing_for_submit(details, school_id=None, primary_contact_id="x") == ["school_id"]
    assert (
        missing_for_submit(details, school_id=None, primary_contact_id="x", school_from_enrol=True)
        == []
    )
