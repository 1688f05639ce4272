"""The trail is append-only and tamper-evident: the database refuses changes to it, and a
row edited, deleted, inserted or moved behind the trigger's back (by the tables' owner,
who can disable it) is named by the verification as the first broken link of its chain."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest
import pytest_asyncio

from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.outbox import Outbox
from acms_platform.testing.plugin import RUN_ID, create_database, settings_for_test
from acms_platform.testing.processes import settings_environment
from acms_retention.app import SERVICE_ROOT, create
from acms_retention.config import checkpoint_key, retention_settings
from acms_retention.trail import append, chain
from acms_retention.trail.extraction import index_for
from acms_retention.trail.seal import Sealer
from acms_retention.trail.verification import verify_trail

from .audit_events import access

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROWS = 10
SEAL_EVERY = 4  # seals at seq 1 (the first), 5 and 9


class Trail:
    """The trail's database connection (as its owner), its settings and its one chain."""

    def __init__(self, connection: asyncpg.Connection, settings, chain_id: int) -> None:
        self.connection, self.settings, self.chain = connection, settings, chain_id

    def __getattr__(self, name: str):
        return getattr(self.connection, name)


@pytest_asyncio.fixture(loop_scope="session")
async def trail(infrastructure):
    """A trail of its own: one chain of ROWS rows, appended one transaction each."""
    settings = retention_settings(
        settings_for_test(
            "retention", infrastructure, database_name=f"test_{RUN_ID}_trail_{uuid.uuid4().hex[:8]}"
        ),
        audit_checkpoint_rows=SEAL_EVERY,
        audit_checkpoint_seconds=3600,
    )
    await create_database(settings)
    grants = create(settings).state.runtime.definition.runtime_grants(settings)
    assert grants is not None and set(grants.append_only) == {"audit_trail", "audit_checkpoints"}
    await asyncio.to_thread(
        upgrade_to_head, SERVICE_ROOT, settings.migration_database_url, None, grants
    )
    database = Database(settings)
    sealer = Sealer(checkpoint_key(settings), SEAL_EVERY, 3600, Outbox("retention"))
    student = str(uuid.uuid4())  # one key: one chain
    for _ in range(ROWS):
        envelope = access(student_key=student)
        async with database.transaction() as session:
            append.queue(session, envelope.event(), envelope, (sealer,))
    await database.dispose()
    connection = await _connect(settings, settings.pg_owner_user, settings.pg_owner_password)
    yield Trail(connection, settings, chain.chain_for(student))
    await connection.close()


async def _connect(settings, user: str, password: str) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=user,
        password=password,
        database=settings.database_name,
    )


async def tamper(connection: Trail, *statements: str) -> None:
    """Run `statements` as the tables' owner with the append-only triggers disabled."""
    async with connection.transaction():
        await connection.execute("ALTER TABLE audit_trail DISABLE TRIGGER USER")
        await connection.execute("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER")
        for statement in statements:
            await connection.execute(statement)
        await connection.execute("ALTER TABLE audit_trail ENABLE TRIGGER USER")
        await connection.execute("ALTER TABLE audit_checkpoints ENABLE TRIGGER USER")


async def first_break(connection: Trail):
    result = await verify_trail(connection.connection, checkpoint_key(connection.settings))
    assert len(result.breaks) == 1, result.as_json()
    (broken,) = result.breaks
    assert broken.chain == connection.chain
    return broken


async def test_an_untouched_trail_verifies_intact_with_its_checkpoints(trail):
    result = await verify_trail(trail.connection, checkpoint_key(trail.settings))
    assert result.intact, result.as_json()
    assert result.rows == ROWS
    assert result.chains == {trail.chain: ROWS}
    assert result.checkpoints == 3


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_trail SET account_id = 'someone-else'",
        "DELETE FROM audit_trail",
        "TRUNCATE audit_trail",
        "UPDATE audit_checkpoints SET seq = 1",
        "DELETE FROM audit_checkpoints",
    ],
)
async def test_the_database_refuses_to_change_the_trail(trail, statement):
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await trail.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_trail SET account_id = 'someone-else'",
        "DELETE FROM audit_trail",
        "TRUNCATE audit_trail",
        "UPDATE audit_checkpoints SET seq = 1",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
        "ALTER TABLE audit_trail DISABLE TRIGGER USER",
        "DROP TRIGGER audit_trail_append_only ON audit_trail",
        "DROP TABLE audit_trail",
        "UPDATE alembic_version SET version_num = '0001'",
    ],
)
async def test_the_services_own_role_may_not_change_the_trail_even_past_the_trigger(
    trail, statement
):
    """The role the service runs as (not the owner, who runs the migrations) has no right to
    change the trail at all: neither the rows nor the trigger that guards them."""
    settings = trail.settings
    assert settings.runtime_role == settings.pg_user != settings.pg_owner_user
    service = await _connect(settings, settings.pg_user, settings.pg_password)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError) as refused:
            await service.execute(statement)
        assert "append-only" not in str(refused.value)  # refused before the trigger runs
        rows = await service.fetchval("SELECT count(*) FROM audit_trail")
        assert rows == ROWS  # it reads the trail
        insert = "SELECT has_table_privilege(current_user, $1, 'INSERT')"
        assert await service.fetchval(insert, "audit_trail")
        assert await service.fetchval(insert, "audit_checkpoints")
    finally:
        await service.close()


async def test_an_edited_envelope_is_named(trail):
    await tamper(
        trail,
        "UPDATE audit_trail SET envelope = jsonb_set(envelope, '{payload,tiers}', '[\"full\"]')"
        " WHERE seq = 3",
    )
    broken = await first_break(trail)
    assert (broken.seq, broken.reason) == (3, "content does not match its hash: the row was edited")


