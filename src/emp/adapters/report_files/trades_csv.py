"""``trades.csv`` and ``trades.parquet``: every closed round trip, one row each.

The CSV writes floats as ``repr`` (exact); the Parquet file (pyarrow, imported when it is
written) holds the same columns with their native types.
"""

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
    "side",
    "entry_price",
    "exit_price",
    "fees",
    "exit_fx_rate",
    "pnl_base",
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
                trade.side,
                repr(float(trade.entry_price)),
                repr(float(trade.exit_price)),
                repr(float(trade.fees)),
                repr(float(trade.exit_fx_rate)),
                repr(float(trade.pnl_base)),
            )
        )
    return buffer.getvalue().encode("utf-8")


def render_trades_parquet(trades: Sequence[ClosedTrade]) -> bytes:
    """The ``trades.parquet`` bytes: the CSV's columns, times as UTC timestamps."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    entry = [t.entry_ns for t in trades]
    exit_ = [t.exit_ns for t in trades]
    table = pa.table(
        {
            "symbol": pa.array([t.symbol for t in trades], pa.string()),
            "direction": pa.array([t.direction for t in trades], pa.int8()),
            "entry_ns": pa.array(entry, pa.int64()),
            "exit_ns": pa.array(exit_, pa.int64()),
            "entry_time": pa.array(entry, pa.timestamp("ns", tz="UTC")),
            "exit_time": pa.array(exit_, pa.timestamp("ns", tz="UTC")),
            "max_quantity": pa.array([t.max_quantity for t in trades], pa.float64()),
            "pnl": pa.array([t.pnl for t in trades], pa.float64()),
            "side": pa.array([t.side for t in trades], pa.string()),
            "entry_price": pa.array([t.entry_price for t in trades], pa.float64()),
            "exit_price": pa.array([t.exit_price for t in trades], pa.float64()),
            "fees": pa.array([t.fees for t in trades], pa.float64()),
            "exit_fx_rate": pa.array([t.exit_fx_rate for t in trades], pa.float64()),
            "pnl_base": pa.array([t.pnl_base for t in trades], pa.float64()),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()
