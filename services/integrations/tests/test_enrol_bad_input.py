"""Bad ENROL input is 422 naming the field, and a batch with one bad row records nothing."""

import uuid
from datetime import timedelta, timezone

import pytest

from acms_integrations.schemas import MAX_CHANGES_PER_BATCH

from .feed import T0, change, new_nsn, post, recorded

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"nsn": "12345678"}, "changes.0.nsn"),  # 8 digits
        ({"nsn": "12345678901"}, "changes.0.nsn"),  # 11 digits
        ({"nsn": "12345678a"}, "changes.0.nsn"),
        ({"school_id": "not-a-uuid"}, "changes.0.school_id"),
        ({"as_of": "2026-02-02T09:00:00"}, "changes.0.as_of"),  # no offset
        ({"as_of": "2999-01-01T00:00:00+00:00"}, "changes.0.as_of"),
        ({"effective_on": "2999-01-01"}, "changes.0.effective_on"),
        ({"effective_on": "yesterday"}, "changes.0.effective_on"),
        ({"year_level": 7}, "changes.0.year_level"),
    ],
)
async def test_a_malformed_row_is_422_naming_its_field(world, override, field):
    response = await post(world, {**change(world, new_nsn(), "school_a"), **override})
    assert field in _fields(response)
    assert field in response.json()["detail"]


async def test_school_id_must_be_given_even_when_null(world):
    row = change(world, new_nsn(), "school_a")
    del row["school_id"]
    assert _fields(await post(world, row)) == ["changes.0.school_id"]


async def test_an_unknown_school_is_422_and_no_row_of_the_batch_is_recorded(world):
    good, bad = new_nsn(), new_nsn()
    response = await post(
        world,
        change(world, good, "school_a"),
        change(world, bad, None, school_id=str(uuid.uuid4())),
    )
    assert _fields(response) == ["changes.1.school_id"]
    assert "no school" in response.json()["detail"]
    assert await recorded(world, good) is None
    assert await recorded(world, bad) is None


async def test_an_organisation_that_is_not_a_school_is_refused(world):
    response = await post(world, change(world, new_nsn(), "asp_a"))
    assert _fields(response) == ["changes.0.school_id"]


async def test_two_schools_for_one_student_at_one_time_are_refused(world):
    nsn = new_nsn()
    response = await post(world, change(world, nsn, "school_a"), change(world, nsn, "school_b"))
    assert _fields(response) == ["changes.1.as_of"]
    assert await recorded(world, nsn) is None


async def test_a_batch_is_not_empty_and_not_too_large(world):
    assert _fields(await post(world)) == ["changes"]
    rows = [change(world, new_nsn(), "school_a") for _ in range(MAX_CHANGES_PER_BATCH + 1)]
    assert _fields(await post(world, *rows)) == ["changes"]


async def test_times_are_compared_as_instants_whatever_their_offset(world):
    """09:00Z and 21:00+12:00 are the same instant: the second is not later, so ignored."""
    nsn = new_nsn()
    await post(world, change(world, nsn, "school_a"))
    same_instant = T0.astimezone(timezone(timedelta(hours=12)))
    again = await post(world, change(world, nsn, "school_b", as_of=same_instant.isoformat()))
    assert again.json()["results"] == [{"index": 0, "outcome": "ignored"}]
