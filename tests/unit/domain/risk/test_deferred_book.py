"""The manager's exposure book syncs when read: the same book as a sync at every bar."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.risk import (
    AccountSnapshot,
    DrawdownLimits,
    MaxGrossExposure,
    MaxPosition,
    RiskManager,
    TradingState,
    WorkingOrder,
)
from tests.unit.domain.risk.builders import BUY, SELL, check_input
from tests.unit.domain.risk.test_incremental import CURRENCIES, GROUPINGS, assert_books_equal

SYMBOLS = ("A", "B", "C", "D")


def manager() -> RiskManager:
    return RiskManager(
        rules=[MaxPosition(60.0), MaxGrossExposure(40_000.0)],
        groupings=GROUPINGS,
        currencies=CURRENCIES,
    )


class TestDeferredSync:
    @settings(max_examples=60, deadline=None)
    @given(seed=st.integers(0, 10_000), bars=st.integers(1, 40))
    def test_checks_see_the_book_a_sync_at_every_bar_would_have(self, seed, bars):
        rng = np.random.default_rng(seed)
        lazy, eager = manager(), manager()
        positions = {"A": 10.0, "B": -5.0}
        marks = {s: 100.0 for s in SYMBOLS}
        working: tuple[WorkingOrder, ...] = ()
        for ts in range(bars):
            changed = {str(s) for s in rng.choice(SYMBOLS, size=2, replace=False)}
            for s in changed:
                marks[s] = float(rng.uniform(20, 200))
                if rng.random() < 0.4:
                    positions[s] = float(rng.integers(-30, 30))
            if rng.random() < 0.2:
                s = sorted(changed)[0]
                working = (
                    WorkingOrder(client_order_id=f"w{ts}", symbol=s, side=BUY, leaves_quantity=3.0),
                )
            elif rng.random() < 0.5:
                working = ()
            account = AccountSnapshot(
                ts_ns=ts,
                equity=1e6,
                positions=dict(positions),
                marks=dict(marks),
                working_orders=working,
                fx_rates={"EUR": 1.1},
            )
            for m in (lazy, eager):
                m.on_bar(account, changed=changed if ts else None)
            eager.book  # noqa: B018 - reading the book syncs it at every bar
            if rng.random() < 0.3:  # now and then an intent: the lazy book catches up first
                symbol = str(rng.choice(SYMBOLS))
                side = BUY if rng.random() < 0.5 else SELL
                quantity = float(rng.integers(1, 40))
                decisions = [
                    m.check(
                        check_input(
                            side,
                            quantity,
                            symbol=symbol,
                            position=positions.get(symbol, 0.0),
                            price=marks[symbol],
                            ts_ns=ts,
                        )
                    )
                    for m in (lazy, eager)
                ]
                assert decisions[0] == decisions[1]
        assert_books_equal(lazy.book, eager.book)

    def test_a_bar_given_lazily_builds_no_account_when_nothing_reads_it(self):
        risk = RiskManager(rules=[MaxPosition(10.0), MaxGrossExposure(1e9)])
        built = []

        def account() -> AccountSnapshot:
            built.append(1)
            return AccountSnapshot(ts_ns=1, equity=1e6, positions={}, marks={})

        for ts in range(1, 50):
            assert risk.on_bar_at(ts, 1e6, account, changed=["A"]) == ()
        assert built == []
        risk.check(check_input(BUY, 1.0, symbol="A", ts_ns=50))
        assert built == [1]  # one build, at the check, for 49 bars


def _working_of(orders: dict[str, tuple[str, float]]) -> tuple[WorkingOrder, ...]:
    return tuple(
        WorkingOrder(client_order_id=cid, symbol=symbol, side=BUY, leaves_quantity=quantity)
        for cid, (symbol, quantity) in sorted(orders.items())
    )


class TestChecksThatReadNoBook:
    """With rules that never read the book, checks leave it for its readers to sync."""

    def test_a_check_builds_no_account_and_a_reader_builds_one(self):
        risk = RiskManager(rules=[MaxPosition(10.0)])
        built = []

        def account() -> AccountSnapshot:
            built.append(1)
            return AccountSnapshot(ts_ns=1, equity=1e6, positions={}, marks={"A": 10.0})

        risk.on_bar_at(1, 1e6, account, changed=["A"])
        assert risk.check(check_input(BUY, 1.0, symbol="A", price=10.0, ts_ns=1)).approved
        assert built == []
        risk.book  # noqa: B018 - a reader: the book syncs now
        assert built == [1]

    def test_a_rule_without_the_attribute_is_taken_to_read_the_book(self):
        class Custom:
            name = "custom"

            def check(self, data):
                return None

        risk = RiskManager(rules=[MaxPosition(10.0), Custom()])
        built = []

        def account() -> AccountSnapshot:
            built.append(1)
            return AccountSnapshot(ts_ns=1, equity=1e6, positions={}, marks={"A": 10.0})

        risk.on_bar_at(1, 1e6, account, changed=["A"])
        risk.check(check_input(BUY, 1.0, symbol="A", price=10.0, ts_ns=1))
        assert built == [1]

    @settings(max_examples=60, deadline=None)
    @given(seed=st.integers(0, 10_000), bars=st.integers(1, 40))
    def test_a_reader_sees_the_book_of_a_manager_synced_at_every_bar(self, seed, bars):
        """As in the engine: approved orders work (in the account the source builds when
        called) until they fill or are canceled; the lazy manager is read now and then."""
        rng = np.random.default_rng(seed)
        rules = [MaxPosition(60.0)]
        lazy = RiskManager(rules=rules, groupings=GROUPINGS, currencies=CURRENCIES)
        eager = RiskManager(rules=rules, groupings=GROUPINGS, currencies=CURRENCIES)
        positions = {"A": 10.0, "B": -5.0}
        marks = {s: 100.0 for s in SYMBOLS}
        orders: dict[str, tuple[str, float]] = {}

        def account_at(ts: int):
            return lambda: AccountSnapshot(
                ts_ns=ts,
                equity=1e6,
                positions={s: q for s, q in positions.items() if q},
                marks=dict(marks),
                working_orders=_working_of(orders),
                fx_rates={"EUR": 1.1},
            )

        for ts in range(bars):
            changed = {str(s) for s in rng.choice(SYMBOLS, size=2, replace=False)}
            for s in changed:
                marks[s] = float(rng.uniform(20, 200))
            for cid in sorted(orders):  # working orders fill or are canceled
                symbol, quantity = orders[cid]
                if rng.random() < 0.5:
                    del orders[cid]
                    if rng.random() < 0.6:
                        positions[symbol] = positions.get(symbol, 0.0) + quantity
                        changed.add(symbol)
            for m in (lazy, eager):
                m.on_bar_at(ts, 1e6, account_at(ts), changed=changed if ts else None)
            eager.book  # noqa: B018 - reading the book syncs it at every bar
            if rng.random() < 0.5:
                symbol = str(rng.choice(SYMBOLS))
                open_buy = sum(q for s, q in orders.values() if s == symbol)
                data = check_input(
                    BUY,
                    float(rng.integers(1, 20)),
                    symbol=symbol,
                    position=positions.get(symbol, 0.0),
                    open_buy=open_buy,
                    price=marks[symbol],
                    ts_ns=ts,
                )
                decisions = [m.check(data) for m in (lazy, eager)]
                assert decisions[0] == decisions[1]
                if decisions[0].approved:
                    orders[f"o{ts}"] = (symbol, data.intent.quantity)
            if rng.random() < 0.2:
                assert_books_equal(lazy.book, eager.book)
        assert_books_equal(lazy.book, eager.book)


class TestNeedsEveryBar:
    def test_plain_rules_do_not(self):
        assert RiskManager(rules=[MaxPosition(10.0)]).needs_every_bar is False

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"drawdown": DrawdownLimits(halt_at=0.2)},
            {"escalate_on_breach": TradingState.REDUCING},
            {"rules": [MaxGrossExposure(1e6)], "escalate_on_breach": TradingState.HALTED},
        ],
    )
    def test_a_brake_or_an_escalation_does(self, kwargs):
        assert RiskManager(**kwargs).needs_every_bar is True

    def test_a_pending_flatten_does_until_the_account_is_flat(self):
        risk = RiskManager()
        held = AccountSnapshot(ts_ns=1, equity=1e6, positions={"A": 5.0}, marks={"A": 10.0})
        risk.halt(ts_ns=1, reason="test", account=held)
        assert risk.needs_every_bar is True
        flat = AccountSnapshot(ts_ns=2, equity=1e6, positions={}, marks={})
        risk.on_bar(flat)
        assert risk.needs_every_bar is False
