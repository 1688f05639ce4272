"""OpenTelemetry: one tracer provider per process, W3C context carried through Kafka."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_provider: TracerProvider | None = None


def configure_tracing(service_name: str, otlp_endpoint: str | None) -> TracerProvider:
    """Install the process's tracer provider once; export by OTLP when configured.

    Without an exporter nothing would read a span, so none is recorded: trace and span ids
    are still made, logged, written to audit events and carried through Kafka headers."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            sampler=None if otlp_endpoint else ALWAYS_OFF,
        )
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(otlp_endpoint)))
        trace.set_tracer_provider(_provider)
    return _provider


def current_trace_context() -> dict[str, str]:
    """The W3C headers (traceparent, tracestate) of the active span, for an outbox row."""
    carrier: dict[str, str] = {}
    if trace.get_current_span().get_span_context().is_valid:  # else there is nothing to carry
        propagate.inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


# --- HTTP: the server's own trace, never the caller's ------------------------------------

# What a caller could send to choose the trace an audit record names, or to smuggle values
# onward through Kafka headers (baggage is injected into every outbox row's context).
INBOUND_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})


class _IgnoreInboundTraceContext:
    """Outermost: drops the W3C trace headers of every HTTP request before the
    instrumentation reads them, so each request's server span starts a trace of its own.
    Callers are the public (through the gateway) and nothing else: no service calls
    another over HTTP, so there is no trusted caller whose trace to continue."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers", [])
            kept = [(k, v) for k, v in headers if k.lower() not in INBOUND_TRACE_HEADERS]
            if len(kept) != len(headers):
                scope = {**scope, "headers": kept}
        await self.app(scope, receive, send)


class TraceResponse:
    """Answers every request with its server span as a W3C `traceresponse` header
    (version-traceid-spanid-flags), so a caller can quote the trace id an audit record and
    the logs carry. Installed inside the instrumentation, where that span is current."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = trace.get_current_span().get_span_context()
        header = (
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
            if context.is_valid
            else None
        )

        async def send_with_trace(message: Message) -> None:
            if header is not None and message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"traceresponse", header.encode())],
                }
            await send(message)

        await self.app(scope, receive, send_with_trace)


def trace_own_requests(app: FastAPI, provider: TracerProvider, excluded_urls: str) -> None:
    """Instrument `app` so that each request is traced in a span of its own trace (an
    inbound traceparent is ignored: the audit trail's trace id is the server's, never a
    value the caller chose), answered in `traceresponse`."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app.add_middleware(TraceResponse)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=excluded_urls)
    instrumented = app.build_middleware_stack  # the instrumentation's, outermost

    def build_middleware_stack() -> ASGIApp:
        return _IgnoreInboundTraceContext(instrumented())

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]