async def test_an_edited_search_column_is_named(trail):
    await tamper(trail, "UPDATE audit_trail SET account_id = 'someone-else' WHERE seq = 6")
    broken = await first_break(trail)
    assert broken.seq == 6 and "edited" in broken.reason


async def test_a_deleted_row_is_named(trail):
    await tamper(trail, "DELETE FROM audit_trail WHERE seq = 4")
    broken = await first_break(trail)
    assert broken.seq == 4 and "missing (deleted)" in broken.reason


async def test_two_rows_swapped_are_named(trail):
    await tamper(
        trail,
        "UPDATE audit_trail SET seq = -seq WHERE seq IN (3, 4)",
        "UPDATE audit_trail SET seq = 7 + seq WHERE seq IN (-3, -4)",
    )
    broken = await first_break(trail)
    assert broken.seq == 3


async def test_a_row_inserted_with_a_correct_hash_is_named_at_the_row_after_it(trail):
    """The strongest insertion: the forged row links to its predecessor properly."""
    previous = await trail.fetchrow("SELECT * FROM audit_trail WHERE seq = 2")
    forged = access(account="covering-tracks")
    from acms_retention.trail.append import PendingEvent, trail_row

    item = PendingEvent(previous["topic"], forged, index_for(forged.event(), forged))
    row = trail_row(trail.chain, 3, bytes(previous["hash"]), previous["stored_at"], item)
    await tamper(
        trail,
        "UPDATE audit_trail SET seq = -seq WHERE seq >= 3",
        "UPDATE audit_trail SET seq = 1 - seq WHERE seq < 0",
    )
    async with trail.transaction():
        await trail.execute("ALTER TABLE audit_trail DISABLE TRIGGER USER")
        await trail.execute(
            "INSERT INTO audit_trail (chain, seq, event_id, topic, event_type, occurred_at,"
            " stored_at, account_id, organisation_id, roles, action, outcome, rule, trace_id,"
            " student_keys, record_ids, accesses, envelope, prev_hash, hash) VALUES ($1, $2, $3,"
            " $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::jsonb,"
            " $18::jsonb, $19, $20)",
            *[row[c] for c in list(row)[:16]],
            json.dumps(row["accesses"]),
            json.dumps(row["envelope"]),
            row["prev_hash"],
            row["hash"],
        )
        await trail.execute("ALTER TABLE audit_trail ENABLE TRIGGER USER")
    broken = await first_break(trail)
    assert broken.seq == 4 and "does not follow its predecessor" in broken.reason


async def test_a_rewritten_chain_is_named_by_the_checkpoint_it_no_longer_matches(trail):
    """An attacker who edits row 2 and recomputes every later hash: each link holds, but
    the head sealed at seq 5 is not the head any more."""
    await tamper(trail, "UPDATE audit_trail SET account_id = 'someone-else' WHERE seq = 2")
    rows = await trail.fetch("SELECT * FROM audit_trail ORDER BY seq")
    previous = chain.GENESIS
    updates = []
    for row in rows:
        content = chain.link_content(
            chain=row["chain"],
            seq=row["seq"],
            event_id=str(row["event_id"]),
            topic=row["topic"],
            event_type=row["event_type"],
            occurred_at=row["occurred_at"],
            stored_at=row["stored_at"],
            index={
                k: (list(row[k]) if k in ("roles", "student_keys", "record_ids") else row[k])
                for k in (
                    "account_id organisation_id roles action outcome rule trace_id"
                    " student_keys record_ids"
                ).split()
            }
            | {"accesses": json.loads(row["accesses"])},
            envelope=json.loads(row["envelope"]),
        )
        digest = chain.link_hash(previous, content)
        updates.append((row["seq"], previous, digest))
        previous = digest
    async with trail.transaction():
        await trail.execute("ALTER TABLE audit_trail DISABLE TRIGGER USER")
        await trail.executemany(
            "UPDATE audit_trail SET prev_hash = $2, hash = $3 WHERE seq = $1", updates
        )
        await trail.execute("ALTER TABLE audit_trail ENABLE TRIGGER USER")
    broken = await first_break(trail)
    assert broken.seq == 5 and "differs from checkpoint" in broken.reason


async def test_a_cut_tail_is_named_by_the_checkpoint_past_the_end(trail):
    await tamper(trail, "DELETE FROM audit_trail WHERE seq >= 7")
    broken = await first_break(trail)
    assert broken.seq == 9 and "rows were removed from its end" in broken.reason


async def test_a_forged_checkpoint_is_named(trail):
    head = await trail.fetchrow("SELECT seq, hash FROM audit_trail WHERE seq = 10")
    await trail.execute(
        "INSERT INTO audit_checkpoints (chain, seq, hash, sealed_at, mac)"
        " VALUES ($1, $2, $3, now(), $4)",
        trail.chain,
        head["seq"],
        head["hash"],
        "0" * 64,
    )
    broken = await first_break(trail)
    assert broken.seq == 10 and "not sealed by the service's key" in broken.reason


def _verify_command(settings) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "acms_retention.verify"],
        env=os.environ | settings_environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_verify_command_reports_progress_and_names_the_first_broken_link(trail):
    intact = await asyncio.to_thread(_verify_command, trail.settings)
    assert intact.returncode == 0, intact.stderr
    assert f"verified {ROWS} of {ROWS} rows (100%" in intact.stderr
    assert json.loads(intact.stdout)["intact"] is True

    await tamper(trail, "DELETE FROM audit_trail WHERE seq = 5")
    broken = await asyncio.to_thread(_verify_command, trail.settings)
    assert broken.returncode == 1
    assert f"BROKEN: chain {trail.chain} seq 5: seq 5 missing (deleted)" in broken.stderr
    assert json.loads(broken.stdout)["breaks"][0]["seq"] == 5
