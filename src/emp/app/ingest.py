"""Ingest: raw rows from a file or a vendor, validated, good rows stored, bad rows quarantined.

:func:`ingest_raw` is the one path every source takes: each symbol's rows go through
:func:`~emp.domain.bar_validation.validate_raw_bars`; the quarantined rows are written
first (an idempotent upsert), then every symbol's good rows in one atomic bar-store write,
and an :class:`IngestReport` says how many rows of each kind there were and which
sessions were missing. Nothing is dropped or repaired on the way.

:func:`read_raw_file` reads a CSV or Parquet file into :class:`RawBars` without
validating it (a structurally unreadable file — missing columns, text that is not a
date or a number — is refused whole with :class:`MalformedBarFile`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emp.adapters.file_bars.columns import (
    RowNamer,
    locate_columns,
    parse_numbers,
    parse_symbols,
    parse_timestamps,
)
from emp.domain.bar_validation import RawBars, ValidationRules, validate_raw_bars
from emp.domain.bars import BarSeries
from emp.ports.bar_source import MalformedBarFile
from emp.ports.bar_store import BarStorePort
from emp.ports.quarantine_store import QuarantineStorePort

#: File suffixes and their formats.
FILE_FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

#: Optional corporate-action columns (lower-cased names) and what they mean.
_SPLIT_NAMES = ("split_ratio", "stock splits", "stock_splits", "splits")
_DIVIDEND_NAMES = ("dividend", "dividends")


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolReport:
    """What happened to one symbol's rows."""

    symbol: str
    rows_in: int
    good: int
    quarantined: int
    by_reason: dict[str, int] = field(default_factory=dict)
    missing_sessions: tuple[str, ...] = ()
    first_ns: int | None = None
    last_ns: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestReport:
    """The ingest report: rows in, good rows stored, rows quarantined, per symbol."""

    source: str
    symbols: tuple[SymbolReport, ...]

    @property
    def rows_in(self) -> int:
        return sum(item.rows_in for item in self.symbols)

    @property
    def good(self) -> int:
        return sum(item.good for item in self.symbols)

    @property
    def quarantined(self) -> int:
        return sum(item.quarantined for item in self.symbols)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_in": self.rows_in,
            "good": self.good,
            "quarantined": self.quarantined,
            "symbols": [
                {
                    "symbol": item.symbol,
                    "rows_in": item.rows_in,
                    "good": item.good,
                    "quarantined": item.quarantined,
                    "by_reason": item.by_reason,
                    "missing_sessions": list(item.missing_sessions),
                    "first_ns": item.first_ns,
                    "last_ns": item.last_ns,
                }
                for item in self.symbols
            ],
        }


def ingest_raw(
    raw: Mapping[str, RawBars],
    *,
    rules: ValidationRules | Callable[[str], ValidationRules],
    source: str,
    bars: BarStorePort,
    quarantine: QuarantineStorePort,
) -> IngestReport:
    """Validate, quarantine and store ``raw``; return the report.

    ``rules`` may be one set of rules or a function of the symbol. Store errors
    propagate; the quarantine write is idempotent, so re-running an ingest after a failed
    bar write converges to the same state.
    """
    good: dict[str, BarSeries] = {}
    quarantined = []
    reports = []
    for symbol, rows in raw.items():
        symbol_rules = rules(symbol) if callable(rules) else rules
        result = validate_raw_bars(rows, symbol_rules)
        if result.good is not None:
            good[symbol] = result.good
        quarantined.extend(result.quarantined)
        reports.append(
            SymbolReport(
                symbol=symbol,
                rows_in=result.rows_in,
                good=result.good_rows,
                quarantined=len(result.quarantined),
                by_reason=result.counts_by_reason(),
                missing_sessions=tuple(str(day) for day in result.missing_sessions),
                first_ns=None if result.good is None else int(result.good.ts_ns[0]),
                last_ns=None if result.good is None else int(result.good.ts_ns[-1]),
            )
        )
    if quarantined:
        quarantine.write_quarantine(quarantined, source)
    if good:
        bars.write_bars(good, source)
    return IngestReport(source=source, symbols=tuple(reports))


def _optional_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    by_lower = {str(name).strip().lower(): str(name) for name in frame.columns}
    return next((by_lower[name] for name in names if name in by_lower), None)


def read_raw_file(
    path: str | Path, *, default_symbol: str | None = None
) -> tuple[str, dict[str, RawBars]]:
    """The source description and each symbol's raw rows of a CSV or Parquet bar file.

    Columns as for :class:`~emp.adapters.file_bars.CsvParquetBarSource` (timestamp,
    OHLCV, optional symbol — else ``default_symbol`` or the file's stem upper-cased), plus
    optional ``split_ratio``/``stock splits`` (0 or empty means none) and
    ``dividend``/``dividends`` columns. Rows keep their file order.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in FILE_FORMATS:
        raise MalformedBarFile(
            f"{file}: expected a file ending in {', '.join(FILE_FORMATS)}, "
            f"was {suffix or 'no suffix'!r}"
        )
    kind = FILE_FORMATS[suffix]
    if not file.is_file():
        raise MalformedBarFile(f"{file}: bar file not found")
    try:
        if kind == "csv":
            frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        else:
            frame = pd.read_parquet(file)
    except (OSError, ValueError) as error:
        raise MalformedBarFile(f"{file}: cannot be read as {kind}: {error}") from error
    where = str(file)
    if frame.shape[0] == 0:
        raise MalformedBarFile(f"{where}: expected bars, the file has no rows")
    row_name = RowNamer(header_lines=1 if kind == "csv" else 0)
    columns = locate_columns(frame, where)
    ts_ns = parse_timestamps(frame[columns.timestamp], where, row_name)
    values = {
        name: parse_numbers(frame[column], where, row_name)
        for name, column in columns.prices.items()
    }
    extras: dict[str, np.ndarray] = {}
    split_column = _optional_column(frame, _SPLIT_NAMES)
    if split_column is not None:
        split = parse_numbers(frame[split_column], where, row_name)
        extras["split_ratio"] = np.where(np.isfinite(split) & (split > 0), split, 1.0)
    dividend_column = _optional_column(frame, _DIVIDEND_NAMES)
    if dividend_column is not None:
        dividend = parse_numbers(frame[dividend_column], where, row_name)
        extras["dividend"] = np.where(np.isfinite(dividend), dividend, 0.0)
    if columns.symbol is None:
        symbol = default_symbol or file.stem.upper()
        row_symbols = np.full(frame.shape[0], symbol, dtype=object)
    else:
        row_symbols = parse_symbols(frame[columns.symbol], where, row_name)
    raw: dict[str, RawBars] = {}
    for symbol in dict.fromkeys(row_symbols.tolist()):
        rows = row_symbols == symbol
        raw[symbol] = RawBars.from_arrays(
            symbol,
            ts_ns[rows],
            *(values[name][rows] for name in ("open", "high", "low", "close", "volume")),
            **{name: column[rows] for name, column in extras.items()},
        )
    return f"{kind}:{file.resolve()}", raw
