"""Invariants over random order streams (hypothesis):

* approved orders never push any cap's measure beyond ``max(cap, measure before)``;
* in REDUCING, fills only ever shrink |position| and never flip it;
* throttles never grant more than ``burst + window / interval`` orders in any window;
* after HALT no risk-increasing order is approved, whatever the stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from emp.domain.orders import OrderSide
from emp.domain.risk import (
    AccountSnapshot,
    BreachAction,
    MaxBetaExposure,
    MaxGrossExposure,
    MaxGroupExposure,
    MaxLeverage,
    MaxNetExposure,
    MaxOrderQuantity,
    MaxPosition,
    MaxValueAtRisk,
    OrderRateThrottle,
    ReturnHistory,
    RiskManager,
    TokenBucket,
    WorkingOrder,
)
from emp.domain.risk.market_risk import historical_var
from tests.unit.domain.risk.builders import BUY, SELL, check_input

SYMBOLS = ("A", "B", "C", "D")
SECTORS = {"A": "x", "B": "x", "C": "y", "D": "y"}
EQUITY = 12_000.0
TOL = 1e-6


@dataclass
class Account:
    """A tiny simulated account: positions and working orders; fills at bar prices."""

    positions: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SYMBOLS, 0.0))
    working: list[WorkingOrder] = field(default_factory=list)
    sequence: int = 0

    def leaves(self, symbol: str, side: OrderSide) -> float:
        return sum(o.leaves_quantity for o in self.working if o.symbol == symbol and o.side is side)

    def add(self, symbol: str, side: OrderSide, quantity: float) -> None:
        self.sequence += 1
        self.working.append(
            WorkingOrder(
                client_order_id=f"o{self.sequence}",
                symbol=symbol,
                side=side,
                leaves_quantity=quantity,
            )
        )

    def fill_all(self) -> None:
        for order in self.working:
            self.positions[order.symbol] += order.side.sign * order.leaves_quantity
        self.working = []

    def snapshot(self, ts_ns: int, prices: dict[str, float]) -> AccountSnapshot:
        return AccountSnapshot(
            ts_ns=ts_ns,
            equity=EQUITY,
            positions=dict(self.positions),
            marks=dict(prices),
            working_orders=tuple(self.working),
        )

    def check_input(self, symbol, side, quantity, price, ts_ns=0, strategy="s", lot=1.0):
        return check_input(
            side,
            quantity,
            symbol=symbol,
            position=self.positions[symbol],
            open_buy=self.leaves(symbol, BUY),
            open_sell=self.leaves(symbol, SELL),
            price=price,
            equity=EQUITY,
            ts_ns=ts_ns,
            strategy=strategy,
            open_orders=len(self.working),
            lot_size=lot,
        )


def measures(acct: Account, prices, betas, returns) -> dict[str, float]:
    """Every capped measure, computed from scratch (worst case over working orders)."""
    gross = net_high = net_low = beta_high = beta_low = 0.0
    groups = {"x": 0.0, "y": 0.0}
    values = np.zeros(len(SYMBOLS))
    for j, s in enumerate(SYMBOLS):
        p = prices[s]
        high = acct.positions[s] + acct.leaves(s, BUY)
        low = acct.positions[s] - acct.leaves(s, SELL)
        g = max(abs(high), abs(low)) * p
        gross += g
        groups[SECTORS[s]] += g
        net_high += high * p
        net_low += low * p
        beta_high += max(betas[s] * high, betas[s] * low) * p
        beta_low += min(betas[s] * high, betas[s] * low) * p
        values[j] = (high + low - acct.positions[s]) * p
    return {
        "gross": gross,
        "net": max(abs(net_high), abs(net_low)),
        "x": groups["x"],
        "y": groups["y"],
        "beta": max(abs(beta_high), abs(beta_low)),
        "var": historical_var(returns @ values, 0.95),
        "lev": gross / EQUITY,
    }


CAPS = {
    "gross": 15_000.0,
    "net": 8_000.0,
    "x": 9_000.0,
    "y": 9_000.0,
    "beta": 9_000.0,
    "var": 300.0,
}
POSITION_CAP = 50.0

intents = st.tuples(
    st.sampled_from(SYMBOLS), st.sampled_from([BUY, SELL]), st.integers(min_value=1, max_value=90)
)
bars = st.tuples(
    st.fixed_dictionaries({s: st.integers(min_value=20, max_value=200) for s in SYMBOLS}),
    st.lists(intents, min_size=1, max_size=8),
)


RULE_KEYS = ("pos", "gross", "net", "lev", "x", "beta", "var")
LEVERAGE_CAP = 1.1  # 13,200 of gross on 12,000 of equity


def build_rules(active: set[str], resize: set[str]) -> list:
    def act(key: str) -> BreachAction:
        return BreachAction.RESIZE if key in resize else BreachAction.REJECT

    makers = {
        "pos": lambda: MaxPosition(POSITION_CAP, action=act("pos")),
        "gross": lambda: MaxGrossExposure(CAPS["gross"], action=act("gross")),
        "net": lambda: MaxNetExposure(CAPS["net"], action=act("net")),
        "lev": lambda: MaxLeverage(LEVERAGE_CAP, action=act("lev")),
        "x": lambda: MaxGroupExposure(
            "sector", limits={"x": CAPS["x"], "y": CAPS["y"]}, action=act("x")
        ),
        "beta": lambda: MaxBetaExposure(CAPS["beta"], action=act("beta")),
        "var": lambda: MaxValueAtRisk(CAPS["var"], confidence=0.95, action=act("var")),
    }
    return [makers[key]() for key in RULE_KEYS if key in active]


class TestCapsHoldOverRandomStreams:
    @settings(max_examples=300, deadline=None)
    @given(
        stream=st.lists(bars, min_size=1, max_size=6),
        active=st.sets(st.sampled_from(RULE_KEYS), min_size=1),
        resize=st.sets(st.sampled_from(RULE_KEYS)),
        seed=st.integers(min_value=0, max_value=2**16),
    )
    def test_no_approved_order_pushes_a_measure_beyond_its_cap(
        self, stream, active, resize, seed
    ) -> None:
        rng = np.random.default_rng(seed)
        bench = rng.normal(0, 0.01, 120)
        returns = bench[:, None] * rng.uniform(-1.0, 2.0, 4) + rng.normal(0, 0.01, (120, 4))
        history = ReturnHistory(symbols=SYMBOLS, returns=returns, benchmark=bench)
        manager = RiskManager(
            rules=build_rules(active, resize), groupings={"sector": SECTORS}, var_window=120
        )
        caps = {k: v for k, v in CAPS.items() if k in active or (k == "y" and "x" in active)}
        if "lev" in active:
            caps["lev"] = LEVERAGE_CAP
        acct = Account()
        for ts, (prices, orders) in enumerate(stream):
            prices = {s: float(p) for s, p in prices.items()}
            acct.fill_all()
            manager.on_bar(acct.snapshot(ts, prices), returns=history if ts == 0 else None)
            betas = {s: manager.book.beta(s) for s in SYMBOLS}
            model_returns = manager.book.market.returns
            for symbol, side, quantity in orders:
                data = acct.check_input(symbol, side, quantity, prices[symbol])
                before = measures(acct, prices, betas, model_returns)
                decision = manager.check(data)
                event(decision.outcome.value)
                if not decision.approved:
                    continue
                approved = decision.quantity_for(quantity)
                assert 0 < approved <= quantity and approved == int(approved)
                acct.add(symbol, side, approved)
                after = measures(acct, prices, betas, model_returns)
                for key, cap in caps.items():
                    bound = max(cap, before[key])
                    assert after[key] <= bound * (1 + TOL) + TOL, (key, before[key], after[key])
                if "pos" in active:
                    worst = max(
                        abs(acct.positions[symbol] + acct.leaves(symbol, BUY)),
                        abs(acct.positions[symbol] - acct.leaves(symbol, SELL)),
                    )
                    assert worst <= max(POSITION_CAP, abs(acct.positions[symbol])) + TOL


class TestReducingOnlyReduces:
    @settings(max_examples=200, deadline=None)
    @given(
        start=st.fixed_dictionaries(
            {s: st.integers(min_value=-100, max_value=100) for s in SYMBOLS}
        ),
        stream=st.lists(st.lists(intents, min_size=1, max_size=6), min_size=1, max_size=6),
    )
    def test_fills_in_reducing_never_grow_or_flip_a_position(self, start, stream) -> None:
        manager = RiskManager(rules=[MaxOrderQuantity(40, action=BreachAction.RESIZE)])
        acct = Account(positions={s: float(q) for s, q in start.items()})
        prices = dict.fromkeys(SYMBOLS, 100.0)
        manager.reduce(ts_ns=0, reason="property test", account=acct.snapshot(0, prices))
        for ts, orders in enumerate(stream, start=1):
            manager.on_bar(acct.snapshot(ts, prices))
            for symbol, side, quantity in orders:
                decision = manager.check(acct.check_input(symbol, side, quantity, 100.0))
                if decision.approved:
                    acct.add(symbol, side, decision.quantity_for(quantity))
            before = dict(acct.positions)
            for order in acct.working:  # fill one by one: every partial state is checked
                previous = acct.positions[order.symbol]
                acct.positions[order.symbol] += order.side.sign * order.leaves_quantity
                now = acct.positions[order.symbol]
                assert abs(now) < abs(previous)
                assert now * previous >= 0
            acct.working = []
            assert all(abs(acct.positions[s]) <= abs(before[s]) for s in SYMBOLS)


def gaps(interval: int):
    """Gaps at, just before and just after whole token intervals, plus random ones."""
    near = st.builds(
        lambda k, d: max(0, k * interval + d),
        st.integers(min_value=0, max_value=3),
        st.sampled_from([-1, 0, 1]),
    )
    return st.one_of(near, st.integers(min_value=0, max_value=3 * interval))


def assert_within_rate(times: list[int], burst: int, interval: int) -> None:
    for i in range(len(times)):
        for j in range(i, len(times)):
            assert j - i + 1 <= burst + (times[j] - times[i]) // interval, (times, i, j)


class TestThrottlesNeverExceedTheirRate:
    @settings(max_examples=300, deadline=None)
    @given(
        rate=st.sampled_from([0.5, 1.0, 3.0, 7.0, 10.0]),
        burst=st.integers(min_value=1, max_value=4),
        data=st.data(),
    )
    def test_a_bucket_grants_at_most_burst_plus_rate_in_any_window(self, rate, burst, data):
        interval = math.ceil(1e9 / rate)
        bucket = TokenBucket(rate_per_second=rate, burst=burst)
        ts, granted = 0, []
        for gap in data.draw(st.lists(gaps(interval), min_size=1, max_size=60)):
            ts += gap
            if bucket.try_take(ts):
                granted.append(ts)
        assert_within_rate(granted, burst, interval)

    @settings(max_examples=200, deadline=None)
    @given(
        rate=st.sampled_from([0.5, 1.0, 3.0, 10.0]),
        burst=st.integers(min_value=1, max_value=4),
        data=st.data(),
    )
    def test_strategy_and_global_throttles_hold_through_the_manager(self, rate, burst, data):
        interval = math.ceil(1e9 / rate)
        global_rate, global_burst = rate * 1.5, burst + 1
        manager = RiskManager(
            rules=[
                OrderRateThrottle(rate, burst, "strategy"),
                OrderRateThrottle(global_rate, global_burst, "global"),
            ]
        )
        steps = data.draw(
            st.lists(st.tuples(gaps(interval), st.sampled_from(["a", "b"])), max_size=60)
        )
        approved: dict[str, list[int]] = {"a": [], "b": [], "*": []}
        ts = 0
        for gap, strategy in steps:
            ts += gap
            if manager.check(check_input(BUY, 1, strategy=strategy, ts_ns=ts)).approved:
                approved[strategy].append(ts)
                approved["*"].append(ts)
        assert_within_rate(approved["a"], burst, interval)
        assert_within_rate(approved["b"], burst, interval)
        assert_within_rate(approved["*"], global_burst, math.ceil(1e9 / global_rate))


class TestNothingIncreasesRiskAfterHalt:
    @settings(max_examples=200, deadline=None)
    @given(
        start=st.fixed_dictionaries(
            {s: st.integers(min_value=-100, max_value=100) for s in SYMBOLS}
        ),
        before=st.lists(intents, max_size=10),
        after=st.lists(intents, min_size=1, max_size=30),
        resize=st.booleans(),
    )
    def test_after_halt_only_flattening_orders_are_approved(
        self, start, before, after, resize
    ) -> None:
        action = BreachAction.RESIZE if resize else BreachAction.REJECT
        manager = RiskManager(rules=[MaxOrderQuantity(60, action=action), MaxPosition(150)])
        acct = Account(positions={s: float(q) for s, q in start.items()})
        prices = dict.fromkeys(SYMBOLS, 100.0)
        for symbol, side, quantity in before:
            decision = manager.check(acct.check_input(symbol, side, quantity, 100.0))
            if decision.approved:
                acct.positions[symbol] += side.sign * decision.quantity_for(quantity)
        commands = manager.halt(ts_ns=1, reason="property test", account=acct.snapshot(1, prices))
        assert all(cmd.strategy == "risk" for cmd in commands)
        for ts, (symbol, side, quantity) in enumerate(after, start=2):
            if ts % 7 == 0:
                manager.on_bar(acct.snapshot(ts, prices))
            position = acct.positions[symbol]
            decision = manager.check(acct.check_input(symbol, side, quantity, 100.0, ts_ns=ts))
            if decision.approved:
                filled = position + side.sign * decision.quantity_for(quantity)
                assert position != 0 and abs(filled) < 1e-9  # exactly flat, nothing else
                acct.positions[symbol] = 0.0
