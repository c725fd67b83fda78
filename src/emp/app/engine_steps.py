"""Bars laid out per timestamp, and frozen value objects built without their slow path.

The event engine's per-bar loop needs, for each timestamp of a window, the bars opening
then (symbols sorted), and once per bar an account snapshot for the risk layer. Both are
frozen slotted dataclasses, whose generated ``__init__`` goes through
``object.__setattr__`` once per field; writing the slots through their descriptors builds
the same (equal, immutable) objects in about half the time. the builders check the
class's fields first and falls back to the constructor when the layout is not what it
expects, so a changed domain type can never be built half-initialised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from emp.domain.bars import Bar, BarSeries
from emp.domain.risk import AccountSnapshot

_BAR_FIELDS = ("symbol", "ts_ns", "open", "high", "low", "close", "volume")


_ACCOUNT_FIELDS = ("ts_ns", "equity", "positions", "marks", "working_orders", "fx_rates")


def _slots_match(cls: type, names: tuple[str, ...]) -> bool:
    """``names`` are exactly ``cls``'s dataclass fields, each a slot."""
    fields = sorted(f.name for f in dataclasses.fields(cls))
    return fields == sorted(names) and all(
        type(cls.__dict__.get(name)).__name__ == "member_descriptor" for name in names
    )


def account_builder() -> Callable[[int, float, dict, dict], AccountSnapshot]:
    """``(ts_ns, equity, positions, marks) -> AccountSnapshot`` with no working orders.

    Equal to ``AccountSnapshot(ts_ns=..., equity=..., positions=..., marks=...)``.
    """
    if not _slots_match(AccountSnapshot, _ACCOUNT_FIELDS):  # pragma: no cover - layout moved

        def construct(ts_ns: int, equity: float, positions: dict, marks: dict) -> Any:
            return AccountSnapshot(ts_ns=ts_ns, equity=equity, positions=positions, marks=marks)

        return construct
    new = object.__new__
    set_ts, set_equity, set_positions, set_marks, set_working, set_fx = (
        AccountSnapshot.__dict__[name].__set__ for name in _ACCOUNT_FIELDS
    )

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
        _BAR_SETTERS.append(
            tuple(getattr(Bar, name).__set__ for name in _BAR_FIELDS)
            if _slots_match(Bar, _BAR_FIELDS)
            else None
        )
    return _BAR_SETTERS[0]


def bars_of(series: BarSeries, start: int, stop: int) -> list[Bar]:
    """``[series.bar(i) for i in range(start, stop)]``, built column-wise."""
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
