"""Market conditions the risk layer tracks per bar: the volatility tier and the regime.

Both are queryable state; every change is an audit event, and the regime keeps counts
(bars seen, and orders approved/resized/rejected in it) for reports.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emp.domain.errors import InvalidConfiguration
from emp.domain.regime import (
    WARMUP,
    RealisedVolTrendClassifier,
    RegimeClassifier,
    RollingLogReturns,
    realised_volatility,
)
from emp.domain.risk.audit import AuditLog, RegimeChanged, VolatilityTierChanged
from emp.domain.risk.context import RiskContext
from emp.domain.risk.vol_tiers import VolatilityTier, VolatilityTiers

OUTCOMES = ("approved", "resized", "rejected")


class MarketConditions:
    """Updates the context's tier multipliers and regime from each bar's market data."""

    def __init__(
        self,
        context: RiskContext,
        audit: AuditLog,
        *,
        tiers: VolatilityTiers | None,
        classifier: RegimeClassifier | None,
        vol_window: int,
        periods_per_year: float,
    ) -> None:
        if isinstance(vol_window, bool) or not isinstance(vol_window, int) or vol_window < 2:
            raise InvalidConfiguration(f"vol_window must be an integer >= 2, was {vol_window!r}")
        self._context = context
        self._audit = audit
        self._tiers = tiers
        self._classifier = classifier
        self._vol_window = vol_window
        self._periods_per_year = periods_per_year
        self.tier: VolatilityTier | None = tiers.lowest if tiers is not None else None
        self.realised_volatility = math.nan
        self._regime_counts: dict[str, dict[str, int]] = {}
        # the default classifier and the tiers read rolling sums of the reference's log
        # returns, updated in O(1) per new close; another classifier gets the closes
        self._rolling_classifier = (
            classifier if isinstance(classifier, RealisedVolTrendClassifier) else None
        )
        windows = (vol_window,) if tiers is not None else ()
        if self._rolling_classifier is not None:
            windows = (*windows, self._rolling_classifier.window)
        self._rolling = RollingLogReturns(windows) if windows else None
        if self.tier is not None:
            context.position_multiplier = self.tier.position_multiplier
            context.leverage_multiplier = self.tier.leverage_multiplier

    @property
    def regime_counts(self) -> dict[str, dict[str, int]]:
        return {r: dict(c) for r, c in self._regime_counts.items()}

    def count_decision(self, outcome: str) -> None:
        regime = self._context.regime
        if regime:
            self._counts_for(regime)[outcome] += 1

    def _counts_for(self, regime: str) -> dict[str, int]:
        counts = self._regime_counts.get(regime)
        if counts is None:
            counts = self._regime_counts[regime] = {"bars": 0, **dict.fromkeys(OUTCOMES, 0)}
        return counts

    def update(
        self,
        ts_ns: int,
        closes: np.ndarray | None,
        volatility: float | None,
        regime: str | None,
    ) -> None:
        if closes is not None and self._rolling is not None:
            self._rolling.update(closes)
        self._update_tier(ts_ns, closes, volatility)
        self._update_regime(ts_ns, closes, regime)

    def _update_tier(self, ts: int, closes: np.ndarray | None, vol: float | None) -> None:
        if self._tiers is None:
            return
        rolling = self._rolling
        if vol is None and closes is not None and rolling is not None and rolling.valid:
            vol = rolling.sigma(self._vol_window) * math.sqrt(self._periods_per_year)
        elif vol is None and closes is not None:
            vol = realised_volatility(
                np.asarray(closes)[-(self._vol_window + 1) :],
                periods_per_year=self._periods_per_year,
            )
        if vol is None:
            return
        self.realised_volatility = vol
        tier = self._tiers.tier_for(vol)
        if tier is self.tier:
            return
        previous = self.tier.name if self.tier is not None else ""
        self.tier = tier
        self._context.position_multiplier = tier.position_multiplier
        self._context.leverage_multiplier = tier.leverage_multiplier
        self._audit.record(
            VolatilityTierChanged(
                ts_ns=ts,
                previous=previous,
                current=tier.name,
                realised_volatility=vol,
                position_multiplier=tier.position_multiplier,
                leverage_multiplier=tier.leverage_multiplier,
            )
        )

    def _update_regime(self, ts: int, closes: np.ndarray | None, label: str | None) -> None:
        rolling, fast = self._rolling, self._rolling_classifier
        if label is None and fast is not None and rolling is not None and rolling.valid:
            if closes is not None:
                window = fast.window
                if len(rolling.closes) < window + 1:
                    label = WARMUP
                else:
                    label = fast.label(rolling.sigma(window), rolling.drift(window))
        elif label is None and self._classifier is not None and closes is not None:
            label = self._classifier.classify(np.asarray(closes))
        if label is None:
            return
        context = self._context
        if label != context.regime:
            self._audit.record(RegimeChanged(ts_ns=ts, previous=context.regime, current=label))
            context.regime = label
        self._counts_for(label)["bars"] += 1

    def tier_dict(self) -> dict[str, Any] | None:
        tier = self.tier
        if tier is None:
            return None
        vol = self.realised_volatility
        return {
            "name": tier.name,
            "position_multiplier": tier.position_multiplier,
            "leverage_multiplier": tier.leverage_multiplier,
            "realised_volatility": vol if math.isfinite(vol) else None,
        }
