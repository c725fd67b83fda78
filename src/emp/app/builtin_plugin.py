"""EMP's own plugin: registers the strategies that ship with EMP (baselines)."""

from __future__ import annotations

from emp.app.hookspecs import hookimpl
from emp.domain.strategies.book_imbalance import BOOK_IMBALANCE_SPEC
from emp.domain.strategies.buy_and_hold import BUY_AND_HOLD_SPEC
from emp.domain.strategies.sma_cross import SMA_CROSS_SPEC
from emp.domain.strategy import StrategySpec


@hookimpl
def emp_register_strategies() -> list[StrategySpec]:
    return [BUY_AND_HOLD_SPEC, SMA_CROSS_SPEC, BOOK_IMBALANCE_SPEC]
