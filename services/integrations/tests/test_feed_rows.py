"""Reading and validating upload rows, without I/O: lines straddling chunks, over-long and
undecodable lines, and every reason of a bad row at once."""

from datetime import date
from uuid import uuid4

from acms_contracts.attendance import ATTENDANCE_CODES, AttendanceCategory, category_of
from acms_integrations.feed_rows import RowContext, validate_attendance, validate_enrolment
from acms_integrations.lines import LineSplitter

SCHOOL = uuid4()
CONTEXT = RowContext(frozenset({SCHOOL}), date(2026, 3, 3))


def _split(*chunks: bytes, limit: int = 8192) -> list:
    splitter = LineSplitter(limit)
    lines = [line for chunk in chunks for line in splitter.feed(chunk)]
    return lines + splitter.finish()


def test_lines_straddling_chunks_are_whole_and_numbered_blank_lines_skipped():
    lines = _split(b"ab", b"c\r\n\nde", b"f\n", b"last")
    assert [(n, t) for n, t, _ in lines] == [(1, "abc"), (3, "def"), (4, "last")]


def test_an_over_long_line_is_reported_once_and_never_held():
    lines = _split(b"x" * 10, b"y" * 10, b"\nok\n", limit=15)
    assert lines[0].number == 1 and lines[0].text is None and "longer" in lines[0].problem
    assert (lines[1].number, lines[1].text) == (2, "ok")


def test_undecodable_text_and_nul_are_bad_lines():
    lines = _split(b"\xff\xfe\nab\x00c\n")
    assert [line.problem for line in lines] == ["is not UTF-8 text", "contains the NUL character"]


def test_a_bad_enrolment_row_names_every_reason():
    row = {
        "nsn": "12",
        "school_id": str(uuid4()),
        "student_type": "regular",
        "year_level": "16",
        "enrolled_on": "2026-13-01",
        "left_on": "",
        "leaving_reason": "Moved",
    }
    record, problems = validate_enrolment(row, CONTEXT)
    assert record is None
    assert [p.split(":")[0] for p in problems] == [
        "nsn",
        "school_id",
        "student_type",
        "year_level",
        "enrolled_on",
        "leaving_reason",
    ]


def test_a_good_attendance_row_carries_its_codes_category():
    row = {"nsn": "123456789", "school_id": str(SCHOOL), "date": "2026-03-02", "session": "P3",
           "code": "E"}  # fmt: skip
    mark, problems = validate_attendance(row, CONTEXT)
    assert problems == [] and mark.category is AttendanceCategory.UNJUSTIFIED


def test_the_ministry_publishes_fifteen_codes_each_with_a_category():
    assert len(ATTENDANCE_CODES) == 15
    assert category_of("P") is AttendanceCategory.PRESENT
    assert category_of("?") is AttendanceCategory.UNKNOWN
    assert category_of("K") is None
