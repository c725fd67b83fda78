"""InMemoryMetricsSink: counters, gauges and observations in dicts, behind one lock."""

from __future__ import annotations

import math
import re
import threading
from typing import Any, Literal

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Kind = Literal["counter", "gauge", "observation"]
LabelItems = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, LabelItems]


def _check_name(name: str) -> None:
    if not isinstance(name, str) or _METRIC_NAME.fullmatch(name) is None:
        raise ValueError(f"expected a metric name matching [a-zA-Z_:][a-zA-Z0-9_:]*, was {name!r}")


def _label_items(labels: dict[str, Any]) -> LabelItems:
    for label in labels:
        if _LABEL_NAME.fullmatch(label) is None or label.startswith("__"):
            raise ValueError(
                f"expected a label name matching [a-zA-Z_][a-zA-Z0-9_]* and not starting "
                f"with '__', was {label!r}"
            )
    # values are rendered with str(), as prometheus_client does
    return tuple(sorted((label, str(value)) for label, value in labels.items()))


def _series(name: str, labels: dict[str, Any]) -> SeriesKey:
    _check_name(name)
    return name, _label_items(labels)


class InMemoryMetricsSink:
    """Counters, gauges and observations kept in memory, readable back by name and labels.

    A series is identified by its name and its labels (order irrelevant). A name belongs to
    one kind: using a counter's name as a gauge raises ``ValueError``. Counters only go up.
    Safe to call from several threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[str, Kind] = {}
        self._counters: dict[SeriesKey, float] = {}
        self._gauges: dict[SeriesKey, float] = {}
        self._observations: dict[SeriesKey, list[float]] = {}

    def _claim(self, name: str, kind: Kind) -> None:
        """Record ``name`` as ``kind``; call with the lock held."""
        existing = self._kinds.setdefault(name, kind)
        if existing != kind:
            raise ValueError(f"metric {name!r} is a {existing}, it cannot be used as a {kind}")

    # -- MetricsSinkPort -------------------------------------------------------------------

    def increment(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = _series(name, labels)
        value = float(amount)
        if not math.isfinite(value) or value < 0:
            raise ValueError(
                f"expected a finite, non-negative counter increment for {name!r}, was {amount!r}"
            )
        with self._lock:
            self._claim(name, "counter")
            self._counters[key] = self._counters.get(key, 0.0) + value

    def set_gauge(self, name: str, value: float, **labels: str) -> None:
        key = _series(name, labels)
        number = float(value)
        with self._lock:
            self._claim(name, "gauge")
            self._gauges[key] = number

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = _series(name, labels)
        number = float(value)
        with self._lock:
            self._claim(name, "observation")
            self._observations.setdefault(key, []).append(number)

    # -- reading back ----------------------------------------------------------------------

    def counter(self, name: str, **labels: str) -> float:
        """The counter's total; ``0.0`` for a series never incremented."""
        key = _series(name, labels)
        with self._lock:
            return self._counters.get(key, 0.0)

    def gauge(self, name: str, **labels: str) -> float | None:
        """The gauge's last value; ``None`` for a series never set."""
        key = _series(name, labels)
        with self._lock:
            return self._gauges.get(key)

    def observations(self, name: str, **labels: str) -> list[float]:
        """A copy of the samples observed, in the order they arrived."""
        key = _series(name, labels)
        with self._lock:
            return list(self._observations.get(key, ()))

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every series as plain data, sorted by name then labels (ready for ``json.dumps``).

        ``{"counters": [{"name", "labels", "value"}], "gauges": [...],
        "observations": [{"name", "labels", "values"}]}``
        """
        with self._lock:
            counters = sorted(self._counters.items())
            gauges = sorted(self._gauges.items())
            observations = sorted((key, list(values)) for key, values in self._observations.items())
        return {
            "counters": [
                {"name": name, "labels": dict(labels), "value": value}
                for (name, labels), value in counters
            ],
            "gauges": [
                {"name": name, "labels": dict(labels), "value": value}
                for (name, labels), value in gauges
            ],
            "observations": [
                {"name": name, "labels": dict(labels), "values": values}
                for (name, labels), values in observations
            ],
        }
