"""Latency models: how long an order takes to reach the venue and a report to come back.

Random models draw from an explicitly seeded numpy ``Generator``, so a simulation replays
exactly under the same seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from emp.domain.errors import InvalidConfiguration


class LatencyModel(Protocol):
    """Draws the two one-way delays of a simulated venue, in nanoseconds (>= 0)."""

    def entry_delay_ns(self) -> int:
        """From the client sending a command to the venue processing it."""
        ...

    def report_delay_ns(self) -> int:
        """From the venue producing a report to the client receiving it."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedLatency:
    """The same delays every time (zero by default: an instantaneous venue)."""

    entry_ns: int = 0
    report_ns: int = 0

    def __post_init__(self) -> None:
        if self.entry_ns < 0 or self.report_ns < 0:
            raise InvalidConfiguration(
                f"latencies must be >= 0 ns, were {self.entry_ns} and {self.report_ns}"
            )

    def entry_delay_ns(self) -> int:
        return self.entry_ns

    def report_delay_ns(self) -> int:
        return self.report_ns


class LogNormalLatency:
    """Log-normal delays around given medians, as measured network latencies look.

    Args:
        rng: the seeded generator to draw from (the model's only source of randomness).
        entry_median_ns: median order-entry delay.
        report_median_ns: median report delay.
        sigma: the log-space standard deviation (0 gives the medians every time).
    """

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        entry_median_ns: int,
        report_median_ns: int,
        sigma: float = 0.5,
    ) -> None:
        if entry_median_ns <= 0 or report_median_ns <= 0:
            raise InvalidConfiguration(
                f"median latencies must be > 0 ns, were {entry_median_ns} and {report_median_ns}"
            )
        if not (math.isfinite(sigma) and sigma >= 0):
            raise InvalidConfiguration(f"sigma must be a finite number >= 0, was {sigma!r}")
        self._rng = rng
        self._entry_mu = math.log(entry_median_ns)
        self._report_mu = math.log(report_median_ns)
        self._sigma = sigma

    def entry_delay_ns(self) -> int:
        return int(self._rng.lognormal(self._entry_mu, self._sigma))

    def report_delay_ns(self) -> int:
        return int(self._rng.lognormal(self._report_mu, self._sigma))
