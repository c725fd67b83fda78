"""Bars laid out per timestamp, and frozen value objects built without their slow path.

The event engine's per-bar loop needs, for each timestamp of a window, the bars opening
then (symbols sorted), and once per bar an account snapshot for the risk layer; its order
path one risk check input and one submit command per order. All are frozen slotted
dataclasses, built here through their slot descriptors (:mod:`emp.domain.slots`: about
half the time of the generated ``__init__``; the constructor should a layout move).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from emp.domain.bars import Bar, BarSeries
from emp.domain.commands import SubmitOrder
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from emp.domain.risk import AccountSnapshot, RiskCheckInput, RiskContext
from emp.domain.slots import slot_setters
from emp.domain.strategy import OrderIntent

_BAR_FIELDS = ("symbol", "ts_ns", "open", "high", "low", "close", "volume")


_ACCOUNT_FIELDS = ("ts_ns", "equity", "positions", "marks", "working_orders", "fx_rates")


_SUBMIT_FIELDS = (
    "client_order_id",
    "symbol",
    "side",
    "quantity",
    "order_type",
    "limit_price",
    "time_in_force",
    "strategy",
    "ts_ns",
)


def submit_builder() -> Callable[..., SubmitOrder]:
    """``(client_order_id, symbol, side, quantity, order_type, limit_price, time_in_force,
    strategy, ts_ns) -> SubmitOrder`` (one per order sent)."""
    setters = slot_setters(SubmitOrder, _SUBMIT_FIELDS)
    if setters is None:  # pragma: no cover - layout moved
        return lambda *values: SubmitOrder(**dict(zip(_SUBMIT_FIELDS, values, strict=True)))
    new = object.__new__
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = setters

    def build(
        client_order_id: str,
        symbol: str,
        side: OrderSide,
        quantity: float,
        order_type: OrderType,
        limit_price: float | None,
        time_in_force: TimeInForce,
        strategy: str,
        ts_ns: int,
    ) -> SubmitOrder:
        command = new(SubmitOrder)
        s0(command, client_order_id)
        s1(command, symbol)
        s2(command, side)
        s3(command, quantity)
        s4(command, order_type)
        s5(command, limit_price)
        s6(command, time_in_force)
        s7(command, strategy)
        s8(command, ts_ns)
        return command

    return build


_CHECK_FIELDS = (
    "intent",
    "position",
    "open_buy_quantity",
    "open_sell_quantity",
    "reference_price",
    "equity",
    "strategy",
    "ts_ns",
    "open_order_count",
    "lot_size",
    "average_price",
    "context",
)


def check_input_builder() -> Callable[..., RiskCheckInput]:
    """``(intent, position, open_buy_quantity, open_sell_quantity, reference_price, equity,
    strategy, ts_ns, open_order_count, lot_size, average_price, context) ->
    RiskCheckInput`` (one per order checked)."""
    setters = slot_setters(RiskCheckInput, _CHECK_FIELDS)
    if setters is None:  # pragma: no cover - layout moved
        return lambda *values: RiskCheckInput(**dict(zip(_CHECK_FIELDS, values, strict=True)))
    new = object.__new__
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11 = setters

    def build(
        intent: OrderIntent,
        position: float,
        open_buy_quantity: float,
        open_sell_quantity: float,
        reference_price: float,
        equity: float,
        strategy: str,
        ts_ns: int,
        open_order_count: int,
        lot_size: float,
        average_price: float,
        context: RiskContext | None,
    ) -> RiskCheckInput:
        data = new(RiskCheckInput)
        s0(data, intent)
        s1(data, position)
        s2(data, open_buy_quantity)
        s3(data, open_sell_quantity)
        s4(data, reference_price)
        s5(data, equity)
        s6(data, strategy)
        s7(data, ts_ns)
        s8(data, open_order_count)
        s9(data, lot_size)
        s10(data, average_price)
        s11(data, context)
        return data

    return build


def account_builder() -> Callable[[int, float, dict, dict], AccountSnapshot]:
    """``(ts_ns, equity, positions, marks) -> AccountSnapshot`` with no working orders.

    Equal to ``AccountSnapshot(ts_ns=..., equity=..., positions=..., marks=...)``.
    """
    setters = slot_setters(AccountSnapshot, _ACCOUNT_FIELDS)
    if setters is None:  # pragma: no cover - layout moved

        def construct(ts_ns: int, equity: float, positions: dict, marks: dict) -> Any:
            return AccountSnapshot(ts_ns=ts_ns, equity=equity, positions=positions, marks=marks)

        return construct
    new = object.__new__
    set_ts, set_equity, set_positions, set_marks, set_working, set_fx = setters

    def build(ts_ns: int, equity: float, positions: dict, marks: dict) -> AccountSnapshot:
        account = new(AccountSnapshot)
        set_ts(account, ts_ns)
        set_equity(account, equity)
        set_positions(account, positions)
        set_marks(account, marks)
        set_working(account, ())
        set_fx(account, {})
        return account

    return build


_BAR_SETTERS: list[tuple[Callable[[Any, Any], None], ...] | None] = []


def _bar_setters() -> tuple[Callable[[Any, Any], None], ...] | None:
    """Bar's slot setters in field order (``None`` if its layout moved), looked up once."""
    if not _BAR_SETTERS:
        _BAR_SETTERS.append(slot_setters(Bar, _BAR_FIELDS))
    return _BAR_SETTERS[0]


