"""Verification of the trail: every chain walked in order, every link recomputed, every
checkpoint's seal and head checked. Reads rows through a cursor (constant memory)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from acms_retention.trail import chain as links

PROGRESS_EVERY = 50_000

_ROWS = (
    "SELECT chain, seq, event_id, topic, event_type, occurred_at, stored_at, account_id,"
    " organisation_id, roles, action, outcome, rule, trace_id, student_keys, record_ids,"
    " accesses::text, envelope::text, prev_hash, hash FROM audit_trail"
    " WHERE chain = $1 ORDER BY seq"
)


@dataclass
class Break:
    chain: int
    seq: int
    event_id: str | None
    reason: str

    def __str__(self) -> str:
        where = f"chain {self.chain} seq {self.seq}"
        return (
            f"{where} (event {self.event_id}): {self.reason}"
            if self.event_id
            else (f"{where}: {self.reason}")
        )


@dataclass
class Verification:
    rows: int = 0
    chains: dict[int, int] = field(default_factory=dict)  # chain -> head seq
    checkpoints: int = 0
    breaks: list[Break] = field(default_factory=list)  # the first broken link of each chain

    @property
    def intact(self) -> bool:
        return not self.breaks

    def as_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "rows": self.rows,
            "chains": {str(c): head for c, head in sorted(self.chains.items())},
            "checkpoints": self.checkpoints,
            "breaks": [asdict(b) | {"message": str(b)} for b in self.breaks],
        }


Progress = Callable[[int, int], None]


async def verify_trail(
    connection: asyncpg.Connection, key: bytes, progress: Progress | None = None
) -> Verification:
    result = Verification()
    total = await connection.fetchval("SELECT count(*) FROM audit_trail")
    chains = [r[0] for r in await connection.fetch("SELECT DISTINCT chain FROM audit_trail")]
    checkpoint_rows = await connection.fetch(
        "SELECT id, chain, seq, hash, sealed_at, mac FROM audit_checkpoints ORDER BY chain, seq"
    )
    sealed: dict[int, list[asyncpg.Record]] = {}
    for checkpoint in checkpoint_rows:
        sealed.setdefault(checkpoint["chain"], []).append(checkpoint)
    for chain_id in sorted(set(chains) | set(sealed)):
        await _verify_chain(
            connection, chain_id, key, sealed.get(chain_id, []), result, total, progress
        )
    if progress:
        progress(result.rows, total)
    return result


async def _verify_chain(
    connection: asyncpg.Connection,
    chain_id: int,
    key: bytes,
    checkpoints: list[asyncpg.Record],
    result: Verification,
    total: int,
    progress: Progress | None,
) -> None:
    # Each checkpoint must carry the service's seal and name a head the chain really had.
    expected_at: dict[int, asyncpg.Record] = {}
    unsealed: Break | None = None
    broken: Break | None = None
    for checkpoint in checkpoints:
        mac = links.checkpoint_mac(
            key, chain_id, checkpoint["seq"], bytes(checkpoint["hash"]), checkpoint["sealed_at"]
        )
        if not hmac.compare_digest(mac, checkpoint["mac"]):
            unsealed = unsealed or Break(
                chain_id,
                checkpoint["seq"],
                None,
                f"checkpoint {checkpoint['id']} is not sealed by the service's key",
            )
        expected_at[checkpoint["seq"]] = checkpoint
    result.checkpoints += len(checkpoints)

    previous, seq = links.GENESIS, 0
    async with connection.transaction(readonly=True, isolation="repeatable_read"):
        async for row in connection.cursor(_ROWS, chain_id, prefetch=5000):
            seq += 1
            result.rows += 1
            if progress and result.rows % PROGRESS_EVERY == 0:
                progress(result.rows, total)
            if broken is not None:
                continue
            broken = _check_row(row, chain_id, seq, previous)
            if broken is None and row["seq"] in expected_at:
                checkpoint = expected_at.pop(row["seq"])
                if bytes(checkpoint["hash"]) != bytes(row["hash"]):
                    broken = Break(
                        chain_id,
                        row["seq"],
                        str(row["event_id"]),
                        f"differs from checkpoint {checkpoint['id']} sealed at "
                        f"{links.iso(checkpoint['sealed_at'])}: rows up to here were rewritten",
                    )
            previous = bytes(row["hash"])
            seq = row["seq"]
    result.chains[chain_id] = seq
    if broken is None and expected_at:
        lost = min(expected_at)
        broken = Break(
            chain_id,
            lost,
            None,
            f"checkpoint {expected_at[lost]['id']} sealed seq {lost} but the chain ends at "
            f"seq {seq}: rows were removed from its end",
        )
    found = [b for b in (broken, unsealed) if b is not None]
    if found:
        result.breaks.append(min(found, key=lambda b: b.seq))


def _check_row(row: asyncpg.Record, chain_id: int, seq: int, previous: bytes) -> Break | None:
    event_id = str(row["event_id"])
    if row["seq"] != seq:
        what = "missing (deleted)" if row["seq"] > seq else "out of order"
        return Break(chain_id, seq, None, f"seq {seq} {what}: the next row is seq {row['seq']}")
    if bytes(row["prev_hash"]) != previous:
        return Break(
            chain_id,
            seq,
            event_id,
            "does not follow its predecessor (its previous hash differs): a row before it "
            "was changed, removed, inserted or moved",
        )
    content = links.link_content(
        chain=chain_id,
        seq=row["seq"],
        event_id=event_id,
        topic=row["topic"],
        event_type=row["event_type"],
        occurred_at=row["occurred_at"],
        stored_at=row["stored_at"],
        index={
            "account_id": row["account_id"],
            "organisation_id": row["organisation_id"],
            "roles": list(row["roles"]),
            "action": row["action"],
            "outcome": row["outcome"],
            "rule": row["rule"],
            "trace_id": row["trace_id"],
            "student_keys": list(row["student_keys"]),
            "record_ids": list(row["record_ids"]),
            "accesses": json.loads(row["accesses"]),
        },
        envelope=json.loads(row["envelope"]),
    )
    if links.link_hash(previous, content) != bytes(row["hash"]):
        return Break(chain_id, seq, event_id, "content does not match its hash: the row was edited")
    return None
