"""The book venue's settings: how the book is built from bars, latency, queue, costs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emp.domain.errors import InvalidConfiguration
from emp.domain.fees import commission_fee
from emp.domain.matching import FixedLatency, LatencyModel, LogNormalLatency, QueueModel


@dataclass(frozen=True, slots=True, kw_only=True)
class BookVenueConfig:
    """How :class:`~emp.adapters.book_sim.BookSimulatedVenue` builds its book and charges.

    Attributes:
        levels: displayed price levels per side rebuilt from each bar (>= 1).
        size_per_level: displayed size of every level, in instrument units; ``None``
            derives it from each bar: ``volume_fraction_per_level`` of the bar's volume
            (at least one lot).
        volume_fraction_per_level: the share of a bar's volume shown at each level when
            ``size_per_level`` is ``None``, in (0, 1].
        spread_ticks: best ask minus best bid, in ticks (>= 1).
        queue_model: where own passive orders stand behind displayed size.
        entry_latency_ns: (median) delay from sending a command to the matching engine.
        report_latency_ns: (median) delay from a report to its delivery back.
        latency_sigma: 0 gives fixed delays; above 0, delays are log-normal around the
            medians with this log-space standard deviation (medians must then be > 0).
        seed: the seed of the latency model's generator (the venue's only randomness).
        bar_duration_ns: how long a bar lasts, over which its replay is spread; ``None``
            takes the time since the symbol's previous bar (0 for its first bar).
        commission_bps, commission_per_share, commission_fixed, min_commission: a fill
            pays ``max(min_commission, commission_bps * notional / 1e4 +
            commission_per_share * quantity + commission_fixed)``, as on the bar venue.
    """

    levels: int = 5
    size_per_level: float | None = None
    volume_fraction_per_level: float = 0.1
    spread_ticks: int = 1
    queue_model: QueueModel = QueueModel.RISK_AVERSE
    entry_latency_ns: int = 0
    report_latency_ns: int = 0
    latency_sigma: float = 0.0
    seed: int = 0
    bar_duration_ns: int | None = None
    commission_bps: float = 0.0
    commission_per_share: float = 0.0
    commission_fixed: float = 0.0
    min_commission: float = 0.0

    def __post_init__(self) -> None:
        if self.levels < 1 or self.spread_ticks < 1:
            raise InvalidConfiguration(
                f"levels and spread_ticks must be >= 1, were {self.levels} and {self.spread_ticks}"
            )
        size = self.size_per_level
        if size is not None and not (math.isfinite(size) and size > 0):
            raise InvalidConfiguration(f"size_per_level must be > 0 or None, was {size!r}")
        fraction = self.volume_fraction_per_level
        if not (math.isfinite(fraction) and 0 < fraction <= 1):
            raise InvalidConfiguration(
                f"volume_fraction_per_level must be in (0, 1], was {fraction!r}"
            )
        if self.entry_latency_ns < 0 or self.report_latency_ns < 0:
            raise InvalidConfiguration(
                "latencies must be >= 0 ns, were "
                f"{self.entry_latency_ns} and {self.report_latency_ns}"
            )
        if not (math.isfinite(self.latency_sigma) and self.latency_sigma >= 0):
            raise InvalidConfiguration(
                f"latency_sigma must be a finite number >= 0, was {self.latency_sigma!r}"
            )
        if self.latency_sigma > 0 and min(self.entry_latency_ns, self.report_latency_ns) <= 0:
            raise InvalidConfiguration(
                "log-normal latency (latency_sigma > 0) needs median latencies > 0 ns, were "
                f"{self.entry_latency_ns} and {self.report_latency_ns}"
            )
        if self.bar_duration_ns is not None and self.bar_duration_ns < 0:
            raise InvalidConfiguration(
                f"bar_duration_ns must be >= 0 or None, was {self.bar_duration_ns!r}"
            )
        if self.seed < 0:
            raise InvalidConfiguration(f"seed must be >= 0, was {self.seed!r}")
        for name in (
            "commission_bps",
            "commission_per_share",
            "commission_fixed",
            "min_commission",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InvalidConfiguration(f"{name} must be a finite number >= 0, was {value!r}")
        try:
            object.__setattr__(self, "queue_model", QueueModel(self.queue_model))
        except ValueError:
            choices = ", ".join(m.value for m in QueueModel)
            raise InvalidConfiguration(
                f"queue_model must be one of {choices}, was {self.queue_model!r}"
            ) from None

    def latency_model(self) -> LatencyModel:
        """A fresh latency model: fixed delays, or log-normal ones drawn under ``seed``."""
        if self.latency_sigma == 0:
            return FixedLatency(entry_ns=self.entry_latency_ns, report_ns=self.report_latency_ns)
        return LogNormalLatency(
            np.random.default_rng(self.seed),
            entry_median_ns=self.entry_latency_ns,
            report_median_ns=self.report_latency_ns,
            sigma=self.latency_sigma,
        )

    def commission(self, quantity: float, price: float) -> float:
        """The fee of one fill (the bar venue's formula)."""
        return commission_fee(
            quantity,
            price,
            bps=self.commission_bps,
            per_share=self.commission_per_share,
            fixed=self.commission_fixed,
            minimum=self.min_commission,
        )