#: Up to this many bars are read value by value (``ndarray.item``), more column-wise
#: (a slice and ``tolist`` per column cost more than a few items).
_FEW = 8


def bars_of(series: BarSeries, start: int, stop: int) -> list[Bar]:
    """``[series.bar(i) for i in range(start, stop)]``, built column-wise."""
    if stop - start <= _FEW:
        return [bar_at(series, i) for i in range(start, stop)]
    columns = (
        series.ts_ns[start:stop].tolist(),
        series.open[start:stop].tolist(),
        series.high[start:stop].tolist(),
        series.low[start:stop].tolist(),
        series.close[start:stop].tolist(),
        series.volume[start:stop].tolist(),
    )
    symbol = series.symbol
    setters = _bar_setters()
    if setters is None:  # pragma: no cover - layout moved
        return [Bar(symbol, *row) for row in zip(*columns, strict=True)]  # pragma: no cover
    new = object.__new__
    set_symbol, set_ts, set_open, set_high, set_low, set_close, set_volume = setters
    out: list[Bar] = []
    append = out.append
    for ts, open_, high, low, close, volume in zip(*columns, strict=True):
        bar = new(Bar)
        set_symbol(bar, symbol)
        set_ts(bar, ts)
        set_open(bar, open_)
        set_high(bar, high)
        set_low(bar, low)
        set_close(bar, close)
        set_volume(bar, volume)
        append(bar)
    return out


def bar_at(series: BarSeries, i: int) -> Bar:
    """``series.bar(i)`` (``i`` >= 0), read with ``ndarray.item`` and built by its slots."""
    setters = _bar_setters()
    if setters is None:  # pragma: no cover - layout moved
        return series.bar(i)
    set_symbol, set_ts, set_open, set_high, set_low, set_close, set_volume = setters
    bar = object.__new__(Bar)
    set_symbol(bar, series.symbol)
    set_ts(bar, series.ts_ns.item(i))
    set_open(bar, series.open.item(i))
    set_high(bar, series.high.item(i))
    set_low(bar, series.low.item(i))
    set_close(bar, series.close.item(i))
    set_volume(bar, series.volume.item(i))
    return bar


def bars_by_step(
    bars: Mapping[str, BarSeries],
    symbols: list[str],
    slots: Mapping[str, np.ndarray],
    start: int,
    stop: int,
) -> list[list[Bar]]:
    """The bars opening at each timestamp ``start..stop-1`` of a window, symbols sorted.

    ``slots[symbol]`` holds the timeline index of each of the symbol's bars.
    """
    steps: list[list[Bar]] = [[] for _ in range(stop - start)]
    for symbol in symbols:
        where = slots[symbol]
        first, last = np.searchsorted(where, (start, stop))
        if first == last:
            continue
        made = bars_of(bars[symbol], int(first), int(last))
        for slot, bar in zip((where[first:last] - start).tolist(), made, strict=True):
            steps[slot].append(bar)
    return steps
