"""Metrics kept in memory: a :class:`emp.ports.metrics_sink.MetricsSinkPort` you can read back.

Useful in tests, in the demo and wherever no Prometheus endpoint is wanted.
"""

from emp.adapters.memory_metrics.metrics_sink import InMemoryMetricsSink

__all__ = ["InMemoryMetricsSink"]
