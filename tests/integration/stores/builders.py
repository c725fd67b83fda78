"""Builders shared by the store contract tests: bars, runs, orders, fills, quarantine."""

from __future__ import annotations

import numpy as np

from emp.domain.bar_validation import QuarantinedBar, QuarantineReason
from emp.domain.bars import BarSeries
from emp.domain.fills import Fill
from emp.domain.orders import Order, OrderSide, OrderType, TimeInForce
from emp.ports.run_store import RunRecord

DAY_NS = 86_400_000_000_000
T0 = 1_577_923_200_123_456_789  # 2020-01-02 00:00:00.123456789 UTC: odd nanoseconds on purpose


def make_series(
    symbol: str, n: int = 5, *, start_ns: int = T0, base: float = 100.0, step_ns: int = DAY_NS
) -> BarSeries:
    close = base + np.arange(n, dtype=np.float64) * 0.37
    return BarSeries.from_arrays(
        symbol,
        start_ns + np.arange(n, dtype=np.int64) * step_ns,
        close - 0.1,
        close + 1.0,
        close - 1.0,
        close,
        np.arange(1, n + 1, dtype=np.float64) * 1000.0,
    )


def assert_same_series(actual: BarSeries, expected: BarSeries) -> None:
    assert actual.symbol == expected.symbol
    for name in ("ts_ns", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(actual, name), getattr(expected, name), err_msg=name)
    assert actual.ts_ns.dtype == np.int64


def make_record(run_id: str = "run-1", started_ns: int = 1_000) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        kind="backtest",
        strategy="sma_cross",
        config={"slow": 50, "fast": 10, "symbols": ["AAA", "BBB"]},
        seed=7,
        data_hash="abc123",
        package_version="0.1.0",
        started_ns=started_ns,
    )


def make_orders_and_fills() -> tuple[list[Order], list[Fill]]:
    filled = Order(
        client_order_id="o-1",
        symbol="AAA",
        side=OrderSide.BUY,
        quantity=10.0,
        strategy="sma_cross",
        created_ns=T0,
    )
    filled.accept("v-1")
    filled.fill(4.0, 100.25)
    filled.fill(6.0, 100.5)
    pending = Order(
        client_order_id="o-2",
        symbol="BBB",
        side=OrderSide.SELL,
        quantity=5.0,
        order_type=OrderType.LIMIT,
        limit_price=51.5,
        time_in_force=TimeInForce.GTC,
        created_ns=T0 + 1,
    )
    pending.accept("v-2")
    pending.fill(2.0, 51.5)
    pending.request_cancel()
    rejected = Order(client_order_id="o-3", symbol="AAA", side=OrderSide.SELL, quantity=1.0)
    rejected.reject("no liquidity")
    fills = [
        Fill(
            exec_id="e-1",
            client_order_id="o-1",
            symbol="AAA",
            side=OrderSide.BUY,
            quantity=4.0,
            price=100.25,
            fee=0.4,
            ts_ns=T0 + 5,
        ),
        Fill(
            exec_id="e-2",
            client_order_id="o-1",
            symbol="AAA",
            side=OrderSide.BUY,
            quantity=6.0,
            price=100.5,
            fee=0.6,
            ts_ns=T0 + 6,
        ),
        Fill(
            exec_id="e-3",
            client_order_id="o-2",
            symbol="BBB",
            side=OrderSide.SELL,
            quantity=2.0,
            price=51.5,
            fee=0.0,
            ts_ns=T0 + 7,
        ),
    ]
    return [filled, pending, rejected], fills


def make_quarantined(
    symbol: str = "AAA", n: int = 3, *, start_ns: int = T0, reason: str = "high_below_low"
) -> list[QuarantinedBar]:
    return [
        QuarantinedBar(
            symbol=symbol,
            source_row=10 + i,
            ts_ns=start_ns + i * DAY_NS,
            open=float("nan") if i == 0 else 100.0 + i,
            high=99.0,
            low=101.0,
            close=100.0,
            volume=[1_000.0, 0.0, float("inf")][i % 3],
            reasons=(QuarantineReason(reason),),
            detail=f"row {10 + i}: {reason}",
            occurrence=0,
        )
        for i in range(n)
    ]
