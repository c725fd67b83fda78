"""CsvParquetBarSource: bars from one CSV or Parquet file, validated and never repaired."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from emp.adapters.file_bars.columns import (
    RowNamer,
    locate_columns,
    parse_numbers,
    parse_symbols,
    parse_timestamps,
)
from emp.domain.bars import BAR_COLUMNS, BarSeries
from emp.domain.errors import InvalidBars, InvalidConfiguration
from emp.ports.bar_source import MalformedBarFile, SymbolNotFound

#: File suffixes (lower-cased) and the format each one means.
FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class CsvParquetBarSource:
    """A :class:`~emp.ports.bar_source.BarSourcePort` reading one ``.csv`` or ``.parquet`` file.

    Columns are matched case-insensitively: a timestamp column named ``timestamp``, ``ts``,
    ``date`` or ``datetime``; ``open``, ``high``, ``low``, ``close``, ``volume``; and an
    optional ``symbol`` column. Without one, every row belongs to ``default_symbol`` or, if
    that is not given, to the file's stem upper-cased (``spy.csv`` holds ``SPY``). Other
    columns are ignored.

    Timestamps: zone-aware values are converted to UTC and naive values are taken to be
    UTC; text must be ISO 8601; numbers are refused (their unit is unknowable).

    The file is never repaired: rows are neither sorted, de-duplicated, dropped nor
    filled. Each symbol's rows, in file order, go through :meth:`BarSeries.from_arrays`, so
    NaN or non-positive prices and non-increasing timestamps raise
    :class:`~emp.domain.errors.InvalidBars` prefixed with the file's path. A file that
    cannot be read as bars (not found, unknown suffix, missing columns, unparsable
    values) raises :class:`~emp.ports.bar_source.MalformedBarFile`. The file is read on
    every :meth:`load`, never in the constructor.
    """

    def __init__(self, path: str | Path, *, default_symbol: str | None = None) -> None:
        self._path = Path(path)
        suffix = self._path.suffix.lower()
        if suffix not in FORMATS:
            raise MalformedBarFile(
                f"{self._path}: expected a file ending in {', '.join(FORMATS)}, "
                f"was {suffix or 'no suffix'!r}"
            )
        if default_symbol is not None and not default_symbol.strip():
            raise InvalidConfiguration("default_symbol must be a non-empty string when given")
        self._format = FORMATS[suffix]
        self._default_symbol = default_symbol or self._path.stem.upper()

    @property
    def path(self) -> Path:
        return self._path

    def describe(self) -> str:
        return f"{self._format}:{self._path.resolve()}"

    def load(self, symbols: Sequence[str] | None = None) -> dict[str, BarSeries]:
        """Validated bars of ``symbols`` (every symbol in file order when ``None``)."""
        frame = self._read()
        where = str(self._path)
        row_name = RowNamer(header_lines=1 if self._format == "csv" else 0)
        if frame.shape[0] == 0:
            raise MalformedBarFile(f"{where}: expected bars, the file has no rows")
        columns = locate_columns(frame, where)
        ts_ns = parse_timestamps(frame[columns.timestamp], where, row_name)
        values = {
            name: parse_numbers(frame[column], where, row_name)
            for name, column in columns.prices.items()
        }
        if columns.symbol is None:
            row_symbols = np.full(frame.shape[0], self._default_symbol, dtype=object)
        else:
            row_symbols = parse_symbols(frame[columns.symbol], where, row_name)
        available = list(dict.fromkeys(row_symbols.tolist()))
        wanted = available if symbols is None else list(dict.fromkeys(symbols))
        known = set(available)
        missing = [symbol for symbol in wanted if symbol not in known]
        if missing:
            raise SymbolNotFound(
                f"{where}: no bars for {', '.join(missing)}; the file has: {', '.join(available)}"
            )
        return {
            symbol: self._series(symbol, row_symbols == symbol, ts_ns, values, len(available))
            for symbol in wanted
        }

    def _series(
        self,
        symbol: str,
        rows: np.ndarray,
        ts_ns: np.ndarray,
        values: dict[str, np.ndarray],
        n_symbols: int,
    ) -> BarSeries:
        try:
            return BarSeries.from_arrays(
                symbol, ts_ns[rows], *(values[name][rows] for name in BAR_COLUMNS)
            )
        except InvalidBars as error:
            note = " (rows counted among that symbol's rows, in file order)"
            raise InvalidBars(f"{self._path}: {error}{note if n_symbols > 1 else ''}") from error

    def _read(self) -> pd.DataFrame:
        if not self._path.exists():
            raise MalformedBarFile(f"{self._path}: bar file not found")
        if not self._path.is_file():
            raise MalformedBarFile(f"{self._path}: expected a bar file, was not a regular file")
        try:
            if self._format == "csv":
                # Every cell as text: no guessed types, no "NA" symbols turned into NaN.
                return pd.read_csv(self._path, dtype=str, keep_default_na=False)
            return pd.read_parquet(self._path)
        except (OSError, ValueError) as error:  # pandas' and pyarrow's parse errors
            raise MalformedBarFile(
                f"{self._path}: cannot be read as {self._format}: {error}"
            ) from error
