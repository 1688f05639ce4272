"""Tables of the identity service: the source of truth for organisations and accounts."""

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from acms_platform.database import new_metadata

metadata = new_metadata()

organisations = Table(
    "organisations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_type", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("region", String(100)),
    Column("parent_school_id", Uuid, ForeignKey("organisations.id")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A school's catchment history: the current ASP is the row with the latest
# effective_from not after today. Rows are never edited, only added.
catchments = Table(
    "catchments",
    metadata,
    Column("school_id", Uuid, ForeignKey("organisations.id"), primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("asp_id", Uuid, ForeignKey("organisations.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

monitoring_links = Table(
    "monitoring_links",
    metadata,
    Column("account_id", Uuid, ForeignKey("accounts.id"), primary_key=True),
    Column("asp_id", Uuid, ForeignKey("organisations.id"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(320), unique=True),
    Column("password_hash", Text),
    Column("is_service", Boolean, nullable=False, server_default="false"),
    Column("client_id", String(100), unique=True),
    Column("client_secret_hash", Text),
    Column("disabled_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

account_roles = Table(
    "account_roles",
    metadata,
    Column("account_id", Uuid, ForeignKey("accounts.id"), primary_key=True),
    Column("role", String(60), primary_key=True),
    Column("granted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Private keys live here, never in a file in the repository.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(20), nullable=False),
    Column("private_key_pem", Text, nullable=False),
    Column("public_jwk", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retired_at", DateTime(timezone=True)),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Invitations and password resets: one-time, expiring; only the token's digest is kept.
activation_tokens = Table(
    "activation_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("purpose", String(20), nullable=False),  # invitation | password_reset
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Grants of a four-eyes role: inert until a second platform admin decides.
role_grant_requests = Table(
    "role_grant_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("role", String(60), nullable=False),
    Column("requested_by", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_by", Uuid, ForeignKey("accounts.id")),
    Column("decided_at", DateTime(timezone=True)),
    Column("outcome", String(20)),  # approved | rejected
)

# Failed sign-ins per throttle key (an account's e-mail, a client, an account's known client).
sign_in_throttle = Table(
    "sign_in_throttle",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
    Column("blocked_until", DateTime(timezone=True)),
)

# The clients (device cookie, address; as digests) an account has signed in from.
known_clients = Table(
    "known_clients",
    metadata,
    Column("account_id", Uuid, ForeignKey("accounts.id"), primary_key=True),
    Column("client_key", String(80), primary_key=True),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
