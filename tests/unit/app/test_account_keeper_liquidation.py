"""The account keeper's liquidation orders, without the engine (hand-computed figures)."""

from __future__ import annotations

import numpy as np
import pytest

from emp.app.engine_account import LIQUIDATION_STRATEGY, AccountKeeper
from emp.domain.accounts import AccountTerms, FxSeries, Liquidation
from emp.domain.commands import CancelOrder, SubmitOrder
from emp.domain.errors import InvalidConfiguration
from emp.domain.fills import Fill
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import Order, OrderSide, OrderType
from emp.domain.portfolio import Portfolio

MARGIN = AccountTerms(kind="margin", initial_margin=0.5, maintenance_margin=0.25)


def holding(quantity: float, price: float, mark: float, *, cash: float = 10_000.0) -> Portfolio:
    portfolio = Portfolio(cash)
    side = OrderSide.BUY if quantity > 0 else OrderSide.SELL
    portfolio.apply_fill(
        Fill(
            exec_id="E-1",
            client_order_id="C-1",
            symbol="AAA",
            side=side,
            quantity=abs(quantity),
            price=price,
            fee=0.0,
            ts_ns=1,
        )
    )
    portfolio.mark("AAA", mark)
    return portfolio


def working(*commands: SubmitOrder) -> dict[str, Order]:
    """The engine's working-order map after it sent ``commands``."""
    return {
        c.client_order_id: Order(
            client_order_id=c.client_order_id, symbol=c.symbol, side=c.side, quantity=c.quantity
        )
        for c in commands
    }


def check(keeper: AccountKeeper, portfolio: Portfolio, ts: int = 2, working=()):
    equity, gross = portfolio.valuation()
    return keeper.after_bar(ts, equity, gross, working)


