"""Audit events: every decision that returned personal information, and every denial."""

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

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


class AuditedRecord(BaseModel):
    """One record an API request returned (or acted on), with the tiers it showed."""

    kind: str
    id: str
    student_key: str | None = None
    tiers: list[str] = Field(default_factory=list)
    rule: str | None = Field(
        default=None,
        description="the policy rules that granted it (`<kind>.<rule name>`), comma-joined",
    )
    rules: list[str] | None = Field(
        default=None,
        description="the policy rules that granted it, each `<kind>.<rule name>` "
        "(absent in events written before rules were named)",
    )


class AuditedDenial(BaseModel):
    """An attempt the policy refused, or a probe of an id that does not exist."""

    kind: str
    id: str
    action: str
    student_key: str | None = None
    reason: Literal["not_visible", "not_allowed", "not_found"]


class ApiRequestAudited(Event):
    """One event per API request that touched personal information or was refused (one
    message, many participant objects, as healthcare audit standards record a query):
    who, what, when, and every record returned with its tiers, plus every denial.
    Keyed by the caller's organisation; the audit trail indexes it per student."""

    event_type: ClassVar[str] = "ApiRequestAudited"
    topic: ClassVar[str] = topics.AUDIT_ACCESS

    principal_id: str
    organisation_id: UUID | None
    roles: list[str]
    service: str
    method: str
    route: str
    action: str
    status_code: int | None = None
    trace_id: str | None = None
    records: list[AuditedRecord] = Field(default_factory=list)
    denials: list[AuditedDenial] = Field(default_factory=list)

    def partition_key(self) -> str:
        return str(self.organisation_id) if self.organisation_id else self.principal_id
