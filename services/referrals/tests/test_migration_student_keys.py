"""Migration 0008 and `python -m acms_referrals.rekey` on requests keyed before them: each
key is recomputed from the request's NSN under the secret, and the student's requests and
enrolment are still found together under the new key."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from uuid import UUID, uuid5

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acms_contracts.student_keys import student_key_for_nsn
from acms_platform.migrations import alembic_config
from acms_platform.testing.infra import REPO_ROOT
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET, create_database, settings_for_test
from acms_platform.testing.processes import settings_environment
from acms_referrals.app import SERVICE_ROOT

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The key as it was before 0008 (kept here and in integrations' legacy_keys only).
OLD_NAMESPACE = UUID("6d0b7c1e-5a8f-4c1a-9f64-2f3c2b6f5a10")
NEW_SECRET = "a-rotated-student-key-secret-NOT-SECRET-98765"


def old_key(nsn: str) -> str:
    return str(uuid5(OLD_NAMESPACE, f"nsn:{nsn}"))


async def _rows(engine, sql: str) -> list:
    async with engine.connect() as connection:
        return list(await connection.execute(text(sql)))


async def test_requests_keyed_the_old_way_are_re_keyed_and_still_found(infrastructure):
    settings = settings_for_test(f"referrals_rekey_{uuid.uuid4().hex[:6]}", infrastructure)
    await create_database(settings)
    config = alembic_config(SERVICE_ROOT, settings.database_url, TEST_STUDENT_KEY_SECRET)
    await asyncio.to_thread(command.upgrade, config, "0007")
    nsn_a, nsn_b, nsn_gone, nsn_orphan = "123456789", "0123456789", "987654321", "555555555"
    own_key = str(uuid.uuid4())
    requests = {  # name: (nsn, key)
        "a_first": (nsn_a, old_key(nsn_a)),
        "a_second": (nsn_a, old_key(nsn_a)),
        "b": (nsn_b, old_key(nsn_b)),
        "no_nsn": (None, own_key),
        "nsn_removed": (None, old_key(nsn_gone)),
    }
    ids = {name: uuid.uuid4() for name in requests}
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            for name, (nsn, key) in requests.items():
                await connection.execute(
                    text(
                        "insert into referrals (id, status, version, student_key, nsn,"
                        " student_name, created_by, creator_org_id, details)"
                        " values (:id, 'draft', 1, :key, :nsn, 'A B', 'someone', :org, '{}')"
                    ),
                    {"id": ids[name], "key": key, "nsn": nsn, "org": uuid.uuid4()},
                )
            for nsn in (nsn_a, nsn_orphan):
                await connection.execute(
                    text(
                        "insert into enrolments (student_key, school_id, effective_on, as_of)"
                        " values (:key, :school, :on, :at)"
                    ),
                    {
                        "key": old_key(nsn),
                        "school": uuid.uuid4(),
                        "on": date(2026, 3, 2),
                        "at": datetime(2026, 3, 2, 9, tzinfo=UTC),
                    },
                )

        await asyncio.to_thread(command.upgrade, config, "head")

        keys = dict(await _rows(engine, "select id, student_key from referrals"))
        by_name = {name: keys[ids[name]] for name in requests}
        new_a = student_key_for_nsn(nsn_a, TEST_STUDENT_KEY_SECRET)
        assert by_name["a_first"] == by_name["a_second"] == new_a
        assert by_name["b"] == student_key_for_nsn(nsn_b, TEST_STUDENT_KEY_SECRET)
        assert by_name["no_nsn"] == own_key  # a request's own random key stays
        assert UUID(by_name["nsn_removed"]).version == 4  # no longer derived from an NSN
        # Still found together: the student's requests and enrolment under the new key.
        found = await _rows(
            engine,
            "select r.id from referrals r join enrolments e using (student_key)"
            f" where student_key = '{new_a}'",
        )
        assert {r.id for r in found} == {ids["a_first"], ids["a_second"]}
        # No key of the old kind is left; the orphan enrolment is gone.
        everything = await _rows(
            engine, "select student_key from referrals union all select student_key from enrolments"
        )
        olds = {old_key(n) for n in (nsn_a, nsn_b, nsn_gone, nsn_orphan)}
        assert not olds & {r.student_key for r in everything}
        assert len(await _rows(engine, "select 1 from enrolments")) == 1

        # A change of secret: the command re-keys again, printing its progress.
        env = os.environ | settings_environment(settings)
        env["ACMS_STUDENT_KEY_SECRET"] = NEW_SECRET
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "acms_referrals.rekey"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "referrals: 2/2 keys re-keyed" in done.stderr
        assert "re-keyed and committed" in done.stderr
        assert NEW_SECRET not in done.stderr + done.stdout
        keys = dict(await _rows(engine, "select id, student_key from referrals"))
        rotated_a = student_key_for_nsn(nsn_a, NEW_SECRET)
        assert keys[ids["a_first"]] == keys[ids["a_second"]] == rotated_a != new_a
        assert keys[ids["no_nsn"]] == own_key
        assert await _rows(engine, f"select 1 from enrolments where student_key = '{rotated_a}'")
    finally:
        await engine.dispose()
