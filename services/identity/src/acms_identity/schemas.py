"""API models of the identity service."""

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from acms_contracts.vocabulary import OrgType, Role

PASSWORD_MIN_LENGTH = 12


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


class AssignCatchment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asp_id: UUID
    effective_from: date


class CatchmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    school_id: UUID
    asp_id: UUID
    effective_from: date


class MonitoringLink(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    account_id: UUID
    asp_id: UUID


class CreateAccount(BaseModel):
    """An invitation: the account is made without a password, and the invitee chooses
    theirs with the token mailed to `email`. No route takes another person's password."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: UUID
    display_name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    roles: list[Role] = Field(default_factory=list)


class Activate(BaseModel):
    """Set one's own password with the one-time token from an invitation or reset mail."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=256)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320)


class Accepted(BaseModel):
    detail: str


class CreateClient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation_id: UUID
    display_name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(default_factory=list)


class AccountOut(BaseModel):
    """Fields of tiers the caller is not granted are absent (routes exclude unset)."""

    id: UUID
    organisation_id: UUID
    org_type: OrgType
    display_name: str
    email: str | None = Field(default=None, description="tier staff_contact")
    is_service: bool
    disabled: bool
    pending_activation: bool = Field(
        default=False, description="invited; the invitee has not chosen a password yet"
    )
    roles: list[Role]
    pending_roles: list[Role] = Field(
        default_factory=list,
        description="granted, waiting for a second platform admin's approval (inert)",
    )


class ClientCreated(BaseModel):
    account: AccountOut
    client_id: str
    client_secret: str = Field(description="shown once; only its hash is stored")


class GrantRole(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=256)


class Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class ClientCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, max_length=100)
    client_secret: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str | None = None
