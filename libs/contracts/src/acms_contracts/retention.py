"""Events published by the retention service about the audit trail it keeps."""

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from acms_contracts import topics
from acms_contracts.envelope import Event


class AuditCheckpointSealed(Event):
    """A chain of the audit trail sealed at `seq`: a copy of the head outside the trail's
    database, so rewriting the trail up to here is detected (`head_hash`, hex SHA-256;
    `mac`, HMAC-SHA256 with the service's checkpoint key)."""

    event_type: ClassVar[str] = "AuditCheckpointSealed"
    topic: ClassVar[str] = topics.RETENTION_AUDIT
    chain: int = Field(ge=0)
    seq: int = Field(ge=1)
    head_hash: str = Field(min_length=64, max_length=64)
    sealed_at: datetime
    mac: str = Field(min_length=64, max_length=64)

    def partition_key(self) -> str:
        return f"audit-chain-{self.chain}"
