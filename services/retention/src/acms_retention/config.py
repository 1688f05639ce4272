"""Settings of the retention service: the shared settings plus the trail's own (ACMS_*)."""

from __future__ import annotations

import sys

from pydantic import Field, SecretStr, ValidationError, model_validator

from acms_platform.settings import Settings, load_settings

# Development and tests only; production refuses to start without its own key.
DEVELOPMENT_CHECKPOINT_KEY = "acms-development-checkpoint-key-NOT-SECRET"


class RetentionSettings(Settings):
    # HMAC key sealing the trail's checkpoints (deploy: ensure_secret audit_checkpoint_key).
    audit_checkpoint_key: SecretStr | None = None
    # A chain is sealed when this many rows were appended since its last seal, or when its
    # last seal is older than the seconds below and rows were appended since.
    audit_checkpoint_rows: int = Field(default=1000, ge=1, le=10_000_000)
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _production_has_its_own_key(self) -> RetentionSettings:
        if self.environment == "production" and self.audit_checkpoint_key is None:
            raise ValueError("audit_checkpoint_key is required in production")
        return self

    @property
    def checkpoint_key(self) -> bytes:
        key = self.audit_checkpoint_key
        return (key.get_secret_value() if key else DEVELOPMENT_CHECKPOINT_KEY).encode()


def retention_settings(base: Settings | None = None, **overrides: object) -> RetentionSettings:
    """The retention settings: from the environment, or from `base` (tests build the shared
    part) with the trail's own settings from the environment or `overrides`."""
    if isinstance(base, RetentionSettings) and not overrides:
        return base
    values = base.model_dump(exclude={"database_url"}) if base else {}
    values |= {"service_name": "retention", **overrides}
    try:
        return RetentionSettings(**values)  # type: ignore[arg-type]
    except ValidationError as error:
        if base is not None:
            raise
        lines = [f"ACMS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()]
        raise SystemExit("retention: invalid settings:\n  " + "\n  ".join(lines)) from None


def load() -> RetentionSettings:
    load_settings("retention")  # the shared settings' own checks and messages first
    return retention_settings()


if __name__ == "__main__":  # pragma: no cover - manual check
    print(load().model_dump_json(indent=2), file=sys.stdout)
