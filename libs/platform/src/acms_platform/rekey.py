"""Re-keying stored student keys: the plumbing each service's `rekey` module shares.

A service knows which of its rows hold a student key and where it keeps the NSN; it hands
this module a mapping from each stored key to its replacement and the tables to rewrite.
The rewrite goes in batches through a temporary table (one UPDATE … FROM per table and
batch), printing progress, inside the caller's transaction: all of it or none of it.

Used by the migrations that replaced the unkeyed uuid5 key (no secret) with the keyed
pseudonym, and by the `python -m acms_<service>.rekey` commands after a change of
`ACMS_STUDENT_KEY_SECRET` (README, "Student keys").
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

BATCH = 10_000

Report = Callable[[str], None]


def print_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class KeyColumn:
    """A table column that holds a student key."""

    table: str
    column: str = "student_key"


def rewrite_keys(
    connection: Connection,
    mapping: Mapping[str, str],
    columns: Sequence[KeyColumn],
    *,
    report: Report = print_progress,
    label: str = "rekey",
) -> dict[str, int]:
    """Replace every key in `mapping` by its value in each of `columns`. Returns the rows
    changed per table. Keys mapped to themselves are skipped."""
    pairs = [(old, new) for old, new in mapping.items() if old != new]
    changed = {c.table: 0 for c in columns}
    connection.execute(
        text(
            "create temporary table if not exists rekey_map"
            " (old_key text primary key, new_key text not null) on commit drop"
        )
    )
    started = time.monotonic()
    for start in range(0, len(pairs), BATCH):
        batch = pairs[start : start + BATCH]
        connection.execute(text("truncate rekey_map"))
        connection.execute(
            text("insert into rekey_map (old_key, new_key) values (:old, :new)"),
            [{"old": old, "new": new} for old, new in batch],
        )
        for column in columns:
            result = connection.execute(
                text(
                    f"update {column.table} t set {column.column} = m.new_key"  # noqa: S608 - names are ours
                    f" from rekey_map m where t.{column.column} = m.old_key"
                )
            )
            changed[column.table] += result.rowcount
        done = start + len(batch)
        report(
            f"{label}: {done}/{len(pairs)} keys re-keyed"
            f" ({', '.join(f'{t} {n} rows' for t, n in changed.items())},"
            f" {time.monotonic() - started:.1f} s)"
        )
    connection.execute(text("drop table if exists rekey_map"))
    return changed


def distinct_pairs(connection: Connection, statement: str) -> Iterable[tuple[str, str | None]]:
    """(key, nsn) rows of `statement`, a query the service writes over its own tables."""
    return [(row[0], row[1]) for row in connection.execute(text(statement))]
