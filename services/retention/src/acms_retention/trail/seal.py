"""Checkpoints: a chain's head sealed with the service's key, kept in the database and
published on Kafka (AuditCheckpointSealed), so that a trail rewritten up to a checkpoint,
hashes and all, no longer matches it, and a trail cut short ends before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from acms_contracts.retention import AuditCheckpointSealed
from acms_platform.outbox import Outbox
from acms_retention.tables import audit_checkpoints
from acms_retention.trail.chain import checkpoint_mac

_LAST_SEALS = text(
    "SELECT DISTINCT ON (chain) chain, seq, sealed_at FROM audit_checkpoints"
    " WHERE chain = ANY(:chains) ORDER BY chain, seq DESC"
)


def due(
    head_seq: int,
    sealed_seq: int,
    sealed_at: datetime | None,
    now: datetime,
    every_rows: int,
    every: timedelta,
) -> bool:
    """Whether a chain whose head is `head_seq` is to be sealed now, given its last seal
    (`sealed_seq` 0 and `sealed_at` None when it has none)."""
    return head_seq - sealed_seq >= every_rows or sealed_at is None or now - sealed_at >= every


def checkpoint_row(
    key: bytes, chain: int, seq: int, head: bytes, sealed_at: datetime
) -> dict[str, Any]:
    """The `audit_checkpoints` row sealing `chain` at `seq` (its head hash `head`)."""
    mac = checkpoint_mac(key, chain, seq, head, sealed_at)
    return {"chain": chain, "seq": seq, "hash": head, "sealed_at": sealed_at, "mac": mac}


class Sealer:
    """An after-append step: seals each chain the batch advanced, when it is due."""

    def __init__(self, key: bytes, every_rows: int, every_seconds: float, outbox: Outbox) -> None:
        self.key = key
        self.every_rows = every_rows
        self.every = timedelta(seconds=every_seconds)
        self.outbox = outbox

    def __call__(self, session: Session, rows: list[dict[str, Any]]) -> None:
        heads: dict[int, dict[str, Any]] = {}
        for row in rows:  # rows come in seq order within each chain
            heads[row["chain"]] = row
        if not heads:
            return
        last = {
            chain: (seq, sealed_at)
            for chain, seq, sealed_at in session.execute(_LAST_SEALS, {"chains": list(heads)})
        }
        now = datetime.now(UTC)
        for chain, head in sorted(heads.items()):
            sealed_seq, sealed_at = last.get(chain, (0, None))
            if due(head["seq"], sealed_seq, sealed_at, now, self.every_rows, self.every):
                self.seal(session, chain, head["seq"], head["hash"], now)

    def seal(self, session: Session, chain: int, seq: int, head: bytes, now: datetime) -> None:
        row = checkpoint_row(self.key, chain, seq, head, now)
        session.execute(insert(audit_checkpoints).values(**row))
        event = AuditCheckpointSealed(
            chain=chain, seq=seq, head_hash=head.hex(), sealed_at=now, mac=row["mac"]
        )
        # The outbox only queues in the session's info, which the sync session shares with
        # its AsyncSession; its own before_commit listener runs after this one and writes it.
        await_only(self.outbox.add(session, event))  # type: ignore[arg-type]
