"""MetricsSinkPort: counters, gauges and observations (Prometheus later)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class MetricsSinkPort(Protocol):
    def increment(self, name: str, amount: float = 1.0, **labels: str) -> None: ...

    def set_gauge(self, name: str, value: float, **labels: str) -> None: ...

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record one sample of a distribution (latency, size)."""
        ...
