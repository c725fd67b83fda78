"""Portfolio Value-at-Risk cap, historical or parametric, on the book's VaR values.

The book values every symbol as if all its working orders filled (``(pos + open_buy -
open_sell) × price × USD rate``) and keeps, for the market model's window, the P&L vector
``R @ v`` (historical) and ``Σ v`` (parametric). An order passes when VaR with it stays
within ``max_var`` or does not grow. Far from the limit the check is O(1), on the rigorous
drift bounds of :mod:`emp.domain.risk.var_book`; near it, VaR is computed exactly.
Symbols outside the model's history add no VaR; with ``require_history`` an order on one
(or any order before a history is given) is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.context import Projection, RiskContext, projection_of
from emp.domain.risk.headroom import round_down_to_lot
from emp.domain.risk.market_risk import (
    check_confidence,
    historical_var,
    parametric_var,
    z_score,
)
from emp.domain.risk.rule import BreachAction, RiskCheckInput, check_action, check_positive
from emp.domain.risk.var_book import VarBook, cache_key

#: A fast pass needs the bound this far inside the limit (float rounding of the bounds).
_SAFETY = 1.0 - 1e-9


@dataclass(frozen=True, slots=True)
class MaxValueAtRisk:
    """Portfolio VaR (USD) at ``confidence`` over ``horizon`` periods may not exceed ``max_var``.

    ``method``: ``"historical"`` (empirical quantile of the window's P&L, scaled by
    ``sqrt(horizon)``) or ``"parametric"`` (zero-mean normal on the window's covariance).
    """

    max_var: float
    confidence: float = 0.99
    method: str = "historical"
    horizon: int = 1
    require_history: bool = False
    name: str = ""
    action: BreachAction = BreachAction.REJECT
    _key: str = field(init=False, repr=False, compare=False, default="")
    _scale: float = field(init=False, repr=False, compare=False, default=1.0)
    _historical: bool = field(init=False, repr=False, compare=False, default=True)
    _fast_limit: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        check_positive("max_var", self.max_var)
        check_confidence(self.confidence)
        if self.method not in ("historical", "parametric"):
            raise InvalidConfiguration(
                f"VaR method must be 'historical' or 'parametric', was {self.method!r}"
            )
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int) or self.horizon < 1:
            raise InvalidConfiguration(f"VaR horizon must be an integer >= 1, was {self.horizon!r}")
        if not self.name:
            object.__setattr__(self, "name", f"max_var_{self.method}")
        object.__setattr__(self, "action", check_action(self.action))
        # the cache key of the one-period figure, and VaR per unit of it
        object.__setattr__(self, "_key", cache_key(self.method, self.confidence))
        root = math.sqrt(self.horizon)
        scale = root if self.method == "historical" else z_score(self.confidence) * root
        object.__setattr__(self, "_scale", scale)
        object.__setattr__(self, "_historical", self.method == "historical")
        object.__setattr__(self, "_fast_limit", self.max_var * _SAFETY)

    # ------------------------------------------------------------- measures
    def _deltas(self, data: RiskCheckInput) -> tuple[VarBook, int, float, float] | None:
        """The VaR book, the symbol's column, and its value change before/after the order."""
        context = data.context
        if context is None:
            return None
        var = context.book.var
        if var is None:
            return None
        p = projection_of(data)
        j = p.j
        if j < 0:
            return None
        stored = var._value_list[j]
        return var, j, p.value_before - stored, p.value_after - stored

    def _exact(self, var: VarBook, j: int, delta: float) -> float:
        """VaR of the book with symbol ``j``'s value changed by ``delta``."""
        market = var.market
        if self.method == "historical":
            pnl = var.pnl if delta == 0.0 else var.pnl + market.returns[:, j] * delta
            return historical_var(pnl, self.confidence, self.horizon)
        variance = var.variance()
        if delta != 0.0:
            vol = market.volatilities[j]
            variance += delta * (2.0 * var.covariance_with(j) + delta * vol * vol)
        return parametric_var(variance, self.confidence, self.horizon)

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, projection_of(data))

    def check_projected(self, data: RiskCheckInput, p: Projection) -> str | None:
        book = p.book
        var = None if book is None else book.var
        j = p.j
        if var is None or j < 0:
            if self.require_history and not data.is_reducing:
                return f"{self.name}: no return history for {data.intent.symbol}"
            return None
        stored = var._value_list[j]
        after = p.value_after - stored
        cached = var._cache.get(self._key)
        if cached is not None:
            max_abs = var._max_abs
            if max_abs is None:
                max_abs = var._bounds()
            per_unit = max_abs[j] if self._historical else var._vols[j]
            drift = var.drift_pnl if self._historical else var.drift_sigma
            size = after if after >= 0.0 else -after
            bound = cached[0] + (drift - cached[1]) + size * per_unit
            if bound * self._scale <= self._fast_limit:
                return None
        var.remember(self._key, self._exact(var, j, 0.0) / self._scale)
        var_after = self._exact(var, j, after)
        if var_after <= self.max_var:
            return None
        if var_after <= self._exact(var, j, p.value_before - stored):
            return None
        return (
            f"{self.name}: {self.confidence:.0%} VaR would reach {var_after:,.2f}, "
            f"limit is {self.max_var:,.2f}"
        )

    def prime(self, context: RiskContext) -> None:
        """Remember the book's exact VaR now (at a bar), so the next checks start from it."""
        var = context.book.var
        if var is None or not var.market.symbols or var.knows(self._key):
            return
        var.remember(self._key, self._exact(var, 0, 0.0) / self._scale)
        var.per_unit(0, self._historical)  # and the drift bounds, fetched now

    def portfolio_breach(self, context: RiskContext, equity: float) -> str | None:
        var = context.book.var
        if var is None or not var.market.symbols:
            return None
        value = self._exact(var, 0, 0.0)
        var.remember(self._key, value / self._scale)
        if value <= self.max_var:
            return None
        return (
            f"{self.name}: {self.confidence:.0%} VaR is {value:,.2f}, limit is {self.max_var:,.2f}"
        )

    # -------------------------------------------------------------- resize
    def capacity(self, data: RiskCheckInput) -> float:
        deltas = self._deltas(data)
        if deltas is None:
            return 0.0 if self.require_history and not data.is_reducing else math.inf
        var, j, before, _ = deltas
        unit = data.intent.side.sign * projection_of(data).unit_value
        if unit == 0:
            return math.inf
        if self.method == "parametric":
            return self._parametric_capacity(var, j, before, unit)
        return self._historical_capacity(data, var, j, before, unit)

    def _parametric_capacity(self, var: VarBook, j: int, d0: float, unit: float) -> float:
        sigma_vj = var.covariance_with(j)
        vol = var.market.volatilities[j]
        c_jj = vol * vol
        bound = (self.max_var / (z_score(self.confidence) * math.sqrt(self.horizon))) ** 2
        var0 = var.variance() + 2.0 * d0 * sigma_vj + d0 * d0 * c_jj
        a = c_jj * unit * unit  # variance(x) = var0 + 2 b x + a x²
        b = unit * (sigma_vj + d0 * c_jj)
        if a <= 0:
            return math.inf  # a zero-variance symbol (its covariance column is zero)
        best = 0.0
        disc = b * b - a * (var0 - bound)
        if var0 <= bound and disc >= 0:
            best = (-b + math.sqrt(disc)) / a  # the upper root: var(x) = bound
        if b < 0:  # the order lowers variance at first; var(x) <= var0 up to -2b/a
            best = max(best, -2.0 * b / a)
        return max(best, 0.0)

    def _historical_capacity(
        self, data: RiskCheckInput, var: VarBook, j: int, d0: float, unit: float
    ) -> float:
        """Bisection over whole lots (VaR is not monotone in general; the engine re-checks)."""
        lot = data.lot_size
        limit = max(self.max_var, self._exact(var, j, d0))
        low, high = 0, int(round_down_to_lot(data.intent.quantity, lot) / lot + 1e-9)
        while low < high:
            middle = (low + high + 1) // 2
            if self._exact(var, j, d0 + unit * middle * lot) <= limit:
                low = middle
            else:
                high = middle - 1
        return low * lot
