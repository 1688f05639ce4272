"""The national daily attendance: every row validated (an unknown code is a bad row), and
only the marks of students with an active case kept and published; the rest dropped
without being stored. The same file twice publishes nothing more."""

from datetime import timedelta

import pytest

from acms_contracts import topics

from .feed import new_nsn
from .uploads import (
    AS_OF,
    ATTENDANCE_HEADER,
    case_closed,
    case_opened,
    csv_file,
    events_for,
    handle,
    kept_marks,
    mark_line,
    rejections,
    upload,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_only_students_with_an_active_case_are_kept_and_published(world):
    followed, other = new_nsn(), new_nsn()
    await handle(world, case_opened(world, followed))
    data = csv_file(
        ATTENDANCE_HEADER,
        mark_line(world, followed, "school_a", "T"),
        mark_line(world, followed, "school_a", "P", session="PM"),
        mark_line(world, other, "school_a", "T"),
    )
    job = await upload(world, "attendance", data)
    assert (job["rows_read"], job["applied"], job["dropped"], job["rejected"]) == (3, 2, 1, 0)
    assert await kept_marks(world, followed) == 2
    assert await kept_marks(world, other) == 0
    found = await events_for(world, topics.ATTENDANCE, followed, enough=2)
    by_session = {e["payload"]["session"]: e["payload"] for _, e in found}
    assert by_session["AM"]["code"] == "T" and by_session["AM"]["category"] == "unjustified"
    assert by_session["PM"]["category"] == "present"
    assert not await events_for(world, topics.ATTENDANCE, other, enough=0, linger=0.5)


async def test_the_same_file_twice_publishes_nothing_more(world):
    nsn = new_nsn()
    await handle(world, case_opened(world, nsn))
    data = csv_file(ATTENDANCE_HEADER, mark_line(world, nsn, "school_a", "M"))
    first = await upload(world, "attendance", data)
    again = await upload(world, "attendance", data)
    assert (first["applied"], again["applied"], again["unchanged"]) == (1, 0, 1)
    assert len(await events_for(world, topics.ATTENDANCE, nsn, enough=2)) == 1


async def test_a_later_file_with_another_code_publishes_the_change(world):
    nsn = new_nsn()
    await handle(world, case_opened(world, nsn))
    await upload(
        world, "attendance", csv_file(ATTENDANCE_HEADER, mark_line(world, nsn, "school_a", "?"))
    )
    later = AS_OF + timedelta(hours=20)
    data = csv_file(ATTENDANCE_HEADER, mark_line(world, nsn, "school_a", "J"))
    assert (await upload(world, "attendance", data, as_of=later))["applied"] == 1
    found = await events_for(world, topics.ATTENDANCE, nsn, enough=2)
    assert [e["payload"]["code"] for _, e in found] == ["?", "J"]


async def test_unknown_codes_and_bad_rows_are_reported_with_their_lines(world):
    nsn, other = new_nsn(), new_nsn()
    await handle(world, case_opened(world, nsn))
    data = csv_file(
        ATTENDANCE_HEADER,
        mark_line(world, nsn, "school_a", "Z"),  # line 2: not a Ministry code
        mark_line(world, other, "school_a", "P", session="P13", day="03/03/2026"),  # line 3
        mark_line(world, nsn, "school_a", "P", session="P1"),
    )
    job = await upload(world, "attendance", data)
    assert (job["rejected"], job["applied"]) == (2, 1)
    report = dict(await rejections(world, "attendance", job["id"]))
    assert report[2] == "code: not one of the Ministry's attendance codes"
    assert "session:" in report[3] and "date: must be a date" in report[3]


async def test_a_students_kept_attendance_goes_when_their_last_case_closes(world):
    nsn = new_nsn()
    first, second = case_opened(world, nsn), case_opened(world, nsn)
    await handle(world, first)
    await handle(world, second)
    await upload(
        world, "attendance", csv_file(ATTENDANCE_HEADER, mark_line(world, nsn, "school_a", "T"))
    )
    await handle(world, case_closed(first))
    assert await kept_marks(world, nsn) == 1, "another case is still open"
    await handle(world, case_closed(second))
    assert await kept_marks(world, nsn) == 0
    later = AS_OF + timedelta(days=1)
    data = csv_file(ATTENDANCE_HEADER, mark_line(world, nsn, "school_a", "T", day="2026-03-03"))
    assert (await upload(world, "attendance", data, as_of=later))["dropped"] == 1
