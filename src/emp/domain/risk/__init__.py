"""Pre-trade risk: small composable rules, each in its own module, the engine that runs
them, and the :class:`RiskManager` facade (trading state, kill switch, volatility tiers,
regime gating, drawdown braking, exposure book, audit trail). See docs/risk.md."""

from emp.domain.risk.account import AccountSnapshot, WorkingOrder
from emp.domain.risk.audit import (
    AuditEvent,
    AuditLog,
    CancelOrdersIssued,
    DrawdownThresholdCrossed,
    FlattenCompleted,
    FlattenOrdersIssued,
    OrderRiskRejected,
    OrderRiskResized,
    RegimeChanged,
    TradingStateChanged,
    VolatilityTierChanged,
    event_to_dict,
)
from emp.domain.risk.beta_cap import MaxBetaExposure
from emp.domain.risk.config import RiskConfig, build_risk_manager, build_rules
from emp.domain.risk.context import RiskContext
from emp.domain.risk.doubling_down import NoDoublingDown
from emp.domain.risk.drawdown import DrawdownBrake, DrawdownLimits
from emp.domain.risk.engine import RiskDecision, RiskEngine, RiskOutcome
from emp.domain.risk.exposure import ExposureBook
from emp.domain.risk.exposure_caps import MaxGrossExposure, MaxLeverage, MaxNetExposure
from emp.domain.risk.group_caps import MaxGroupExposure
from emp.domain.risk.instrument_allowed import InstrumentAllowed
from emp.domain.risk.kill_switch import KILL_SWITCH_STRATEGY, KillSwitch
from emp.domain.risk.manager import RiskManager
from emp.domain.risk.market_risk import MarketRiskModel, ReturnHistory
from emp.domain.risk.max_notional import MaxOrderNotional
from emp.domain.risk.max_position import MaxPosition, MaxPositionNotional
from emp.domain.risk.max_quantity import MaxOrderQuantity
from emp.domain.risk.open_orders import MaxOpenOrders
from emp.domain.risk.price_collar import PriceCollar
from emp.domain.risk.regime_gate import RegimePolicy
from emp.domain.risk.rule import (
    BreachAction,
    ResizableRule,
    RiskCheckInput,
    RiskRule,
    StatefulRule,
)
from emp.domain.risk.state_gate import TradingStateGate
from emp.domain.risk.throttle import OrderRateThrottle, TokenBucket
from emp.domain.risk.trading_state import (
    IllegalTradingTransition,
    TradingState,
    TradingStateMachine,
    TriggerSource,
)
from emp.domain.risk.var_cap import MaxValueAtRisk
from emp.domain.risk.vol_tiers import VolatilityTier, VolatilityTiers

__all__ = [
    "KILL_SWITCH_STRATEGY",
    "AccountSnapshot",
    "AuditEvent",
    "AuditLog",
    "BreachAction",
    "CancelOrdersIssued",
    "DrawdownBrake",
    "DrawdownLimits",
    "DrawdownThresholdCrossed",
    "ExposureBook",
    "FlattenCompleted",
    "FlattenOrdersIssued",
    "IllegalTradingTransition",
    "InstrumentAllowed",
    "KillSwitch",
    "MarketRiskModel",
    "MaxBetaExposure",
    "MaxGrossExposure",
    "MaxGroupExposure",
    "MaxLeverage",
    "MaxNetExposure",
    "MaxOpenOrders",
    "MaxOrderNotional",
    "MaxOrderQuantity",
    "MaxPosition",
    "MaxPositionNotional",
    "MaxValueAtRisk",
    "NoDoublingDown",
    "OrderRateThrottle",
    "OrderRiskRejected",
    "OrderRiskResized",
    "PriceCollar",
    "RegimeChanged",
    "RegimePolicy",
    "ResizableRule",
    "ReturnHistory",
    "RiskCheckInput",
    "RiskConfig",
    "RiskContext",
    "RiskDecision",
    "RiskEngine",
    "RiskManager",
    "RiskOutcome",
    "RiskRule",
    "StatefulRule",
    "TokenBucket",
    "TradingState",
    "TradingStateChanged",
    "TradingStateGate",
    "TradingStateMachine",
    "TriggerSource",
    "VolatilityTier",
    "VolatilityTierChanged",
    "VolatilityTiers",
    "WorkingOrder",
    "build_risk_manager",
    "build_rules",
    "event_to_dict",
]
