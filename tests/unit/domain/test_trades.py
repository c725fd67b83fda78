"""Round trips folded from fills: flat to flat, through zero, fees, wins, open trades."""

from __future__ import annotations

from itertools import count

import pytest

from emp.domain.fills import Fill
from emp.domain.orders import OrderSide
from emp.domain.portfolio import Portfolio
from emp.domain.trades import ClosedTrade, TradeLog

BUY, SELL = OrderSide.BUY, OrderSide.SELL
_ids = count()


class Book:
    """A portfolio and a trade log fed the way the engine feeds them."""

    def __init__(self) -> None:
        self.portfolio = Portfolio(1_000_000.0)
        self.log = TradeLog()

    def trade(
        self,
        side: OrderSide,
        quantity: float,
        price: float,
        *,
        ts_ns: int,
        fee: float = 0.0,
        symbol: str = "AAA",
    ) -> None:
        n = next(_ids)
        f = Fill(
            exec_id=f"E-{n}",
            client_order_id=f"C-{n}",
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
            fee=fee,
            ts_ns=ts_ns,
        )
        realized = self.portfolio.apply_fill(f)
        self.log.record(f, realized, self.portfolio.quantity(symbol))


class TestRoundTrips:
    def test_long_round_trip_from_flat_to_flat(self) -> None:
        book = Book()
        book.trade(BUY, 100, 10.0, ts_ns=1, fee=1.0)
        book.trade(BUY, 50, 11.0, ts_ns=2, fee=1.0)
        book.trade(SELL, 150, 12.0, ts_ns=3, fee=2.0)
        assert book.log.closed == [
            ClosedTrade(
                symbol="AAA",
                direction=1,
                entry_ns=1,
                exit_ns=3,
                max_quantity=150.0,
                pnl=pytest.approx(100 * 2.0 + 50 * 1.0 - 4.0),
            )
        ]
        assert book.log.open_symbols == ()

    def test_short_round_trip_has_direction_minus_one(self) -> None:
        book = Book()
        book.trade(SELL, 20, 50.0, ts_ns=5)
        book.trade(BUY, 20, 45.0, ts_ns=9)
        (trade,) = book.log.closed
        assert trade.direction == -1
        assert trade.pnl == pytest.approx(100.0)
        assert (trade.entry_ns, trade.exit_ns) == (5, 9)

    def test_max_quantity_is_the_largest_absolute_position_reached(self) -> None:
        book = Book()
        book.trade(BUY, 10, 10.0, ts_ns=1)
        book.trade(BUY, 30, 10.0, ts_ns=2)
        book.trade(SELL, 35, 10.0, ts_ns=3)
        book.trade(BUY, 5, 10.0, ts_ns=4)
        book.trade(SELL, 10, 10.0, ts_ns=5)
        (trade,) = book.log.closed
        assert trade.max_quantity == 40.0

    def test_flip_closes_one_trade_and_opens_another(self) -> None:
        book = Book()
        book.trade(BUY, 100, 10.0, ts_ns=1)
        book.trade(SELL, 150, 12.0, ts_ns=2)
        (closed,) = book.log.closed
        assert closed.direction == 1
        assert closed.exit_ns == 2
        assert closed.pnl == pytest.approx(200.0)
        assert book.log.open_symbols == ("AAA",)
        book.trade(BUY, 50, 11.0, ts_ns=3)
        second = book.log.closed[1]
        assert second.direction == -1
        assert second.entry_ns == 2
        assert second.max_quantity == 50.0
        assert second.pnl == pytest.approx(50.0)

    def test_fee_on_a_flip_is_split_pro_rata_between_the_two_trades(self) -> None:
        book = Book()
        book.trade(BUY, 100, 10.0, ts_ns=1, fee=0.0)
        # 150 sold: 100 close the long (2/3 of the fee), 50 open the short (1/3).
        book.trade(SELL, 150, 10.0, ts_ns=2, fee=3.0)
        book.trade(BUY, 50, 10.0, ts_ns=3, fee=0.0)
        first, second = book.log.closed
        assert first.pnl == pytest.approx(-2.0)
        assert second.pnl == pytest.approx(-1.0)
        assert first.pnl + second.pnl == pytest.approx(-book.portfolio.fees_paid)

    def test_symbols_are_tracked_separately(self) -> None:
        book = Book()
        book.trade(BUY, 10, 10.0, ts_ns=1, symbol="AAA")
        book.trade(SELL, 10, 20.0, ts_ns=2, symbol="BBB")
        book.trade(SELL, 10, 11.0, ts_ns=3, symbol="AAA")
        assert [t.symbol for t in book.log.closed] == ["AAA"]
        assert book.log.open_symbols == ("BBB",)


class TestWinsAndOpenTrades:
    def test_gain_smaller_than_fees_is_not_a_win(self) -> None:
        book = Book()
        book.trade(BUY, 10, 10.0, ts_ns=1, fee=1.0)
        book.trade(SELL, 10, 10.1, ts_ns=2, fee=1.0)  # +1.0 gross, -2.0 fees
        (trade,) = book.log.closed
        assert trade.pnl == pytest.approx(-1.0)
        assert not trade.is_win

    def test_gain_net_of_fees_is_a_win(self) -> None:
        book = Book()
        book.trade(BUY, 10, 10.0, ts_ns=1, fee=0.5)
        book.trade(SELL, 10, 11.0, ts_ns=2, fee=0.5)
        (trade,) = book.log.closed
        assert trade.is_win

    def test_break_even_trade_is_not_a_win(self) -> None:
        trade = ClosedTrade(
            symbol="AAA", direction=1, entry_ns=0, exit_ns=1, max_quantity=1.0, pnl=0.0
        )
        assert not trade.is_win

    def test_open_trade_is_not_counted_as_closed(self) -> None:
        book = Book()
        book.trade(BUY, 100, 10.0, ts_ns=1)
        book.trade(SELL, 40, 15.0, ts_ns=2)
        assert book.log.closed == []
        assert book.log.open_symbols == ("AAA",)
