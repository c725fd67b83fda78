"""Finding and parsing the columns of a bar file, naming the file, column and row of any fault.

Nothing here sorts, drops, fills or otherwise repairs data: a value is parsed as it is or the
file is refused. Missing prices (empty cells, ``NaN``) become NaN for the domain's
validation to refuse with :class:`~emp.domain.errors.InvalidBars`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emp.domain.bars import BAR_COLUMNS
from emp.ports.bar_source import MalformedBarFile

#: Accepted names of the timestamp column (case-insensitive).
TIMESTAMP_NAMES: tuple[str, ...] = ("timestamp", "ts", "date", "datetime")

#: Text a numeric cell may hold to mean "no value" (compared stripped, case-insensitive).
_MISSING_TEXT = frozenset({"", "nan"})

_FIRST_NS = pd.Timestamp.min.tz_localize("UTC")
_LAST_NS = pd.Timestamp.max.tz_localize("UTC")


@dataclass(frozen=True, slots=True)
class BarColumns:
    """The actual names, in the file, of the columns bars are read from."""

    timestamp: str
    symbol: str | None
    prices: dict[str, str]  # "open" ... "volume" -> name in the file


class RowNamer:
    """Says where a data row is: ``row 3`` or, for a CSV file, ``row 3 (line 5)``."""

    def __init__(self, *, header_lines: int) -> None:
        self._header_lines = header_lines

    def __call__(self, row: int) -> str:
        if self._header_lines:
            return f"row {row} (line {row + self._header_lines + 1})"
        return f"row {row}"


def locate_columns(frame: pd.DataFrame, where: str) -> BarColumns:
    """Match the frame's columns case-insensitively to the bar columns.

    Raises :class:`MalformedBarFile` naming every missing column, or a column that is
    present twice (e.g. ``Close`` and ``close``, or both ``date`` and ``timestamp``).
    """
    by_lower: dict[str, str] = {}
    for name in frame.columns:
        key = str(name).strip().lower()
        if key in by_lower:
            raise MalformedBarFile(
                f"{where}: columns {by_lower[key]!r} and {name!r} are the same column "
                "when case is ignored; expected each column once"
            )
        by_lower[key] = str(name)
    present_ts = [by_lower[name] for name in TIMESTAMP_NAMES if name in by_lower]
    missing: list[str] = []
    if not present_ts:
        missing.append(f"a timestamp column (one of {', '.join(TIMESTAMP_NAMES)})")
    elif len(present_ts) > 1:
        raise MalformedBarFile(
            f"{where}: expected one timestamp column, found {len(present_ts)}: "
            f"{', '.join(present_ts)}"
        )
    missing.extend(name for name in BAR_COLUMNS if name not in by_lower)
    if missing:
        found = ", ".join(str(name) for name in frame.columns) or "none"
        raise MalformedBarFile(
            f"{where}: missing columns: {'; '.join(missing)}; the file has columns: {found}"
        )
    return BarColumns(
        timestamp=present_ts[0],
        symbol=by_lower.get("symbol"),
        prices={name: by_lower[name] for name in BAR_COLUMNS},
    )


def parse_timestamps(column: pd.Series, where: str, row_name: RowNamer) -> np.ndarray:
    """UTC epoch nanoseconds (int64) of a timestamp column.

    Zone-aware values are converted to UTC; naive values (``2020-01-02`` or
    ``2020-01-02 09:30``) are taken to be UTC already. Text must be ISO 8601. Numbers are
    refused, since their unit (s, ms, ns) cannot be known.
    """
    name = column.name
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise MalformedBarFile(
            f"{where}: column {name!r}: expected dates or ISO-8601 date/time text, "
            f"was numbers of type {column.dtype}"
        )
    parsed = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise MalformedBarFile(
            f"{where}: column {name!r} {row_name(row)}: expected an ISO-8601 date/time, "
            f"was {column.iloc[row]!r}"
        )
    out_of_range = np.flatnonzero(((parsed < _FIRST_NS) | (parsed > _LAST_NS)).to_numpy())
    if out_of_range.size:
        row = int(out_of_range[0])
        raise MalformedBarFile(
            f"{where}: column {name!r} {row_name(row)}: expected a time between "
            f"{_FIRST_NS} and {_LAST_NS}, was {column.iloc[row]!r}"
        )
    naive_utc = parsed.dt.tz_localize(None).dt.as_unit("ns")
    return np.asarray(naive_utc.to_numpy(dtype="datetime64[ns]")).view(np.int64)


def parse_numbers(column: pd.Series, where: str, row_name: RowNamer) -> np.ndarray:
    """float64 values of a price or volume column; empty or ``NaN`` cells become NaN."""
    name = column.name
    if pd.api.types.is_bool_dtype(column):
        raise MalformedBarFile(f"{where}: column {name!r}: expected numbers, was booleans")
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(column, errors="coerce")
    text = column.astype("string").str.strip().str.lower()
    missing = column.isna() | text.isin(_MISSING_TEXT).fillna(False)
    bad = np.flatnonzero((values.isna() & ~missing).to_numpy(dtype=bool))
    if bad.size:
        row = int(bad[0])
        raise MalformedBarFile(
            f"{where}: column {name!r} {row_name(row)}: expected a number, was {column.iloc[row]!r}"
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def parse_symbols(column: pd.Series, where: str, row_name: RowNamer) -> np.ndarray:
    """The symbol of every row as an object array of ``str``; an empty symbol is refused."""
    text = column.astype("string")
    empty = np.flatnonzero((text.isna() | (text.str.strip() == "")).to_numpy(dtype=bool))
    if empty.size:
        raise MalformedBarFile(
            f"{where}: column {column.name!r} {row_name(int(empty[0]))}: "
            "expected a symbol, was empty"
        )
    return text.to_numpy(dtype=object)
