"""Audit events: every decision that returned personal information, and every denial."""

from typing import ClassVar
from uuid import UUID

from acms_contracts import topics
from acms_contracts.envelope import Event


class AccessDecisionRecorded(Event):
    event_type: ClassVar[str] = "AccessDecisionRecorded"
    topic: ClassVar[str] = topics.AUDIT_ACCESS

    principal_id: str
    organisation_id: UUID | None
    roles: list[str]
    service: str
    resource_kind: str
    resource_id: str
    action: str
    allowed: bool
    tiers: list[str]
    rule: str | None = None
    trace_id: str | None = None
    subject_student_key: str | None = None

    def partition_key(self) -> str:
        return self.subject_student_key or self.principal_id

    def student_key(self) -> str | None:
        return self.subject_student_key
