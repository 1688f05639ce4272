"""Verification of the trail: every chain walked in order, every link recomputed, every
checkpoint's seal and head checked. Reads each chain's rows and its checkpoints through two
cursors side by side, so memory stays flat however long the trail (7 years of seals are
millions of checkpoints)."""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator, Callable
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
_CHECKPOINTS = (
    "SELECT id, seq, hash, sealed_at, mac FROM audit_checkpoints WHERE chain = $1 ORDER BY seq"
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
    chains = await connection.fetch(
        "SELECT chain FROM audit_trail UNION SELECT chain FROM audit_checkpoints ORDER BY 1"
    )
    for (chain_id,) in chains:
        await _verify_chain(connection, chain_id, key, result, total, progress)
    if progress:
        progress(result.rows, total)
    return result


class _Checkpoints:
    """One chain's checkpoints in seq order, read from a cursor as the walk of its rows
    reaches them; each is checked for the service's seal as it is read."""

    def __init__(self, rows: AsyncIterator[asyncpg.Record], chain_id: int, key: bytes) -> None:
        self._rows, self._chain, self._key = rows, chain_id, key
        self.current: asyncpg.Record | None = None
        self.count = 0
        self.unsealed: Break | None = None

    async def advance(self) -> None:
        self.current = await anext(self._rows, None)
        if self.current is None:
            return
        self.count += 1
        checkpoint = self.current
        mac = links.checkpoint_mac(
            self._key, self._chain, checkpoint["seq"], bytes(checkpoint["hash"]),
            checkpoint["sealed_at"],
        )  # fmt: skip
        if self.unsealed is None and not hmac.compare_digest(mac, checkpoint["mac"]):
            self.unsealed = Break(
                self._chain,
                checkpoint["seq"],
                None,
                f"checkpoint {checkpoint['id']} is not sealed by the service's key",
            )

    async def at(self, seq: int) -> asyncpg.Record | None:
        """The checkpoint sealing `seq`, if any, once those before it are passed."""
        while self.current is not None and self.current["seq"] < seq:
            await self.advance()
        if self.current is not None and self.current["seq"] == seq:
            found = self.current
            await self.advance()
            return found
        return None


async def _verify_chain(
    connection: asyncpg.Connection,
    chain_id: int,
    key: bytes,
    result: Verification,
    total: int,
    progress: Progress | None,
) -> None:
    broken: Break | None = None
    previous, seq = links.GENESIS, 0
    async with connection.transaction(readonly=True, isolation="repeatable_read"):
        # Each checkpoint must carry the service's seal and name a head the chain had.
        sealed = _Checkpoints(
            aiter(connection.cursor(_CHECKPOINTS, chain_id, prefetch=1000)), chain_id, key
        )
        await sealed.advance()
        async for row in connection.cursor(_ROWS, chain_id, prefetch=5000):
            seq += 1
            result.rows += 1
            if progress and result.rows % PROGRESS_EVERY == 0:
                progress(result.rows, total)
            if broken is not None:
                continue
            broken = _check_row(row, chain_id, seq, previous)
            checkpoint = await sealed.at(row["seq"]) if broken is None else None
            if checkpoint is not None and bytes(checkpoint["hash"]) != bytes(row["hash"]):
                broken = Break(
                    chain_id,
                    row["seq"],
                    str(row["event_id"]),
                    f"differs from checkpoint {checkpoint['id']} sealed at "
                    f"{links.iso(checkpoint['sealed_at'])}: rows up to here were rewritten",
                )
            previous = bytes(row["hash"])
            seq = row["seq"]
        beyond = sealed.current if broken is None else None
        while sealed.current is not None:  # the rest still checked for their seal
            await sealed.advance()
    result.chains[chain_id] = seq
    result.checkpoints += sealed.count
    if beyond is not None:
        broken = Break(
            chain_id,
            beyond["seq"],
            None,
            f"checkpoint {beyond['id']} sealed seq {beyond['seq']} but the chain ends at "
            f"seq {seq}: rows were removed from its end",
        )
    found = [b for b in (broken, sealed.unsealed) if b is not None]
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
