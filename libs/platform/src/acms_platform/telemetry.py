"""OpenTelemetry: one tracer provider per process, W3C context carried through Kafka."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

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
