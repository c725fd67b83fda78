"""USD beta cap: the beta-weighted net exposure of the account, in USD, is capped.

Beta-weighted exposure is ``Σ beta × value`` over both sides of the worst case (each
symbol's ``(pos + open_buy)`` and ``(pos - open_sell)``), with betas measured against the
benchmark of the market model (``default_beta``, 1, for symbols it has none for). The
measure is ``max(|high|, |low|)``; an order passes when it stays within ``max_beta_exposure``
or does not grow.
"""

from __future__ import annotations

from dataclasses import dataclass

from emp.domain.risk.context import Projection, RiskContext, projection_of
from emp.domain.risk.exposure_caps import two_sided_capacity
from emp.domain.risk.rule import BreachAction, RiskCheckInput, check_action, check_positive


@dataclass(frozen=True, slots=True)
class MaxBetaExposure:
    """``max(|Σ β·high|, |Σ β·low|)`` in USD may not exceed ``max_beta_exposure``."""

    max_beta_exposure: float
    name: str = "max_beta_exposure"
    action: BreachAction = BreachAction.REJECT

    def __post_init__(self) -> None:
        check_positive("max_beta_exposure", self.max_beta_exposure)
        object.__setattr__(self, "action", check_action(self.action))

    @staticmethod
    def _sides(p: Projection) -> tuple[float, float, float, float]:
        rest_high, rest_low = p.rest_beta_high, p.rest_beta_low
        return (
            rest_high + p.before.beta_high,
            rest_low + p.before.beta_low,
            rest_high + p.after.beta_high,
            rest_low + p.after.beta_low,
        )

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, projection_of(data))

    def check_projected(self, data: RiskCheckInput, p: Projection) -> str | None:
        after = p.beta_after
        if after <= self.max_beta_exposure or after <= p.beta_before:
            return None
        return (
            f"{self.name}: USD beta exposure would reach {after:,.2f}, "
            f"limit is {self.max_beta_exposure:,.2f}"
        )

    def capacity(self, data: RiskCheckInput) -> float:
        p = projection_of(data)
        high, low, _, _ = self._sides(p)
        beta = p.before.beta
        up = (data.intent.side.sign > 0) == (beta >= 0)
        return two_sided_capacity(
            high, low, up, abs(beta) * p.before.unit_value, self.max_beta_exposure
        )

    def portfolio_breach(self, context: RiskContext, equity: float) -> str | None:
        beta = max(abs(context.book.beta_high), abs(context.book.beta_low))
        if beta <= self.max_beta_exposure:
            return None
        return (
            f"{self.name}: USD beta exposure is {beta:,.2f}, limit is {self.max_beta_exposure:,.2f}"
        )
