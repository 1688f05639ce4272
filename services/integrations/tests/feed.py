"""Building ENROL feed rows and reading what the intake recorded."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from acms_integrations.tables import enrolments
from acms_platform.testing.plugin import student_key_for_test as student_key_for_nsn

from .conftest import World

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def new_nsn() -> str:
    return str(random.randint(100_000_000, 999_999_999))


def change(
    world: World, nsn: str, school: str | None, *, hours: int = 0, **extra: Any
) -> dict[str, Any]:
    """A feed row: `nsn` enrolled at `school` (None: nowhere), `hours` after T0."""
    as_of = T0 + timedelta(hours=hours)
    return {
        "nsn": nsn,
        "school_id": str(world.orgs[school]) if school else None,
        "effective_on": date(as_of.year, as_of.month, as_of.day).isoformat(),
        "as_of": as_of.isoformat(),
        **extra,
    }


async def post(world: World, *changes: dict[str, Any], who: str = "enrol_feed"):
    return await world.client.post(
        "/enrol/changes", json={"changes": list(changes)}, headers=world.as_(who)
    )


async def recorded(world: World, nsn: str):
    """The enrolment held for the student, or None."""
    async with world.runtime.database.transaction() as session:
        statement = select(enrolments).where(enrolments.c.student_key == student_key_for_nsn(nsn))
        return (await session.execute(statement)).first()
