"""Builds a service's FastAPI application around its Runtime."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, PLATFORM_COLLECTOR, REGISTRY, generate_latest
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError

from acms_platform import asyncapi
from acms_platform.database import describe_database_error
from acms_platform.errors import PlatformError, platform_error_response
from acms_platform.headers import SecurityHeaders
from acms_platform.hygiene import RequestHygiene
from acms_platform.logs import configure_logging
from acms_platform.problems import document_errors
from acms_platform.runtime import Runtime, ServiceDefinition
from acms_platform.settings import Settings, load_settings
from acms_platform.telemetry import configure_tracing, trace_own_requests

log = logging.getLogger(__name__)

# No version strings in what a service exposes: python_info names the interpreter's.
try:
    REGISTRY.unregister(PLATFORM_COLLECTOR)
except KeyError:  # already gone
    pass


def create_app(
    definition: ServiceDefinition,
    routers: Sequence[APIRouter] = (),
    settings: Settings | None = None,
) -> FastAPI:
    settings = settings or load_settings(definition.name)
    configure_logging(definition.name, settings.log_level)
    provider = configure_tracing(definition.name, settings.otlp_endpoint)
    runtime = Runtime.create(definition, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        yield
        log.info("%s stopping", definition.name)
        await runtime.stop()

    app = FastAPI(title=f"ACMS {definition.name}", lifespan=lifespan)
    app.state.runtime = runtime
    app.include_router(_health_router(runtime))
    app.include_router(_asyncapi_router(definition))
    for router in routers:
        app.include_router(router)
    _install_error_handlers(app)
    app.add_exception_handler(PlatformError, platform_error_response)
    app.add_middleware(
        RequestHygiene,
        max_bytes=settings.max_body_bytes,
        streamed=definition.streamed_uploads,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(SecurityHeaders)  # outermost: on every response, refusals included
    document_errors(app)
    trace_own_requests(app, provider, excluded_urls="healthz,readyz,metrics")
    return app


def _health_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """The database and Kafka are reachable and migrations are applied."""
        failing = await runtime.readiness()
        if failing:
            return JSONResponse({"status": "not ready", "failing": failing}, status_code=503)
        return JSONResponse({"status": "ready"})

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _asyncapi_router(definition: ServiceDefinition) -> APIRouter:
    """`/asyncapi.json`: the topics the service consumes and publishes, public like
    `/openapi.json` (`acms_platform.asyncapi`; committed in libs/contracts/asyncapi/)."""
    router = APIRouter()
    built: list[dict[str, Any]] = []

    @router.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_document() -> JSONResponse:
        if not built:  # built once, off the event loop (a few hundred ms of schema work)
            built.append(await asyncio.to_thread(asyncapi.document, definition))
        return JSONResponse(built[0])

    return router


def _field_of(loc: tuple[object, ...] | list[object]) -> str:
    """`body.pupil.name` → `pupil.name`: only the leading `body` is FastAPI's (a field of
    the body may itself be called `body`)."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_failed(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [{"field": _field_of(e["loc"]), "message": e["msg"]} for e in error.errors()]
        summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
        return JSONResponse(
            {"detail": f"invalid request: {summary}", "errors": problems},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(DBAPIError)
    async def database_failed(request: Request, error: DBAPIError) -> JSONResponse:
        if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
            # The database went away during the request (a connection it had already
            # closed is dropped at checkout, database.py): nothing it did was committed.
            log.warning(
                "database unavailable for %s %s: %s",
                request.method,
                request.url.path,
                describe_database_error(error),
            )
            return JSONResponse(
                {"detail": "the database is unavailable; try again shortly"},
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "1"},
            )
        if isinstance(error, DataError):
            # A value the checks in hygiene.py did not foresee: still the input's fault.
            log.warning(
                "database refused a value on %s %s: %s",
                request.method,
                request.url.path,
                describe_database_error(error),
            )
            return JSONResponse(
                {"detail": "invalid request: a value cannot be stored", "errors": []},
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            )
        # The stack without the exception's message (it may quote the values).
        log.error(
            "database error on %s %s: %s\n%s",
            request.method,
            request.url.path,
            describe_database_error(error),
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return JSONResponse(
            {"detail": "internal error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
