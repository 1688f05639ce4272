"""Migration 0006 on requests that exist before it: each request learns the region of its
school and whether ENROL set that school, from the organisations projection and the moves
already recorded on it."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acms_platform.migrations import alembic_config
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET, create_database, settings_for_test
from acms_referrals.app import SERVICE_ROOT

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCHOOLS = {"a": "Waikato", "b": "Waikato", "c": "Otago"}


async def test_existing_requests_learn_their_schools_region_and_whether_enrol_set_it(
    infrastructure,
):
    settings = settings_for_test(f"referrals_migration_{uuid.uuid4().hex[:6]}", infrastructure)
    await create_database(settings)
    config = alembic_config(SERVICE_ROOT, settings.database_url, TEST_STUDENT_KEY_SECRET)
    await asyncio.to_thread(command.upgrade, config, "0005")
    school = {name: uuid.uuid4() for name in SCHOOLS}
    unknown = uuid.uuid4()
    # request: (current school, the schools ENROL moved it to, oldest first)
    requests = {
        "never_moved": (school["a"], []),
        "raised_for_no_school": (None, []),
        "moved": (school["b"], [school["b"]]),
        "moved_to_no_school": (None, [None]),
        "moved_away_and_back": (school["a"], [school["b"], school["a"]]),
        "moved_then_named_by_its_creator": (school["c"], [school["b"]]),
        "moved_to_an_unknown_school": (unknown, [unknown]),
    }
    ids = {name: uuid.uuid4() for name in requests}
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            for name, region in SCHOOLS.items():
                await connection.execute(
                    text(
                        "insert into organisations (id, org_type, name, region)"
                        " values (:id, 'school', :name, :region)"
                    ),
                    {"id": school[name], "name": f"school {name}", "region": region},
                )
            for name, (current, moves) in requests.items():
                await _insert_request(connection, ids[name], current, moves)

        await asyncio.to_thread(command.upgrade, config, "head")

        async with engine.connect() as connection:
            rows = await connection.execute(
                text("select id, school_region, school_from_enrol from referrals")
            )
            found = {r.id: (r.school_region, r.school_from_enrol) for r in rows}
    finally:
        await engine.dispose()
    assert {name: found[ids[name]] for name in requests} == {
        "never_moved": ("Waikato", False),
        "raised_for_no_school": (None, False),
        "moved": ("Waikato", True),
        "moved_to_no_school": (None, True),
        "moved_away_and_back": ("Waikato", True),
        "moved_then_named_by_its_creator": ("Otago", False),
        "moved_to_an_unknown_school": (None, True),
    }


async def _insert_request(connection, referral_id, current, moves) -> None:
    await connection.execute(
        text(
            "insert into referrals (id, status, version, student_key, student_name, school_id,"
            " created_by, creator_org_id, details)"
            " values (:id, 'draft', 1, :key, 'A B', :school, 'someone', :org, '{}')"
        ),
        {"id": referral_id, "key": uuid.uuid4().hex, "school": current, "org": uuid.uuid4()},
    )
    for moved_to in moves:
        detail = '{"school_id": %s}' % (f'"{moved_to}"' if moved_to else "null")
        await connection.execute(
            text(
                "insert into referral_transitions"
                " (referral_id, action, from_status, to_status, actor_id, at, detail)"
                " values (:id, 'enrolment_changed', 'draft', 'draft', 'enrol', :at,"
                " cast(:detail as jsonb))"
            ),
            {"id": referral_id, "at": datetime.now(UTC), "detail": detail},
        )
