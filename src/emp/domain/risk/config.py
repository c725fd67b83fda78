"""One flat, frozen configuration for the whole risk layer, and the builder that turns it
into a :class:`RiskManager`. Every limit is optional (``None`` turns its rule off), so the
app's settings can map onto it field by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from emp.domain.errors import InvalidConfiguration
from emp.domain.regime import RealisedVolTrendClassifier
from emp.domain.risk.beta_cap import MaxBetaExposure
from emp.domain.risk.doubling_down import NoDoublingDown
from emp.domain.risk.drawdown import DrawdownLimits
from emp.domain.risk.exposure_caps import MaxGrossExposure, MaxLeverage, MaxNetExposure
from emp.domain.risk.group_caps import MaxGroupExposure
from emp.domain.risk.instrument_allowed import InstrumentAllowed
from emp.domain.risk.manager import RiskManager
from emp.domain.risk.max_notional import MaxOrderNotional
from emp.domain.risk.max_position import MaxPosition, MaxPositionNotional
from emp.domain.risk.max_quantity import MaxOrderQuantity
from emp.domain.risk.open_orders import MaxOpenOrders
from emp.domain.risk.price_collar import PriceCollar
from emp.domain.risk.regime_gate import RegimePolicy
from emp.domain.risk.rule import BreachAction, RiskRule
from emp.domain.risk.throttle import OrderRateThrottle
from emp.domain.risk.trading_state import TradingState
from emp.domain.risk.var_cap import MaxValueAtRisk
from emp.domain.risk.vol_tiers import VolatilityTiers


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskConfig:
    """Every knob of the risk layer. Units: quantities in instrument units, money in USD,
    fractions as 0.10 for 10 %, rates in orders per second.

    ``resize`` names the rules (by rule name, e.g. ``"max_position"``) whose breach cuts
    the order down instead of refusing it. ``extra_rules`` (plugins) run last.
    """

    allowed_symbols: tuple[str, ...] | None = None
    blocked_symbols: tuple[str, ...] = ()
    max_order_quantity: float | None = None
    max_order_notional: float | None = None
    max_position: float | None = None
    position_limits: Mapping[str, float] = field(default_factory=dict)
    max_position_notional: float | None = None
    max_gross_exposure: float | None = None
    max_net_exposure: float | None = None
    max_leverage: float | None = None
    max_open_orders: int | None = None
    price_collar: float | None = None
    groupings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    currencies: Mapping[str, str] = field(default_factory=dict)
    group_limits: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    group_default_limits: Mapping[str, float] = field(default_factory=dict)
    max_var: float | None = None
    var_method: str = "historical"
    var_confidence: float = 0.99
    var_window: int = 250
    var_horizon: int = 1
    max_beta_exposure: float | None = None
    strategy_orders_per_second: float | None = None
    strategy_burst: int = 10
    global_orders_per_second: float | None = None
    global_burst: int = 50
    max_losing_adds: int | None = None
    losing_adds_min_drawdown: float = 0.0
    reduce_drawdown: float | None = None
    halt_drawdown: float | None = None
    intraday_reduce_drawdown: float | None = None
    intraday_halt_drawdown: float | None = None
    drawdown_hysteresis: float = 0.01
    volatility_tiers: tuple[tuple[float, float, float], ...] = ()
    vol_window: int = 20
    periods_per_year: float = 252.0
    regime_classifier: bool = False
    regime_window: int = 50
    regime_high_volatility: float = 0.35
    regime_trend_threshold: float = 1.0
    regime_scales: Mapping[str, float] = field(default_factory=dict)
    strategy_regime_scales: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    resize: frozenset[str] = frozenset()
    escalate_on_breach: str | None = None
    cancel_increasing_on_reduce: bool = True
    precompute_var: bool = False
    extra_rules: tuple[RiskRule, ...] = ()


def build_rules(config: RiskConfig) -> list[RiskRule]:
    """The rules ``config`` turns on, cheapest first, with their breach actions."""

    def act(name: str) -> BreachAction:
        return BreachAction.RESIZE if name in config.resize else BreachAction.REJECT

    c = config
    rules: list[RiskRule] = []
    if c.allowed_symbols is not None or c.blocked_symbols:
        rules.append(InstrumentAllowed(c.allowed_symbols, blocked=c.blocked_symbols))
    if c.price_collar is not None:
        rules.append(PriceCollar(c.price_collar))
    if c.max_open_orders is not None:
        rules.append(MaxOpenOrders(c.max_open_orders))
    if c.strategy_orders_per_second is not None:
        rules.append(OrderRateThrottle(c.strategy_orders_per_second, c.strategy_burst, "strategy"))
    if c.global_orders_per_second is not None:
        rules.append(OrderRateThrottle(c.global_orders_per_second, c.global_burst, "global"))
    if c.max_order_quantity is not None:
        rules.append(MaxOrderQuantity(c.max_order_quantity, action=act("max_order_quantity")))
    if c.max_order_notional is not None:
        rules.append(MaxOrderNotional(c.max_order_notional, action=act("max_order_notional")))
    if c.max_position is not None:
        rules.append(
            MaxPosition(c.max_position, action=act("max_position"), limits=c.position_limits)
        )
    if c.max_position_notional is not None:
        rules.append(
            MaxPositionNotional(c.max_position_notional, action=act("max_position_notional"))
        )
    if c.max_losing_adds is not None:
        rules.append(NoDoublingDown(c.max_losing_adds, c.losing_adds_min_drawdown))
    if c.max_gross_exposure is not None:
        rules.append(MaxGrossExposure(c.max_gross_exposure, action=act("max_gross_exposure")))
    if c.max_net_exposure is not None:
        rules.append(MaxNetExposure(c.max_net_exposure, action=act("max_net_exposure")))
    if c.max_leverage is not None:
        rules.append(MaxLeverage(c.max_leverage, action=act("max_leverage")))
    for grouping in sorted(set(c.group_limits) | set(c.group_default_limits)):
        name = f"max_{grouping}_exposure"
        rules.append(
            MaxGroupExposure(
                grouping,
                limits=c.group_limits.get(grouping, {}),
                default_limit=c.group_default_limits.get(grouping),
                action=act(name),
            )
        )
    if c.max_beta_exposure is not None:
        rules.append(MaxBetaExposure(c.max_beta_exposure, action=act("max_beta_exposure")))
    if c.max_var is not None:
        name = f"max_var_{c.var_method}"
        rules.append(
            MaxValueAtRisk(
                c.max_var,
                confidence=c.var_confidence,
                method=c.var_method,
                horizon=c.var_horizon,
                action=act(name),
            )
        )
    rules.extend(c.extra_rules)
    known = {r.name for r in rules}
    unknown = sorted(set(c.resize) - known)
    if unknown:
        raise InvalidConfiguration(
            f"resize names rules that are not configured: {', '.join(unknown)}; "
            f"configured: {', '.join(sorted(known)) or 'none'}"
        )
    return rules


def build_risk_manager(config: RiskConfig, *, id_prefix: str = "risk") -> RiskManager:
    """The :class:`RiskManager` that ``config`` describes."""
    c = config
    drawdown = None
    if any(
        x is not None
        for x in (
            c.reduce_drawdown,
            c.halt_drawdown,
            c.intraday_reduce_drawdown,
            c.intraday_halt_drawdown,
        )
    ):
        drawdown = DrawdownLimits(
            reduce_at=c.reduce_drawdown,
            halt_at=c.halt_drawdown,
            intraday_reduce_at=c.intraday_reduce_drawdown,
            intraday_halt_at=c.intraday_halt_drawdown,
            hysteresis=c.drawdown_hysteresis,
        )
    policy = None
    if c.regime_scales or c.strategy_regime_scales:
        policy = RegimePolicy(scales=c.regime_scales, per_strategy=c.strategy_regime_scales)
    classifier = None
    if c.regime_classifier or policy is not None:
        classifier = RealisedVolTrendClassifier(
            window=c.regime_window,
            high_volatility=c.regime_high_volatility,
            trend_threshold=c.regime_trend_threshold,
            periods_per_year=c.periods_per_year,
        )
    escalate = None
    if c.escalate_on_breach is not None:
        try:
            escalate = TradingState(c.escalate_on_breach.upper())
            if escalate is TradingState.ACTIVE:
                raise ValueError(c.escalate_on_breach)
        except ValueError:
            raise InvalidConfiguration(
                f"escalate_on_breach must be 'REDUCING' or 'HALTED', was {c.escalate_on_breach!r}"
            ) from None
    return RiskManager(
        rules=build_rules(c),
        drawdown=drawdown,
        tiers=VolatilityTiers.from_table(c.volatility_tiers) if c.volatility_tiers else None,
        classifier=classifier,
        regime_policy=policy,
        groupings=c.groupings,
        currencies=c.currencies,
        var_window=c.var_window,
        vol_window=c.vol_window,
        periods_per_year=c.periods_per_year,
        escalate_on_breach=escalate,
        cancel_increasing_on_reduce=c.cancel_increasing_on_reduce,
        precompute_var=c.precompute_var,
        id_prefix=id_prefix,
    )
