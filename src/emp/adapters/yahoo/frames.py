"""Yahoo history frames to EMP's rows, with time zones and adjustments made explicit.

A yfinance history frame (``Ticker.history(auto_adjust=False, actions=True)``) has a
time-zone-aware index in the exchange's zone (named ``Date`` for daily and longer bars,
``Datetime`` for intraday) and the columns ``Open High Low Close Adj Close Volume
Dividends Stock Splits`` (Yahoo sends no adjusted close for intraday bars: yfinance then
repeats ``Close`` as ``Adj Close``; a frame may also lack the column).

:func:`normalize` turns it into plain columns, keeping every row in the order given:

- ``session_day``: the exchange-local date of the bar (``datetime64[D]``);
- ``ts_ns``: for daily and longer bars, 00:00 UTC of the session date (EMP's convention,
  so the UTC date *is* the session date); for intraday bars, the bar's UTC open time;
- prices and volume as Yahoo gave them (Yahoo's ``Close`` is already split-adjusted,
  not dividend-adjusted), ``adj_close`` (NaN when absent), ``dividend`` (0 when none)
  and ``split_ratio`` (1 when none).

:func:`to_raw_bars` then builds :class:`~emp.domain.bar_validation.RawBars`: *adjusted*
multiplies open, high and low by ``Adj Close / Close`` and uses ``Adj Close`` as the
close (what yfinance's ``auto_adjust`` does), and a row without ``Adj Close`` gets NaN
prices (to be quarantined, not guessed) unless no row has one (intraday bars), in which
case the prices are used as given; *raw* uses the prices as given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emp.domain.bar_validation import RawBars
from emp.ports.bar_source import BarSourceError

#: The normalized columns, in order, and their dtypes.
COLUMNS: dict[str, str] = {
    "session_day": "datetime64[D]",
    "ts_ns": "int64",
    "open": "float64",
    "high": "float64",
    "low": "float64",
    "close": "float64",
    "adj_close": "float64",
    "volume": "float64",
    "dividend": "float64",
    "split_ratio": "float64",
}

_REQUIRED = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}


def empty_columns() -> dict[str, np.ndarray]:
    return {name: np.empty(0, dtype=dtype) for name, dtype in COLUMNS.items()}


def normalize(frame: pd.DataFrame, *, intraday: bool, what: str) -> dict[str, np.ndarray]:
    """Plain columns (see the module docstring) of a yfinance history frame."""
    if frame.shape[0] == 0:
        return empty_columns()
    missing = [name for name in _REQUIRED if name not in frame.columns]
    if missing:
        found = ", ".join(str(c) for c in frame.columns)
        raise BarSourceError(f"{what}: Yahoo's answer lacks {', '.join(missing)}; has: {found}")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise BarSourceError(
            f"{what}: expected a time-zone-aware DatetimeIndex from yfinance, was "
            f"{type(index).__name__} {getattr(index, 'dtype', '')}"
        )
    local = index.tz_localize(None)
    session_day = np.asarray(local.normalize().to_numpy(), dtype="datetime64[D]")
    if intraday:
        ts_ns = np.asarray(index.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8)
    else:
        ts_ns = session_day.astype("datetime64[ns]").view(np.int64)

    def column(name: str, default: float) -> np.ndarray:
        if name not in frame.columns:
            return np.full(frame.shape[0], default, dtype=np.float64)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float64, na_value=np.nan)

    split = column("Stock Splits", 0.0)
    dividend = column("Dividends", 0.0)
    out = {
        "session_day": session_day,
        "ts_ns": ts_ns.astype(np.int64),
        **{ours: column(theirs, np.nan) for theirs, ours in _REQUIRED.items()},
        "adj_close": column("Adj Close", np.nan),
        "dividend": np.where(np.isfinite(dividend), dividend, 0.0),
        "split_ratio": np.where(np.isfinite(split) & (split > 0), split, 1.0),
    }
    return {name: np.asarray(out[name], dtype=dtype) for name, dtype in COLUMNS.items()}


def to_raw_bars(symbol: str, rows: dict[str, np.ndarray], *, adjusted: bool) -> RawBars:
    """Raw bars of normalized ``rows``; adjusted ones scaled by ``Adj Close / Close``."""
    open_, high, low, close = rows["open"], rows["high"], rows["low"], rows["close"]
    if adjusted:
        adj = rows["adj_close"]
        has_adj = np.isfinite(adj)
        if has_adj.any() or adj.size == 0:
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(has_adj, adj / close, np.nan)
            open_, high, low, close = open_ * factor, high * factor, low * factor, adj
    return RawBars.from_arrays(
        symbol,
        rows["ts_ns"],
        open_,
        high,
        low,
        close,
        rows["volume"],
        session_day=rows["session_day"],
        split_ratio=rows["split_ratio"],
        dividend=rows["dividend"],
    )
