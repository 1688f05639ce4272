"""Events that exist only to exercise the plumbing (health probes, benchmarks, fault tests)."""

from typing import ClassVar

from pydantic import Field

from acms_contracts import topics
from acms_contracts.envelope import Event


class ProbeEmitted(Event):
    """A synthetic event: `sequence` counts up per `stream` so ordering can be checked."""

    event_type: ClassVar[str] = "ProbeEmitted"
    topic: ClassVar[str] = topics.PLATFORM_PROBES
    stream: str = Field(min_length=1)
    sequence: int = Field(ge=0)
    sent_at_ns: int = 0

    def partition_key(self) -> str:
        return self.stream


class BenchmarkProbeEmitted(ProbeEmitted):
    """A probe on its own topic, so benchmark volumes never sit in front of test probes."""

    event_type: ClassVar[str] = "BenchmarkProbeEmitted"
    topic: ClassVar[str] = topics.PLATFORM_BENCHMARK