class TestLiquidationOrders:
    def test_a_breach_returns_market_orders_that_restore_maintenance(self):
        # 190 bought at 100 with 10,000, marked at 60.5: equity 2,495 < 25% × 11,495
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        (order,) = check(keeper, portfolio)
        assert order == SubmitOrder(
            client_order_id=f"{LIQUIDATION_STRATEGY}-1",
            symbol="AAA",
            side=OrderSide.SELL,
            quantity=26.0,
            order_type=OrderType.MARKET,
            strategy=LIQUIDATION_STRATEGY,
            ts_ns=2,
        )
        (item,) = keeper.liquidations
        assert item == Liquidation(
            2,
            "AAA",
            -26.0,
            "margin: equity 2,495.00 below maintenance 2,873.75 (25% of gross 11,495.00)",
        )

    def test_the_lot_size_of_the_instrument_rounds_the_quantity_up(self):
        portfolio = holding(190, 100.0, 60.5)
        registry = InstrumentRegistry([Instrument(symbol="AAA", lot_size=10.0)])
        keeper = AccountKeeper(MARGIN, portfolio, None, registry)
        (order,) = check(keeper, portfolio)
        assert order.quantity == 30.0

    def test_a_liquidation_still_working_counts_as_done(self):
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        (first,) = check(keeper, portfolio, ts=2)
        # 164 left once it fills: 9,922 gross is within 2,495 / 0.25 = 9,980
        assert check(keeper, portfolio, ts=3, working=working(first)) == ()
        (again,) = check(keeper, portfolio, ts=4, working={})
        assert again.client_order_id == f"{LIQUIDATION_STRATEGY}-2"
        assert len(keeper.breaches) == 1  # still one episode

    def test_the_strategys_own_working_exit_is_not_sold_twice(self):
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        exit_order = Order(client_order_id="s-2", symbol="AAA", side=OrderSide.SELL, quantity=180.0)
        assert check(keeper, portfolio, working={"s-2": exit_order}) == ()
        # a smaller exit leaves 1,515 − 20 × 60.5 = 305 to go: 5.04 → 6 units
        exit_order = Order(client_order_id="s-3", symbol="AAA", side=OrderSide.SELL, quantity=20.0)
        (order,) = check(keeper, portfolio, ts=3, working={"s-3": exit_order})
        assert order.quantity == 6.0

    def test_a_working_order_that_adds_to_the_position_is_canceled(self):
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        more = Order(client_order_id="s-2", symbol="AAA", side=OrderSide.BUY, quantity=50.0)
        more.accept("V-2")
        cancel, order = check(keeper, portfolio, working={"s-2": more})
        assert cancel == CancelOrder(
            client_order_id=f"{LIQUIDATION_STRATEGY}-cancel-1",
            orig_client_order_id="s-2",
            symbol="AAA",
            side=OrderSide.BUY,
            ts_ns=2,
        )
        assert order.quantity == 26.0  # it counts for nothing: the liquidation is the same
        assert keeper.canceled == ["s-2"]
        assert any(
            "canceled 1 working order(s) that added exposure: s-2" in n for n in keeper.notes()
        )

    def test_an_order_on_a_flat_symbol_is_canceled_and_a_reducing_one_is_kept(self):
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        other = Order(client_order_id="s-3", symbol="BBB", side=OrderSide.SELL, quantity=5.0)
        exit_order = Order(client_order_id="s-4", symbol="AAA", side=OrderSide.SELL, quantity=5.0)
        for order in (other, exit_order):
            order.accept()
        commands = check(keeper, portfolio, working={"s-3": other, "s-4": exit_order})
        canceled = [c.orig_client_order_id for c in commands if isinstance(c, CancelOrder)]
        assert canceled == ["s-3"]

    def test_an_order_not_yet_accepted_is_left_to_the_margin_check(self):
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        pending = Order(client_order_id="s-2", symbol="AAA", side=OrderSide.BUY, quantity=50.0)
        (order,) = check(keeper, portfolio, working={"s-2": pending})
        assert isinstance(order, SubmitOrder) and keeper.canceled == []

    def test_a_cushion_liquidates_below_maintenance_by_that_margin(self):
        # gross must come down to 2,495 / (0.25 × 1.1) = 9,072.7: 2,422.3 / 60.5 → 41 units
        portfolio = holding(190, 100.0, 60.5)
        terms = AccountTerms(kind="margin", liquidation_cushion=0.1)
        (order,) = check(AccountKeeper(terms, portfolio, None), portfolio)
        assert order.quantity == 41.0

    def test_a_negative_cushion_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="liquidation_cushion must be >= 0"):
            AccountTerms(kind="margin", liquidation_cushion=-0.1)

    def test_policy_all_closes_the_whole_position(self):
        portfolio = holding(190, 100.0, 60.5)
        terms = AccountTerms(kind="margin", liquidation="all")
        (order,) = check(AccountKeeper(terms, portfolio, None), portfolio)
        assert (order.side, order.quantity) == (OrderSide.SELL, 190.0)

    def test_a_short_squeezed_above_maintenance_is_bought_back(self):
        # short 100 at 50 with 5,000: cash 10,000, marked at 90 → equity 1,000 < 2,250
        portfolio = holding(-100, 50.0, 90.0, cash=5_000.0)
        (order,) = check(AccountKeeper(MARGIN, portfolio, None), portfolio)
        # gross may be 4,000: 5,000 goes, 55.6 → 56 units bought back
        assert (order.side, order.quantity) == (OrderSide.BUY, 56.0)

    def test_foreign_positions_are_valued_at_the_fx_rate(self):
        portfolio = Portfolio(10_000.0, base_currency="USD", currencies={"AAA": "EUR"})
        fx = FxSeries.of("EUR", np.array([0]), np.array([2.0]))
        keeper = AccountKeeper(MARGIN, portfolio, [fx])
        keeper.before_bar(1)
        portfolio.apply_fill(
            Fill(
                exec_id="E-1",
                client_order_id="C-1",
                symbol="AAA",
                side=OrderSide.BUY,
                quantity=95,
                price=100.0,
                fee=0.0,
                ts_ns=1,
            )
        )
        portfolio.mark("AAA", 60.5)
        # equity 10,000 + 2 × (−9,500 + 95 × 60.5) = 2,495; gross 11,495 (as in USD above)
        equity, gross = portfolio.valuation()
        assert (equity, gross) == pytest.approx((2_495.0, 11_495.0))
        (order,) = keeper.after_bar(2, equity, gross)
        # 1,515 USD of it goes at 121 USD a unit: 12.5 → 13 units
        assert order.quantity == 13.0


class TestNoLiquidation:
    def test_policy_none_records_the_breach_and_trades_nothing(self):
        portfolio = holding(190, 100.0, 60.5)
        terms = AccountTerms(kind="margin", liquidation="none")
        keeper = AccountKeeper(terms, portfolio, None)
        assert check(keeper, portfolio) == ()
        assert len(keeper.breaches) == 1 and keeper.liquidations == []

    def test_a_cash_account_never_liquidates(self):
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(AccountTerms(kind="cash"), portfolio, None)
        assert check(keeper, portfolio) == () and keeper.breaches == []

    def test_an_account_within_maintenance_trades_nothing(self):
        portfolio = holding(100, 100.0, 90.0)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        assert check(keeper, portfolio) == () and keeper.breaches == []


class TestNotes:
    def test_each_liquidation_is_a_note(self):
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        check(keeper, portfolio)
        expected = "liquidation at 1970-01-01T00:00:00Z: sell 26 AAA (margin: equity 2,495.00"
        assert keeper.notes()[-1].startswith(expected)

    def test_beyond_twenty_the_rest_are_counted(self):
        portfolio = holding(190, 100.0, 60.5)
        keeper = AccountKeeper(MARGIN, portfolio, None)
        for ts in range(2, 27):
            check(keeper, portfolio, ts=ts)
        notes = keeper.notes()
        assert sum(note.startswith("liquidation at") for note in notes) == 20
        assert notes[-1].startswith("... and 5 more liquidation order(s)")
