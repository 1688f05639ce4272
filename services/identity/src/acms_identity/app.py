"""Composition root of the identity service: `uvicorn --factory acms_identity.app:create`."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from acms_contracts import topics
from acms_identity import signing
from acms_identity.api import routers
from acms_identity.handlers import handlers
from acms_identity.repository import IdentityAccounts
from acms_platform.app import create_app
from acms_platform.runtime import Runtime, ServiceDefinition
from acms_platform.settings import Settings
from acms_platform.tokens import JwksCache, TokenVerifier

log = logging.getLogger(__name__)

SERVICE_ROOT = Path(__file__).resolve().parents[2]
definition = ServiceDefinition(
    name="identity",
    root=SERVICE_ROOT,
    handlers=handlers,
    publishes=(topics.IDENTITY_ORGANISATIONS, topics.IDENTITY_ACCOUNTS, topics.AUDIT_ACCESS),
    actors=IdentityAccounts(),
)


def create(settings: Settings | None = None) -> FastAPI:
    app = create_app(definition, routers, settings)
    runtime: Runtime = app.state.runtime
    # Identity verifies its own tokens from its own table, not over HTTP from itself.
    app.state.token_verifier = TokenVerifier(JwksCache(lambda: _local_jwks(runtime)))
    _prepare_signing_key_at_start(app, runtime)
    return app


async def _local_jwks(runtime: Runtime) -> dict[str, Any]:
    async with runtime.database.transaction() as session:
        return await signing.jwks(session)


def _prepare_signing_key_at_start(app: FastAPI, runtime: Runtime) -> None:
    platform_lifespan = app.router.lifespan_context

    async def prepare() -> None:
        await runtime.wait_started()
        async with runtime.database.transaction() as session:
            key = await signing.active_key(session)
        log.info("signing key %s active", key.kid)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with platform_lifespan(app):
            task = asyncio.create_task(prepare(), name="prepare-signing-key")
            yield
            task.cancel()

    app.router.lifespan_context = lifespan
