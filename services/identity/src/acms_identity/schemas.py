"""API models of the identity service."""

from uuid import UUID

from acms_contracts.vocabulary import OrgType
from pydantic import BaseModel, ConfigDict, Field


class RegisterOrganisation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_type: OrgType
    name: str = Field(min_length=1, max_length=200)
    region: str | None = Field(default=None, max_length=100)
    parent_school_id: UUID | None = None


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    org_type: OrgType
    name: str
    region: str | None
    parent_school_id: UUID | None
