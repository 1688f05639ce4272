"""The retention service's part of the settings (`acms_platform.settings`, ACMS_*)."""

from __future__ import annotations

from acms_platform.settings import Settings, load_settings

# Development and tests only; production refuses to start without its own key.
DEVELOPMENT_CHECKPOINT_KEY = "acms-development-checkpoint-key-NOT-SECRET"


def checkpoint_key(settings: Settings) -> bytes:
    """The HMAC key sealing the trail's checkpoints."""
    key = settings.audit_checkpoint_key
    if key is None and settings.environment == "production":
        raise SystemExit(
            "retention: invalid settings:\n  ACMS_AUDIT_CHECKPOINT_KEY: required in production"
        )
    return (key.get_secret_value() if key else DEVELOPMENT_CHECKPOINT_KEY).encode()


def retention_settings(base: Settings | None = None, **overrides: object) -> Settings:
    """The settings from the environment, or `base` with `overrides` (validated)."""
    base = base or load_settings("retention")
    if not overrides:
        return base
    return Settings(**(base.model_dump(exclude={"database_url"}) | overrides))  # type: ignore[arg-type]


def load() -> Settings:
    return load_settings("retention")
