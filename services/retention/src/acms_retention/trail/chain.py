"""The hash chain: how a trail row's hash is made from its content and its predecessor's.

A row's hash is SHA-256 over its predecessor's hash followed by the canonical JSON of the
row's content: its place (chain, sequence), the event's identity, the index columns and
the envelope as stored. Changing, removing, inserting or reordering a row changes a hash
that the next row (or a signed checkpoint) still holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from datetime import UTC, datetime
from typing import Any

# Rows are spread over a fixed number of chains by their Kafka key (so one student's or one
# account's events stay in one chain, in order) and chains are appended to concurrently.
# Each row records its chain, so a different count would only place new rows differently.
CHAINS = 8
GENESIS = bytes(32)
# pg_advisory_xact_lock(LOCK_CLASS, chain): one appender per chain at a time.
LOCK_CLASS = 72_410_012


def chain_for(key: str) -> int:
    return zlib.crc32(key.encode()) % CHAINS


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_content(
    *,
    chain: int,
    seq: int,
    event_id: str,
    topic: str,
    event_type: str,
    occurred_at: datetime,
    stored_at: datetime,
    index: dict[str, Any],
    envelope: dict[str, Any],
) -> dict[str, Any]:
    return {
        "chain": chain,
        "seq": seq,
        "event_id": event_id,
        "topic": topic,
        "event_type": event_type,
        "occurred_at": iso(occurred_at),
        "stored_at": iso(stored_at),
        "index": index,
        "envelope": envelope,
    }


def link_hash(prev_hash: bytes, content: dict[str, Any]) -> bytes:
    return hashlib.sha256(prev_hash + canonical(content)).digest()


def checkpoint_mac(key: bytes, chain: int, seq: int, head_hash: bytes, sealed_at: datetime) -> str:
    """HMAC-SHA256 over a chain's head: whoever holds the key can tell a checkpoint made by
    the service from one written into the database by someone else."""
    message = f"acms-audit-checkpoint:{chain}:{seq}:{head_hash.hex()}:{iso(sealed_at)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
