"""Events published by the identity service.

Organisation-shaped facts (organisations, catchments, monitoring links) travel on one
topic keyed by organisation so that each organisation's history stays in order; account
and role facts travel on another keyed by account.
"""

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from acms_contracts import topics
from acms_contracts.envelope import Event
from acms_contracts.vocabulary import OrgType, Role


class _OrganisationEvent(Event):
    topic: ClassVar[str] = topics.IDENTITY_ORGANISATIONS
    organisation_id: UUID

    def partition_key(self) -> str:
        return str(self.organisation_id)


class OrganisationRegistered(_OrganisationEvent):
    event_type: ClassVar[str] = "OrganisationRegistered"
    org_type: OrgType
    name: str = Field(min_length=1, max_length=200)
    region: str | None = None
    parent_school_id: UUID | None = Field(
        default=None, description="for an ISP: the one school it is attached to"
    )


class OrganisationRenamed(_OrganisationEvent):
    event_type: ClassVar[str] = "OrganisationRenamed"
    name: str = Field(min_length=1, max_length=200)


class CatchmentAssigned(_OrganisationEvent):
    """School `organisation_id` lies in the catchment of `asp_id` from `effective_from`."""

    event_type: ClassVar[str] = "CatchmentAssigned"
    asp_id: UUID
    effective_from: date


class MonitoringLinkAdded(_OrganisationEvent):
    """Regional office `organisation_id`'s contract manager `account_id` monitors `asp_id`."""

    event_type: ClassVar[str] = "MonitoringLinkAdded"
    account_id: UUID
    asp_id: UUID


class MonitoringLinkRemoved(_OrganisationEvent):
    event_type: ClassVar[str] = "MonitoringLinkRemoved"
    account_id: UUID
    asp_id: UUID


class _AccountEvent(Event):
    topic: ClassVar[str] = topics.IDENTITY_ACCOUNTS
    account_id: UUID

    def partition_key(self) -> str:
        return str(self.account_id)


class AccountCreated(_AccountEvent):
    event_type: ClassVar[str] = "AccountCreated"
    organisation_id: UUID
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = None
    is_service: bool = False


class AccountDisabled(_AccountEvent):
    event_type: ClassVar[str] = "AccountDisabled"


class AccountEnabled(_AccountEvent):
    event_type: ClassVar[str] = "AccountEnabled"


class RoleGranted(_AccountEvent):
    event_type: ClassVar[str] = "RoleGranted"
    role: Role


class RoleRevoked(_AccountEvent):
    event_type: ClassVar[str] = "RoleRevoked"
    role: Role
