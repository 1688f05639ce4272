"""The one settings object every service reads from its environment (prefix ACMS_)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import (
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from acms_contracts.student_keys import student_key_for_nsn
from acms_platform.kafka_client import client_options, faststream_security

if TYPE_CHECKING:
    from faststream.security import BaseSecurity

SERVICE_PORTS = {
    "identity": 8101,
    "referrals": 8102,
    "cases": 8103,
    "integrations": 8104,
    "reporting": 8105,
    "retention": 8106,
}


class Settings(BaseSettings):
    """Shared plumbing settings. A service passes its own name; everything else but the
    student-key secret has a development default that matches the launchers in deploy/."""

    model_config = SettingsConfigDict(env_prefix="ACMS_", extra="ignore")

    service_name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_-]*$")
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)

    pg_host: str = "127.0.0.1"
    pg_port: int = Field(default=55432, ge=1, le=65535)
    pg_user: str = "acms"
    pg_password: str = "acms"
    # The role that owns the service's database and runs its migrations, when the service
    # itself runs as a lesser role (pg_user): migrations then grant pg_user what it needs,
    # and nothing that changes an append-only table (`ServiceDefinition.append_only_tables`).
    # Unset: pg_user owns the database. Production runs the migrations with these in a
    # step of their own (`python -m acms_platform.migrate`), so the service never holds them.
    pg_owner_user: str | None = Field(default=None, min_length=1)
    pg_owner_password: str | None = None
    database_name: str | None = Field(default=None, description="default: acms_<service>")
    db_pool_size: int = Field(default=10, ge=1, le=200)

    kafka_bootstrap: str = "127.0.0.1:59092"
    # The service's own Kafka principal (SASL/SCRAM-SHA-512): its ACLs let it write only the
    # topics it publishes and read only those it subscribes to (acms_platform.kafka_acls).
    # The launchers make one per service at first start (.run/secrets/kafka_<service>);
    # production supplies them from its secret store. Unset: PLAINTEXT, which our brokers
    # refuse; required in production.
    kafka_username: str | None = Field(default=None, min_length=1)
    kafka_password: SecretStr | None = None
    # The PEM certificate(s) of the CA that signed the broker's certificate: set, the clients
    # connect over TLS (SASL_SSL) and refuse a broker whose certificate that CA did not sign
    # or that does not name the bootstrap host. Only this CA is trusted, not the system's.
    # The launchers make a local CA at first start (.run/tls/kafka-ca.pem, deploy/kafka.sh);
    # production mounts its CA from its secret store. Unset: no TLS, which our brokers
    # refuse; required in production.
    kafka_ca_file: FilePath | None = None
    kafka_partitions: int = Field(default=6, ge=1, le=256)
    consumer_group: str | None = Field(default=None, description="default: acms-<service>")
    # Prefixed to every Kafka topic and consumer group this process uses, so test and
    # benchmark runs ("test-<run>.", "bench.") never meet the demo stack's ("").
    topic_namespace: str = Field(default="", pattern=r"^([a-z0-9][a-z0-9_-]*\.)?$")
    handler_attempts: int = Field(default=3, ge=1, le=20)
    # A marker only guards against redelivery, which Kafka's retention (7 days by default)
    # bounds; keep markers comfortably longer than the topics keep messages.
    inbox_retention_days: int = Field(default=30, ge=1, le=3650)

    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_idle_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    cerbos_url: str = "http://127.0.0.1:3592"
    identity_url: str = "http://127.0.0.1:8101"

    # Retention's audit trail (services/retention/README.md). The HMAC key sealing its
    # checkpoints: required in production, a fixed non-secret key elsewhere.
    audit_checkpoint_key: SecretStr | None = None
    audit_checkpoint_rows: int = Field(default=1000, ge=1, le=10_000_000)
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # Retention's inappropriate-access alerts, over the audit events' own times.
    alert_distinct_students: int = Field(default=50, ge=1)
    alert_distinct_students_seconds: int = Field(default=600, ge=1)
    alert_denials: int = Field(default=10, ge=1)
    alert_denials_seconds: int = Field(default=300, ge=1)
    alert_grant_grace_seconds: int = Field(default=3600, ge=1)
    # Usual hours, learned per organisation: an hour of the day holding less than this share
    # of the organisation's reads is unusual, once it has this many reads of history.
    alert_usual_hours_min_reads: int = Field(default=500, ge=1)
    alert_usual_hours_min_share: float = Field(default=0.01, gt=0, lt=1)
    alert_usual_hours_timezone: str = Field(default="Pacific/Auckland", min_length=1)
    # A read of a record the organisation lost (move, re-allocation) this long after it lost
    # it: requests already in flight, and pages open, at the moment of the move are not alerts.
    alert_relationship_grace_seconds: int = Field(default=300, ge=0)

    # Cases' reminders (services/cases/README.md): an active case with nothing recorded on
    # it for this many days needs attention; the scan for it (and for overdue calendar
    # entries) runs this often.
    case_idle_days: int = Field(default=14, ge=1, le=365)
    case_attention_scan_seconds: float = Field(default=900.0, gt=0, le=86_400)

    # Integrations' agency information requests (services/integrations/README.md): where
    # each agency's endpoint is (the agency simulator's by default), and how delivery to
    # it retries: after base * 2^(attempts - 1) seconds, at most max, while it fails.
    agency_immigration_url: str = "http://127.0.0.1:8190/immigration"
    agency_msd_url: str = "http://127.0.0.1:8190/msd"
    agency_oranga_tamariki_url: str = "http://127.0.0.1:8190/oranga_tamariki"
    agency_police_url: str = "http://127.0.0.1:8190/police"
    agency_delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    agency_retry_base_seconds: float = Field(default=1.0, gt=0, le=3600)
    agency_retry_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    agency_delivery_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    # Identity's mail: invitations and password resets, sent over SMTP (locally the
    # server deploy/mail.sh starts, whose Maildir is $RUN_DIR/mail). `public_url` is where
    # people reach the gateway, for the instructions in the mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str = Field(default="ACMS <no-reply@acms.example.org>", min_length=3)
    public_url: str = "http://127.0.0.1:8080"
    # How long an activation (invitation) and a password reset stay usable, once.
    activation_ttl_hours: int = Field(default=72, ge=1, le=720)
    password_reset_ttl_minutes: int = Field(default=60, ge=5, le=1440)
    # Sign-in throttling (services/identity/README.md): free failures per account (from
    # clients it has not signed in from before) and per client; from the free-th failure on,
    # the next attempt waits base * 2^(n - free) seconds, at most max. Failures older than
    # the window are forgotten.
    sign_in_free_failures_account: int = Field(default=5, ge=1, le=1000)
    sign_in_free_failures_client: int = Field(default=50, ge=1, le=100_000)
    sign_in_delay_base_seconds: float = Field(default=1.0, gt=0, le=3600)
    sign_in_delay_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    sign_in_failure_window_seconds: int = Field(default=3600, ge=60, le=30 * 86_400)
    # Cases' documents and media (services/cases/README.md, "Documents"): the largest file
    # taken (413 beyond it); where the bytes live: a directory under `data_dir` by default,
    # or an S3-compatible bucket; a temporary blob left by an upload that died is removed
    # by the sweeper at start-up once it has not been written for `document_sweep_minutes`.
    data_dir: str = Field(default=".run/data", min_length=1, description="<data_dir>/<service>")
    document_max_bytes: int = Field(default=1024**3, ge=1)
    document_store: Literal["local", "s3"] = "local"
    document_s3_endpoint: str | None = None
    document_s3_region: str = "us-east-1"
    document_s3_bucket: str = "acms-documents"
    document_s3_access_key: str | None = None
    document_s3_secret_key: SecretStr | None = None
    document_sweep_minutes: float = Field(default=60.0, ge=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP traces endpoint")
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Routes a service declares as streamed uploads (`ServiceDefinition.streamed_uploads`).
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)

    # The key of the student pseudonym (`acms_contracts.student_keys`): required, no
    # default, the same in every service of a deployment. Anyone holding it can compute
    # the key of any NSN, so it is as sensitive as the data. Changing it means re-keying
    # (README, "Student keys").
    student_key_secret: SecretStr = Field(min_length=32)

    @field_validator("kafka_username", "kafka_password", "kafka_ca_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # compose passes `${ACMS_KAFKA_USERNAME_<SERVICE>:-}`: empty means not configured
        return None if value == "" else value

    @model_validator(mode="after")
    def _kafka_credentials_complete(self) -> Settings:
        if (self.kafka_username is None) != (self.kafka_password is None):
            raise ValueError("kafka_username and kafka_password go together: set both or neither")
        if self.environment == "production" and self.kafka_username is None:
            raise ValueError("kafka_username and kafka_password are required in production")
        if self.environment == "production" and self.kafka_ca_file is None:
            raise ValueError("kafka_ca_file is required in production (Kafka over TLS)")
        return self

    def kafka_client_options(self) -> dict[str, object]:
        """aiokafka keyword arguments (bootstrap servers, TLS and SASL) for this principal."""
        return client_options(
            self.kafka_bootstrap, self.kafka_username, self._kafka_secret, self.kafka_ca_file
        )

    def kafka_security(self) -> BaseSecurity | None:
        return faststream_security(self.kafka_username, self._kafka_secret, self.kafka_ca_file)

    @property
    def _kafka_secret(self) -> str | None:
        return self.kafka_password.get_secret_value() if self.kafka_password else None

    def student_key(self, nsn: str) -> str:
        """The student key of this NSN under this deployment's secret."""
        return student_key_for_nsn(nsn, self.student_key_secret.get_secret_value())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def database_url(self) -> str:
        name = self.database_name or f"acms_{self.service_name}"
        return (
            f"postgresql+asyncpg://{self.pg_user}:{self.pg_password}"
            f"@{self.pg_host}:{self.pg_port}/{name}"
        )

    @property
    def migration_database_url(self) -> str:
        """Where and as whom the migrations run: the owner when one is set."""
        if self.pg_owner_user is None:
            return self.database_url
        return (
            f"postgresql+asyncpg://{self.pg_owner_user}:{self.pg_owner_password or ''}"
            f"@{self.pg_host}:{self.pg_port}/{self.database_name or f'acms_{self.service_name}'}"
        )

    @property
    def runtime_role(self) -> str | None:
        """The lesser role the service runs as, when an owner runs its migrations."""
        if self.pg_owner_user is None or self.pg_owner_user == self.pg_user:
            return None
        return self.pg_user

    @property
    def group_id(self) -> str:
        return self.topic_namespace + (self.consumer_group or f"acms-{self.service_name}")

    def topic(self, name: str) -> str:
        """The Kafka topic that carries the contract topic `name` here (namespaced)."""
        return self.topic_namespace + name

    @property
    def service_data_dir(self) -> Path:
        return Path(self.data_dir) / self.service_name

    @property
    def http_port(self) -> int:
        return self.port or SERVICE_PORTS.get(self.service_name, 8000)


SECRET_SETTINGS = frozenset(
    {
        "student_key_secret",
        "smtp_password",
        "document_s3_secret_key",
        "kafka_password",
        "pg_password",
        "pg_owner_password",
    }
)


def load_settings(service_name: str, **overrides: object) -> Settings:
    """Read settings; a bad value stops the process at once naming the setting."""
    try:
        return Settings(service_name=service_name, **overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for e in error.errors():
            name = "ACMS_" + "_".join(str(p) for p in e["loc"]).upper()
            if not e["loc"]:  # a rule over several settings: its message names them
                lines.append(e["msg"].removeprefix("Value error, "))  # never the input
            elif e["type"] == "missing":
                lines.append(f"{name}: required, not set")
            elif e["loc"] and e["loc"][0] in SECRET_SETTINGS:
                lines.append(f"{name}: {e['msg']}")  # never the value
            else:
                lines.append(f"{name}: {e['msg']} (got {e.get('input')!r})")
        raise SystemExit(f"{service_name}: invalid settings:\n  " + "\n  ".join(lines)) from None


if __name__ == "__main__":  # pragma: no cover - manual check
    print(load_settings(sys.argv[1] if len(sys.argv) > 1 else "identity").model_dump_json(indent=2))
