"""Pre-trade risk: small composable rules, each in its own module, and the engine that runs them."""

from emp.domain.risk.engine import RiskDecision, RiskEngine
from emp.domain.risk.max_notional import MaxOrderNotional
from emp.domain.risk.max_position import MaxPosition
from emp.domain.risk.rule import RiskCheckInput, RiskRule

__all__ = [
    "MaxOrderNotional",
    "MaxPosition",
    "RiskCheckInput",
    "RiskDecision",
    "RiskEngine",
    "RiskRule",
]
