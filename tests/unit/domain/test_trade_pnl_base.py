"""Closed trades in the base currency: PnL converted at the FX rate in force at the exit."""

from __future__ import annotations

from itertools import count

import pytest

from emp.domain.fills import Fill
from emp.domain.orders import OrderSide
from emp.domain.portfolio import Portfolio
from emp.domain.trades import ClosedTrade, TradeLog

BUY, SELL = OrderSide.BUY, OrderSide.SELL
_ids = count()


class EuroBook:
    """A dollar portfolio trading ``SAP`` in euros, its trade log reading the portfolio's rates."""

    def __init__(self, rate_of: bool = True) -> None:
        self.portfolio = Portfolio(100_000.0, base_currency="USD", currencies={"SAP": "EUR"})
        self.log = TradeLog(rate_of=self.portfolio.rate_of if rate_of else None)

    def trade(self, side: OrderSide, quantity: float, price: float, *, ts_ns: int, rate: float):
        self.portfolio.set_rate("EUR", rate)
        n = next(_ids)
        fill = Fill(
            exec_id=f"E-{n}",
            client_order_id=f"C-{n}",
            symbol="SAP",
            side=side,
            quantity=quantity,
            price=price,
            fee=1.0,
            ts_ns=ts_ns,
        )
        realized = self.portfolio.apply_fill(fill)
        self.log.record(fill, realized, self.portfolio.quantity("SAP"))


class TestBaseCurrencyPnl:
    def test_pnl_base_is_the_instrument_pnl_at_the_rate_of_the_exit(self):
        book = EuroBook()
        book.trade(BUY, 10, 100.0, ts_ns=1, rate=1.10)
        book.trade(SELL, 10, 110.0, ts_ns=2, rate=1.25)
        (trade,) = book.log.closed
        # 10 × 10 EUR − 2 EUR fees = 98 EUR, worth 98 × 1.25 USD when the trade closed
        assert trade.pnl == pytest.approx(98.0)
        assert trade.exit_fx_rate == 1.25
        assert trade.pnl_base == pytest.approx(122.5)

    def test_a_trade_closed_through_zero_takes_the_rate_of_the_crossing_fill(self):
        book = EuroBook()
        book.trade(BUY, 10, 100.0, ts_ns=1, rate=1.10)
        book.trade(SELL, 20, 90.0, ts_ns=2, rate=1.05)
        book.trade(BUY, 10, 80.0, ts_ns=3, rate=1.20)
        first, second = book.log.closed
        assert (first.exit_fx_rate, second.exit_fx_rate) == (1.05, 1.20)
        assert second.pnl_base == pytest.approx(second.pnl * 1.20)

    def test_without_rates_a_trade_stays_at_rate_one(self):
        book = EuroBook(rate_of=False)
        book.trade(BUY, 10, 100.0, ts_ns=1, rate=1.10)
        book.trade(SELL, 10, 110.0, ts_ns=2, rate=1.25)
        (trade,) = book.log.closed
        assert trade.exit_fx_rate == 1.0 and trade.pnl_base == trade.pnl

    def test_a_hand_built_trade_is_in_one_currency(self):
        trade = ClosedTrade(
            symbol="A", direction=1, entry_ns=0, exit_ns=1, max_quantity=1.0, pnl=5.0
        )
        assert trade.pnl_base == 5.0

    def test_the_exit_rate_does_not_change_trade_equality(self):
        common = {"symbol": "A", "direction": 1, "entry_ns": 0, "exit_ns": 1, "max_quantity": 1.0}
        assert ClosedTrade(**common, pnl=5.0, exit_fx_rate=1.2) == ClosedTrade(**common, pnl=5.0)
