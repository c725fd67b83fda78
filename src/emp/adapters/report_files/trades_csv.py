"""``trades.csv``: every closed round trip, one row each, floats written as ``repr``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from emp.domain.clock_time import ns_to_iso
from emp.domain.trades import ClosedTrade

TRADE_COLUMNS: tuple[str, ...] = (
    "symbol",
    "direction",
    "entry_ns",
    "exit_ns",
    "entry_time",
    "exit_time",
    "max_quantity",
    "pnl",
)


def render_trades_csv(trades: Sequence[ClosedTrade]) -> bytes:
    """The ``trades.csv`` bytes: a header row, then the trades in the order given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for trade in trades:
        writer.writerow(
            (
                trade.symbol,
                trade.direction,
                trade.entry_ns,
                trade.exit_ns,
                ns_to_iso(trade.entry_ns),
                ns_to_iso(trade.exit_ns),
                repr(float(trade.max_quantity)),
                repr(float(trade.pnl)),
            )
        )
    return buffer.getvalue().encode("utf-8")
