"""Synthetic students and whānau for later services' demo data and benchmarks.

Records only (identity does not store students). NSNs start with 999, a range no real
student has, and addresses and phone numbers are visibly fake.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from acms_identity import demo_names as names

FAKE_NSN_PREFIX = "999"


@dataclass(frozen=True)
class DemoWhanauMember:
    name: str
    relationship: str
    phone: str


@dataclass(frozen=True)
class DemoStudent:
    nsn: str
    given_name: str
    family_name: str
    date_of_birth: date
    year_level: int
    school_id: UUID
    address: str
    whanau: tuple[DemoWhanauMember, ...]


def fake_nsn(sequence: int) -> str:
    """A 10-digit NSN in the 999… range: obviously not a real student's."""
    return f"{FAKE_NSN_PREFIX}{sequence:07d}"


def student_records(
    school_ids: Sequence[UUID], count: int, *, seed: int = 7, today: date | None = None
) -> Iterator[DemoStudent]:
    """`count` students spread over `school_ids`, deterministic for a seed. A generator:
    national scale (800,000) streams without holding everything in memory."""
    rng = random.Random(seed)
    today = today or date(2026, 2, 1)
    for sequence in range(count):
        family = rng.choice(names.FAMILY_NAMES)
        year_level = rng.randint(1, 13)
        age_days = (year_level + 5) * 365 + rng.randint(0, 364)
        whanau = tuple(
            DemoWhanauMember(
                name=f"{rng.choice(names.GIVEN_NAMES)} {family}",
                relationship=rng.choice(names.RELATIONSHIPS),
                phone=f"021 000 {rng.randint(0, 9999):04d}",
            )
            for _ in range(rng.randint(1, 2))
        )
        yield DemoStudent(
            nsn=fake_nsn(sequence),
            given_name=rng.choice(names.GIVEN_NAMES),
            family_name=family,
            date_of_birth=today - timedelta(days=age_days),
            year_level=year_level,
            school_id=school_ids[sequence % len(school_ids)],
            address=f"{rng.randint(1, 250)} {rng.choice(names.STREETS)} Street, Demo Town",
            whanau=whanau,
        )
