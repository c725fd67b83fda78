"""Portfolio caps: gross exposure, net exposure and leverage (USD, worst case).

The measures come from the :class:`~emp.domain.risk.exposure.ExposureBook` of the check's
context (without one, the portfolio is the intent's symbol alone):

* gross: Σ max(|pos + open_buy|, |pos - open_sell|) × price × USD rate;
* net: max(|Σ (pos + open_buy) × p|, |Σ (pos - open_sell) × p|), both sides of the worst case;
* leverage: gross / equity, against ``max_leverage`` × the volatility tier's multiplier.

An order passes when the measure with it stays within the limit or does not grow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.risk.context import Projection, RiskContext, projection_of
from emp.domain.risk.headroom import headroom
from emp.domain.risk.rule import BreachAction, RiskCheckInput, check_action, check_positive


def gross_capacity(data: RiskCheckInput, p: Projection, limit: float, rest: float) -> float:
    """The largest quantity keeping ``rest + symbol gross`` within ``limit`` (or not growing)."""
    k = p.before.unit_value
    if k <= 0:
        return math.inf
    b = p.before
    if data.intent.side.sign > 0:
        level, other = b.position + b.open_buy, b.position - b.open_sell
    else:
        level, other = b.open_sell - b.position, b.position + b.open_buy
    return headroom(level, other, (limit - rest) / k)


def two_sided_capacity(high: float, low: float, up: bool, per_unit: float, limit: float) -> float:
    """Units an order may add to a two-sided measure ``max(|high|, |low|)``.

    ``up``: the order raises ``high`` by ``per_unit`` a unit; else it lowers ``low``.
    """
    if per_unit <= 0:
        return math.inf
    if up:
        return headroom(high, low, limit) / per_unit
    return headroom(-low, high, limit) / per_unit


@dataclass(frozen=True, slots=True)
class MaxGrossExposure:
    """Worst-case gross exposure of the account (USD) may not exceed ``max_gross``."""

    max_gross: float
    name: str = "max_gross_exposure"
    action: BreachAction = BreachAction.REJECT

    def __post_init__(self) -> None:
        check_positive("max_gross_exposure", self.max_gross)
        object.__setattr__(self, "action", check_action(self.action))

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, projection_of(data))

    def check_projected(self, data: RiskCheckInput, p: Projection) -> str | None:
        after = p.gross_after
        if after <= self.max_gross or after <= p.gross_before:
            return None
        return (
            f"{self.name}: gross exposure would reach {after:,.2f}, limit is {self.max_gross:,.2f}"
        )

    def capacity(self, data: RiskCheckInput) -> float:
        p = projection_of(data)
        return gross_capacity(data, p, self.max_gross, p.rest_gross)

    def portfolio_breach(self, context: RiskContext, equity: float) -> str | None:
        gross = context.book.gross
        if gross <= self.max_gross:
            return None
        return f"{self.name}: gross exposure is {gross:,.2f}, limit is {self.max_gross:,.2f}"


@dataclass(frozen=True, slots=True)
class MaxNetExposure:
    """Worst-case |net exposure| of the account (USD) may not exceed ``max_net``."""

    max_net: float
    name: str = "max_net_exposure"
    action: BreachAction = BreachAction.REJECT

    def __post_init__(self) -> None:
        check_positive("max_net_exposure", self.max_net)
        object.__setattr__(self, "action", check_action(self.action))

    @staticmethod
    def _sides(p: Projection) -> tuple[float, float, float, float]:
        rest_high, rest_low = p.rest_net_high, p.rest_net_low
        return (
            rest_high + p.before.net_high,
            rest_low + p.before.net_low,
            rest_high + p.after.net_high,
            rest_low + p.after.net_low,
        )

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, projection_of(data))

    def check_projected(self, data: RiskCheckInput, p: Projection) -> str | None:
        after = p.net_after
        if after <= self.max_net or after <= p.net_before:
            return None
        return f"{self.name}: net exposure would reach {after:,.2f}, limit is {self.max_net:,.2f}"

    def capacity(self, data: RiskCheckInput) -> float:
        p = projection_of(data)
        high, low, _, _ = self._sides(p)
        up = data.intent.side.sign > 0
        return two_sided_capacity(high, low, up, p.before.unit_value, self.max_net)

    def portfolio_breach(self, context: RiskContext, equity: float) -> str | None:
        net = max(abs(context.book.net_high), abs(context.book.net_low))
        if net <= self.max_net:
            return None
        return f"{self.name}: net exposure is {net:,.2f}, limit is {self.max_net:,.2f}"


@dataclass(frozen=True, slots=True)
class MaxLeverage:
    """Worst-case gross exposure / equity may not exceed ``max_leverage`` × the volatility
    tier's leverage multiplier. With equity <= 0 only orders that do not grow gross pass."""

    max_leverage: float
    name: str = "max_leverage"
    action: BreachAction = BreachAction.REJECT

    def __post_init__(self) -> None:
        check_positive("max_leverage", self.max_leverage)
        object.__setattr__(self, "action", check_action(self.action))

    def limit_for(self, data: RiskCheckInput) -> float:
        context = data.context
        multiplier = 1.0 if context is None else context.leverage_multiplier
        return self.max_leverage * multiplier * max(data.equity, 0.0)

    def portfolio_breach(self, context: RiskContext, equity: float) -> str | None:
        gross = context.book.gross
        limit = self.max_leverage * context.leverage_multiplier * max(equity, 0.0)
        if gross <= limit:
            return None
        leverage = gross / equity if equity > 0 else math.inf
        return (
            f"{self.name}: leverage is {leverage:.2f}x, limit is {limit / max(equity, 1e-12):.2f}x"
        )

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, projection_of(data))

    def check_projected(self, data: RiskCheckInput, p: Projection) -> str | None:
        after = p.gross_after
        context = data.context
        multiplier = 1.0 if context is None else context.leverage_multiplier
        limit = self.max_leverage * multiplier * (data.equity if data.equity > 0.0 else 0.0)
        if after <= limit or after <= p.gross_before:
            return None
        leverage = after / data.equity if data.equity > 0 else math.inf
        return (
            f"{self.name}: leverage would reach {leverage:.2f}x, limit is "
            f"{limit / data.equity if data.equity > 0 else 0.0:.2f}x"
        )

    def capacity(self, data: RiskCheckInput) -> float:
        p = projection_of(data)
        return gross_capacity(data, p, self.limit_for(data), p.rest_gross)
