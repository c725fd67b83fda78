"""What a run of the event engine produced (:class:`RunResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emp.domain.accounts import Liquidation, MarginBreach
from emp.domain.fills import Fill
from emp.domain.orders import Order
from emp.domain.portfolio import Portfolio
from emp.domain.trades import ClosedTrade


@dataclass(slots=True)
class RunResult:
    """What a run produced, in time order."""

    ts_ns: np.ndarray
    equity: np.ndarray
    gross_exposure: np.ndarray
    orders: list[Order]
    fills: list[Fill]
    trades: list[ClosedTrade]
    portfolio: Portfolio
    risk_rejections: int = 0
    risk_resizes: int = 0
    venue_rejections: int = 0
    notes: list[str] = field(default_factory=list)
    risk_state: dict = field(default_factory=dict)
    account_rejections: int = 0
    margin_breaches: list[MarginBreach] = field(default_factory=list)
    liquidations: list[Liquidation] = field(default_factory=list)
