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
            due = head["seq"] - sealed_seq >= self.every_rows or (
                sealed_at is None or now - sealed_at >= self.every
            )
            if due:
                self.seal(session, chain, head["seq"], head["hash"], now)

    def seal(self, session: Session, chain: int, seq: int, head: bytes, now: datetime) -> None:
        mac = checkpoint_mac(self.key, chain, seq, head, now)
        session.execute(
            insert(audit_checkpoints).values(
                chain=chain, seq=seq, hash=head, sealed_at=now, mac=mac
            )
        )
        event = AuditCheckpointSealed(
            chain=chain, seq=seq, head_hash=head.hex(), sealed_at=now, mac=mac
        )
        # The outbox only queues in the session's info, which the sync session shares with
        # its AsyncSession; its own before_commit listener runs after this one and writes it.
        await_only(self.outbox.add(session, event))  # type: ignore[arg-type]
