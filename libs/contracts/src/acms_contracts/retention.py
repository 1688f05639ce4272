"""Events published by the retention service about the audit trail it keeps."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

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


class AccessAlertRaised(Event):
    """A pattern of access the privacy officer should look at (`rule` names it)."""

    event_type: ClassVar[str] = "AccessAlertRaised"
    topic: ClassVar[str] = topics.RETENTION_AUDIT
    alert_id: UUID
    rule: str = Field(min_length=1, max_length=100)
    account_id: str
    organisation_id: str | None = None
    summary: str = Field(max_length=500)
    first_seen_at: datetime
    last_seen_at: datetime
    count: int = Field(ge=0)

    def partition_key(self) -> str:
        return self.account_id


class AccessAlertAcknowledged(Event):
    event_type: ClassVar[str] = "AccessAlertAcknowledged"
    topic: ClassVar[str] = topics.RETENTION_AUDIT
    alert_id: UUID
    account_id: str = Field(description="the account the alert is about")
    acknowledged_by: str
    note: str = Field(min_length=1, max_length=2000)

    def partition_key(self) -> str:
        return self.account_id
