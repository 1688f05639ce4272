"""The rows of the uploaded files: ENROL records and daily attendance marks, read from CSV
or JSON Lines and validated by hand (a national file is a million rows: a pydantic model
per row would be most of the upload's time). Each row is either a record or the list of
every reason it is bad, so one upload reports every problem of every row at once.

Plain functions of text, no I/O: `jobs.py` streams the lines in.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any, NamedTuple
from uuid import UUID

from acms_contracts.attendance import ATTENDANCE_CODES, AttendanceCategory
from acms_contracts.ministry import SESSION_PATTERN
from acms_contracts.student_keys import NSN_PATTERN

_NSN = re.compile(NSN_PATTERN)
_SESSION = re.compile(SESSION_PATTERN)
_STUDENT_TYPE = re.compile(r"^[A-Z0-9]{1,4}$")
_LEAVING_REASON = re.compile(r"^[A-Za-z0-9 ,.()/'-]{1,40}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_YEAR_LEVEL = 15


class EnrolmentRecord(NamedTuple):
    nsn: str
    school_id: UUID
    student_type: str
    year_level: int
    enrolled_on: date
    left_on: date | None
    leaving_reason: str | None


class AttendanceMark(NamedTuple):
    nsn: str
    school_id: UUID
    on: date
    session: str
    code: str
    category: AttendanceCategory


ENROLMENT_FIELDS = (
    "nsn",
    "school_id",
    "student_type",
    "year_level",
    "enrolled_on",
    "left_on",
    "leaving_reason",
)
ATTENDANCE_FIELDS = ("nsn", "school_id", "date", "session", "code")
OPTIONAL_FIELDS = frozenset({"left_on", "leaving_reason"})


class RowContext:
    """What validating a row needs beyond the row: the schools known here (by the text of
    their id, so a row's school is a dictionary look-up, not a UUID parse), and the latest
    day a date may be (today in New Zealand, at most). Dates already read are remembered
    (a file holds few distinct dates, and parsing one per row is most of a row's time)."""

    MAX_REMEMBERED_DAYS = 10_000

    def __init__(self, schools: frozenset[UUID], latest_day: date) -> None:
        self.schools = {str(school): school for school in schools}
        self.latest_day = latest_day
        self.days: dict[str, date | str] = {}


Validator = Callable[[dict[str, Any], RowContext], tuple[Any, list[str]]]


def _text(row: dict[str, Any], name: str, problems: list[str]) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        if name not in OPTIONAL_FIELDS:
            problems.append(f"{name}: required")
        return None
    if not isinstance(value, str):
        problems.append(f"{name}: must be text")
        return None
    return value.strip()


def _nsn(row: dict[str, Any], problems: list[str]) -> str | None:
    value = _text(row, "nsn", problems)
    if value is not None and not _NSN.match(value):
        problems.append("nsn: must be 9 or 10 digits")
        return None
    return value


def _school(row: dict[str, Any], context: RowContext, problems: list[str]) -> UUID | None:
    value = _text(row, "school_id", problems)
    if value is None:
        return None
    known = context.schools.get(value)
    if known is not None:
        return known
    try:
        school = context.schools.get(str(UUID(value)))  # another spelling of a known id
    except ValueError:
        problems.append("school_id: must be a UUID")
        return None
    if school is None:
        problems.append("school_id: no such school is known here")
    return school


def _day(row: dict[str, Any], name: str, context: RowContext, problems: list[str]) -> date | None:
    value = _text(row, name, problems)
    if value is None:
        return None
    day = context.days.get(value)
    if day is None:
        day = _read_day(value, context.latest_day)
        if len(context.days) < context.MAX_REMEMBERED_DAYS:
            context.days[value] = day
    if isinstance(day, str):
        problems.append(f"{name}: {day}")
        return None
    return day


def _read_day(value: str, latest: date) -> date | str:
    """The date, or what is wrong with it."""
    try:
        if not _DATE.match(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        return "must be a date, YYYY-MM-DD"
    return "is in the future" if day > latest else day


def _year_level(row: dict[str, Any], problems: list[str]) -> int | None:
    value = row.get("year_level")
    if value is None or value == "":
        problems.append("year_level: required")
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_YEAR_LEVEL:
        problems.append(f"year_level: must be a whole number from 0 to {MAX_YEAR_LEVEL}")
        return None
    return value


def validate_enrolment(row: dict[str, Any], context: RowContext) -> tuple[Any, list[str]]:
    """An ENROL record, or every reason the row is not one."""
    problems: list[str] = []
    nsn = _nsn(row, problems)
    school = _school(row, context, problems)
    student_type = _text(row, "student_type", problems)
    if student_type is not None and not _STUDENT_TYPE.match(student_type):
        problems.append("student_type: must be ENROL's code, 1 to 4 capital letters or digits")
    year_level = _year_level(row, problems)
    enrolled_on = _day(row, "enrolled_on", context, problems)
    left_on = _day(row, "left_on", context, problems)
    reason = _text(row, "leaving_reason", problems)
    if reason is not None and not _LEAVING_REASON.match(reason):
        problems.append("leaving_reason: at most 40 letters, digits, spaces or ,.()/'-")
    if left_on is not None and enrolled_on is not None and left_on < enrolled_on:
        problems.append("left_on: is before enrolled_on")
    if (row.get("left_on") in (None, "")) != (reason is None):
        problems.append("leaving_reason: given if and only if left_on is")
    if problems:
        return None, problems
    record = EnrolmentRecord(
        nsn,  # type: ignore[arg-type]
        school,  # type: ignore[arg-type]
        student_type,  # type: ignore[arg-type]
        year_level,  # type: ignore[arg-type]
        enrolled_on,  # type: ignore[arg-type]
        left_on,
        reason,
    )
    return record, []


def validate_attendance(row: dict[str, Any], context: RowContext) -> tuple[Any, list[str]]:
    """An attendance mark, or every reason the row is not one (an unknown code included)."""
    problems: list[str] = []
    nsn = _nsn(row, problems)
    school = _school(row, context, problems)
    on = _day(row, "date", context, problems)
    session = _text(row, "session", problems)
    if session is not None and not _SESSION.match(session):
        problems.append("session: must be AM, PM or a period P1 to P12")
    code = _text(row, "code", problems)
    known = ATTENDANCE_CODES.get(code) if code is not None else None
    if code is not None and known is None:
        problems.append("code: not one of the Ministry's attendance codes")
    if problems:
        return None, problems
    mark = AttendanceMark(nsn, school, on, session, code, known[0])  # type: ignore[arg-type, index]
    return mark, []


class HeaderError(ValueError):
    """The file's first line does not name the columns the kind of file needs."""


def csv_header(line: str, fields: tuple[str, ...]) -> list[str]:
    """The column names of a CSV file from its first line, checked against `fields`."""
    names = [name.strip() for name in next(csv.reader([line]), [])]
    missing = [f for f in fields if f not in names]
    unknown = [n for n in names if n not in fields]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    problems = []
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if unknown:
        problems.append("unknown columns: " + ", ".join(repr(n[:40]) for n in unknown))
    if duplicated:
        problems.append("repeated columns: " + ", ".join(duplicated))
    if problems:
        wanted = ", ".join(fields)
        raise HeaderError(f"the header line must name the columns {wanted}; " + "; ".join(problems))
    return names


def csv_rows(
    lines: list[tuple[int, str]], header: list[str]
) -> Iterator[tuple[int, dict[str, Any] | None, list[str]]]:
    """(line, row, problems) for numbered CSV lines: a row by column name, or None with why."""
    width = len(header)
    reader = csv.reader([text for _, text in lines])
    for (number, _), values in zip(lines, reader, strict=True):
        if len(values) != width:
            yield number, None, [f"has {len(values)} fields; the header names {width}"]
            continue
        yield number, dict(zip(header, values, strict=True)), []


def jsonl_rows(
    lines: Iterable[tuple[int, str]], fields: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, Any] | None, list[str]]]:
    """(line, row, problems) for numbered JSON Lines: each line one JSON object."""
    known = frozenset(fields)
    for number, text in lines:
        try:
            row = json.loads(text)
        except ValueError:
            yield number, None, ["is not JSON"]
            continue
        if not isinstance(row, dict):
            yield number, None, ["is not a JSON object"]
            continue
        unknown = [k for k in row if k not in known]
        if unknown:
            names = ", ".join(repr(str(k)[:40]) for k in unknown)
            yield number, {k: v for k, v in row.items() if k in known}, [f"unknown fields: {names}"]
            continue
        yield number, row, []
