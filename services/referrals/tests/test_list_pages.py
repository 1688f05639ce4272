"""Pages of a list whose plan is a disjunction are read branch by branch
(`repository.page_statement`): they must be exactly the pages of the plain statement,
in the same order, across branches that overlap and interleave in time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, or_

from acms_referrals.repository import ListFilters, page_statement, readable_statement
from acms_referrals.tables import referrals as table

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_pages_of_a_disjunction_are_the_pages_of_the_plain_statement(referrals):
    database = referrals.app.state.runtime.database
    school, creator = uuid.uuid4(), f"creator-{uuid.uuid4()}"
    start = datetime(2020, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(60):
        # At the school only, made by the creator only, both, or neither; times interleave
        # and some are equal (the id breaks ties).
        at_school, made = n % 3 != 1, n % 4 != 0
        rows.append(
            {
                "id": uuid.uuid4(),
                "status": "submitted" if n % 5 else "draft",
                "version": 1,
                "student_key": f"page-{n}",
                "student_name": f"Page Student {n}",
                "school_id": school if at_school else uuid.uuid4(),
                "created_by": creator if made else "someone-else",
                "creator_org_id": uuid.uuid4(),
                "details": {},
                "created_at": start + timedelta(minutes=n // 2),
            }
        )
    async with database.transaction() as session:
        await session.execute(insert(table), rows)
    try:
        condition = or_(table.c.school_id == school, table.c.created_by == creator)
        async with database.transaction() as session:
            for status in (None, "submitted"):
                every = ListFilters(status=status, limit=1000)
                expected = [
                    r.id for r in await session.execute(readable_statement(condition, every))
                ]
                assert len(expected) > 30
                for limit, offset in ((7, 0), (7, 7), (10, 25), (50, 0), (5, len(expected) - 2)):
                    filters = ListFilters(status=status, limit=limit, offset=offset)
                    page = [r.id for r in await session.execute(page_statement(condition, filters))]
                    assert page == expected[offset : offset + limit], (status, limit, offset)
    finally:
        async with database.transaction() as session:
            await session.execute(delete(table).where(table.c.id.in_([r["id"] for r in rows])))
