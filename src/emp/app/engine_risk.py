"""The event engine's risk step: the risk layer told of each timestamp, the account on demand.

:class:`RiskPath` is the part of :class:`~emp.app.engine.BarEventEngine` that steps the
risk manager once per timestamp (after the marks, before the strategy) and carries out
what it commands (a kill switch's cancels and flattening orders). A
:class:`~emp.domain.risk.RiskManager` is told which symbols changed and gets the account
as a callable (:meth:`RiskPath._account_now`, built once per timestamp, on demand); a
stand-in with only ``on_bar`` gets the snapshot itself.
"""

from __future__ import annotations

from collections.abc import Callable

from emp.app.market_windows import MarketWindows
from emp.domain.bars import Bar
from emp.domain.commands import VenueCommand
from emp.domain.orders import Order
from emp.domain.portfolio import Portfolio
from emp.domain.risk import AccountSnapshot, RiskManager, TradingState
from emp.ports.kill_signal import KillSignalPort


class RiskPath:
    """The per-timestamp risk step, over the engine's state."""

    _risk: RiskManager
    _portfolio: Portfolio
    _working: dict[str, Order]
    _market: MarketWindows | None
    _kill_signal: KillSignalPort | None
    _risk_on_demand: bool
    _multi_currency: bool
    _filled_since_risk: dict[str, None]
    _bar_ts: int
    _bar_equity: float
    _bar_account: AccountSnapshot | None
    #: ``(ts_ns, equity, positions, marks) -> AccountSnapshot`` (engine_steps' builder)
    _account: Callable[..., AccountSnapshot]
    #: Sends the risk layer's commands (the order path's ``_execute``).
    _execute: Callable[[tuple[VenueCommand, ...], int], None]

    def _risk_step(self, ts: int, equity: float, bars_now: list[Bar]) -> None:
        """Per timestamp: update the risk state and carry out what it commands.

        The risk layer gets the account as :meth:`_account_now`, which builds the snapshot
        only when the risk layer asks for it (on most bars of a quiet run it does not).
        """
        self._bar_ts, self._bar_equity, self._bar_account = ts, equity, None
        market = self._market
        risk = self._risk
        if self._risk_on_demand:  # marks moved for these bars, positions for these fills
            changed = (
                [bars_now[0].symbol]  # one bar: no comprehension (a call per bar)
                if len(bars_now) == 1
                else [bar.symbol for bar in bars_now]
            )
            if self._filled_since_risk:
                changed.extend(self._filled_since_risk)
                self._filled_since_risk.clear()
            if market is None:
                commands = risk.on_bar_at(ts, equity, self._account_now, changed=changed)
            else:
                commands = risk.on_bar_at(
                    ts,
                    equity,
                    self._account_now,
                    reference_closes=market.reference_closes(),
                    returns=market.history(),
                    changed=changed,
                )
        elif market is None:
            commands = risk.on_bar(self._account_now())
        else:
            commands = risk.on_bar(
                self._account_now(),
                reference_closes=market.reference_closes(),
                returns=market.history(),
            )
        if self._kill_signal is not None and risk.state is not TradingState.HALTED:
            reason = self._kill_signal.poll()
            if reason is not None:
                commands = (
                    *commands,
                    *risk.signal(ts_ns=ts, reason=reason, account=self._account_now()),
                )
        if commands:
            self._execute(commands, ts)

    def _account_now(self) -> AccountSnapshot:
        """The account at the current bar (built once per bar, on the first call)."""
        account = self._bar_account
        if account is not None:
            return account
        portfolio = self._portfolio
        ts = self._bar_ts
        if self._working or self._multi_currency:
            account = AccountSnapshot.from_portfolio(
                portfolio,
                ts_ns=ts,
                working_orders=list(self._working.values()),
                fx_rates=portfolio.rates,  # base units per unit (the risk layer's base: USD)
            )
        else:  # the same snapshot, without walking orders
            account = self._account(
                ts, self._bar_equity, portfolio.open_quantities(), portfolio.open_marks()
            )
        self._bar_account = account
        return account
