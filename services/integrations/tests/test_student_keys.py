"""Student keys in integrations: rows keep the NSN their key came from; a row keyed the old
way (before migration 0003) is re-keyed at ENROL's next report of the student and still
found; a change of secret re-keys every row and publishes each enrolment again."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta
from uuid import UUID, uuid5

import pytest
from alembic import command
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from acms_contracts import topics
from acms_contracts.student_keys import student_key_for_nsn
from acms_integrations.app import SERVICE_ROOT
from acms_integrations.tables import enrolments
from acms_platform.migrations import alembic_config
from acms_platform.testing.infra import REPO_ROOT
from acms_platform.testing.kafka import published
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET, create_database, settings_for_test
from acms_platform.testing.processes import settings_environment

from .feed import T0, change, new_nsn, post, recorded

pytestmark = pytest.mark.asyncio(loop_scope="session")

OLD_NAMESPACE = UUID("6d0b7c1e-5a8f-4c1a-9f64-2f3c2b6f5a10")  # the key before 0003


def old_key(nsn: str) -> str:
    return str(uuid5(OLD_NAMESPACE, f"nsn:{nsn}"))


async def test_a_row_keeps_the_nsn_its_key_came_from(world):
    nsn = new_nsn()
    assert (await post(world, change(world, nsn, "school_a"))).status_code == 200
    row = await recorded(world, nsn)
    assert row.nsn == nsn
    assert row.student_key == student_key_for_nsn(nsn, TEST_STUDENT_KEY_SECRET)


async def test_a_row_keyed_the_old_way_is_re_keyed_at_the_next_report_and_still_found(world):
    nsn = new_nsn()
    school = world.orgs["school_b"]
    async with world.runtime.database.transaction() as session:
        await session.execute(
            insert(enrolments).values(
                student_key=old_key(nsn), school_id=school, effective_on=T0.date(), as_of=T0
            )
        )
    # ENROL repeats what is held: nothing changes, but the row moves to the new key and
    # consumers are told the enrolment under it.
    response = await post(world, change(world, nsn, "school_b"))
    assert response.json()["ignored"] == 1, response.text
    row = await recorded(world, nsn)
    assert (row.school_id, row.as_of, row.nsn) == (school, T0, nsn)
    async with world.runtime.database.transaction() as session:
        left = await session.execute(
            select(enrolments).where(enrolments.c.student_key == old_key(nsn))
        )
        assert left.first() is None
    key = student_key_for_nsn(nsn, TEST_STUDENT_KEY_SECRET)
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.ENROLMENTS,
        lambda e: e["payload"]["subject_student_key"] == key,
    )
    assert [e["payload"]["school_id"] for _, e in found] == [str(school)]
    # A later report is then an ordinary repeat of the row now held under the new key.
    later = await post(world, change(world, nsn, "school_b", hours=1))
    assert later.json()["unchanged"] == 1, later.text


async def test_migration_0003_keeps_older_rows_and_the_rekey_command_re_keys_and_republishes(
    infrastructure,
):
    settings = settings_for_test(f"integrations_rekey_{uuid.uuid4().hex[:6]}", infrastructure)
    await create_database(settings)
    config = alembic_config(SERVICE_ROOT, settings.database_url, TEST_STUDENT_KEY_SECRET)
    await asyncio.to_thread(command.upgrade, config, "0002")
    legacy_nsn, nsn = new_nsn(), new_nsn()
    engine = create_async_engine(settings.database_url)
    values = {"school_id": uuid.uuid4(), "effective_on": date(2026, 3, 2), "as_of": T0}
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "insert into enrolments (student_key, school_id, effective_on, as_of)"
                    " values (:key, :school_id, :effective_on, :as_of)"
                ),
                {"key": old_key(legacy_nsn), **values},
            )
        await asyncio.to_thread(command.upgrade, config, "head")
        key_now = student_key_for_nsn(nsn, TEST_STUDENT_KEY_SECRET)
        async with engine.begin() as connection:
            kept = (await connection.execute(select(enrolments))).one()
            assert (kept.student_key, kept.nsn) == (old_key(legacy_nsn), None)
            await connection.execute(
                insert(enrolments).values(
                    student_key=key_now, nsn=nsn, **values | {"as_of": T0 + timedelta(1)}
                )
            )

        rotated = "a-rotated-student-key-secret-NOT-SECRET-98765"
        env = os.environ | settings_environment(settings) | {"ACMS_STUDENT_KEY_SECRET": rotated}
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "acms_integrations.rekey"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "integrations: 1/1 keys re-keyed" in done.stderr
        assert "integrations: 1 enrolments published again" in done.stderr
        new_key = student_key_for_nsn(nsn, rotated)
        async with engine.connect() as connection:
            rows = {r.nsn: r for r in await connection.execute(select(enrolments))}
            outbox = list(
                await connection.execute(
                    text(
                        "select key, envelope->'payload'->>'as_of' as as_of,"
                        " envelope::text as raw from outbox"
                    )
                )
            )
        assert rows[nsn].student_key == new_key
        assert rows[None].student_key == old_key(legacy_nsn)  # re-keyed at its next report
        assert [r.key for r in outbox] == [new_key]
        assert outbox[0].as_of.startswith((T0 + timedelta(1)).date().isoformat())
        assert nsn not in outbox[0].raw
    finally:
        await engine.dispose()
