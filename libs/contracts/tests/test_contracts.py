import json
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from acms_contracts import EventEnvelope, UnknownEventType, parse_envelope
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.identity import OrganisationRegistered
from acms_contracts.schemas import SCHEMA_DIR, breaking_changes, current_schemas
from acms_contracts.student_keys import student_key_for_nsn
from acms_contracts.vocabulary import OrgType


def test_envelope_round_trips_a_typed_event():
    event = OrganisationRegistered(
        organisation_id=uuid4(), org_type=OrgType.SCHOOL, name="Kōwhai School", region="Waikato"
    )
    envelope = EventEnvelope.wrap(event, producer="identity")
    parsed = parse_envelope(envelope.model_dump_json())
    assert parsed.event() == event
    assert parsed.key == str(event.organisation_id)


def test_envelope_with_unknown_event_type_is_rejected():
    envelope = EventEnvelope(event_type="Nope", schema_version=1, producer="x", key="k", payload={})
    with pytest.raises(UnknownEventType):
        parse_envelope(envelope.model_dump_json())


def test_envelope_with_invalid_payload_is_rejected():
    envelope = EventEnvelope(
        event_type="OrganisationRegistered", schema_version=1, producer="x", key="k", payload={}
    )
    with pytest.raises(ValidationError):
        parse_envelope(envelope.model_dump_json())


@pytest.mark.parametrize("file_name", sorted(current_schemas()))
def test_every_event_schema_is_committed_and_backward_compatible(file_name):
    committed = SCHEMA_DIR / file_name
    assert committed.exists(), (
        f"{file_name} is not committed: run `uv run python -m acms_contracts.schemas`"
    )
    assert breaking_changes(json.loads(committed.read_text()), current_schemas()[file_name]) == []


BASE = {
    "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
    "required": ["a"],
}


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ({"properties": {"a": {"type": "string"}}, "required": ["a"]}, "field 'b' was removed"),
        (
            {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a"]},
            "field 'a' changed type",
        ),
        ({**BASE, "required": ["a", "b"]}, "field 'b' became required"),
    ],
)
def test_breaking_changes_are_detected(new, reason):
    problems = breaking_changes(BASE, new)
    assert any(p.startswith(reason) for p in problems), problems


def test_adding_an_optional_field_is_compatible():
    new = {"properties": {**BASE["properties"], "c": {"type": "string"}}, "required": ["a"]}
    assert breaking_changes(BASE, new) == []


SECRET = "contracts-test-secret-NOT-SECRET-0123456789"


def test_enrolment_change_is_keyed_by_the_student_and_carries_no_nsn():
    event = StudentEnrolmentChanged(
        subject_student_key=student_key_for_nsn("123456789", SECRET),
        school_id=None,
        effective_on=date(2026, 3, 2),
        as_of=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    envelope = EventEnvelope.wrap(event, producer="integrations")
    assert envelope.key == envelope.student_key == student_key_for_nsn("123456789", SECRET)
    assert parse_envelope(envelope.model_dump_json()).event() == event
    assert "123456789" not in envelope.model_dump_json()


def test_enrolment_change_needs_an_as_of_with_an_offset():
    with pytest.raises(ValidationError):
        StudentEnrolmentChanged(
            subject_student_key="k",
            school_id=None,
            effective_on=date(2026, 3, 2),
            as_of=datetime(2026, 3, 2, 9),
        )
