"""YahooCache: every row fetched from Yahoo, on disk, with the date ranges already fetched.

One Parquet file of normalized rows (:data:`~emp.adapters.yahoo.frames.COLUMNS`) and one
JSON manifest of fetched ``[start, end)`` session-date ranges per symbol and interval,
under ``<directory>/<interval>/``. A range in the manifest is never fetched again, even
when it holds no rows (a holiday), which is what makes re-runs and incremental updates
cheap and lets ``--offline`` work from the cache alone. Files are replaced atomically
(written aside, then renamed), so an interrupted run never leaves a half-written cache.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from emp.adapters.yahoo.frames import COLUMNS, empty_columns
from emp.ports.bar_source import BarSourceError

Range = tuple[dt.date, dt.date]


def merge_ranges(ranges: list[Range]) -> list[Range]:
    """Sorted, non-overlapping ranges covering the same dates (adjacent ones joined)."""
    merged: list[Range] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract_ranges(wanted: Range, covered: list[Range]) -> list[Range]:
    """The parts of ``wanted`` that no range of ``covered`` includes."""
    gaps: list[Range] = []
    cursor, end = wanted
    for c_start, c_end in merge_ranges(covered):
        if c_end <= cursor or c_start >= end:
            continue
        if c_start > cursor:
            gaps.append((cursor, c_start))
        cursor = max(cursor, c_end)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def _atomic_write(path: Path, write: object) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)  # type: ignore[operator]
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class YahooCache:
    """Fetched Yahoo rows and fetched ranges under ``directory`` (see the module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self._directory = Path(directory)

    @property
    def directory(self) -> Path:
        return self._directory

    def _paths(self, symbol: str, interval: str) -> tuple[Path, Path]:
        stem = quote(symbol, safe="")
        folder = self._directory / interval
        return folder / f"{stem}.parquet", folder / f"{stem}.json"

    def ranges(self, symbol: str, interval: str) -> list[Range]:
        """The fetched ``[start, end)`` ranges of ``symbol``, merged and sorted."""
        _, manifest = self._paths(symbol, interval)
        if not manifest.exists():
            return []
        try:
            text = json.loads(manifest.read_text())
            ranges = [(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for a, b in text]
        except (OSError, ValueError, TypeError) as error:
            raise BarSourceError(
                f"the Yahoo cache manifest {manifest} cannot be read: {error}; delete it to "
                "fetch again"
            ) from error
        return merge_ranges(ranges)

    def missing(self, symbol: str, interval: str, start: dt.date, end: dt.date) -> list[Range]:
        """The parts of ``[start, end)`` not fetched yet."""
        return subtract_ranges((start, end), self.ranges(symbol, interval))

    def load(
        self, symbol: str, interval: str, start: dt.date, end: dt.date
    ) -> dict[str, np.ndarray]:
        """The cached rows with session date in ``[start, end)``, in stored order."""
        data, _ = self._paths(symbol, interval)
        rows = self._read(data)
        days = rows["session_day"]
        keep = (days >= np.datetime64(start, "D")) & (days < np.datetime64(end, "D"))
        return {name: column[keep] for name, column in rows.items()}

    def store(
        self,
        symbol: str,
        interval: str,
        start: dt.date,
        end: dt.date,
        rows: dict[str, np.ndarray],
    ) -> int:
        """Record ``[start, end)`` as fetched with ``rows`` (those inside it); return them.

        Cached rows of that range are replaced; rows the vendor sent outside the range
        are not kept (they belong to another request).
        """
        data, manifest = self._paths(symbol, interval)
        data.parent.mkdir(parents=True, exist_ok=True)
        first, stop = np.datetime64(start, "D"), np.datetime64(end, "D")
        inside = (rows["session_day"] >= first) & (rows["session_day"] < stop)
        old = self._read(data)
        before = old["session_day"] < first
        after = old["session_day"] >= stop
        merged = {
            name: np.concatenate([old[name][before], rows[name][inside], old[name][after]])
            for name in COLUMNS
        }
        frame = pd.DataFrame(merged)
        _atomic_write(data, lambda path: frame.to_parquet(path, index=False))
        ranges = merge_ranges([*self.ranges(symbol, interval), (start, end)])
        payload = json.dumps([[a.isoformat(), b.isoformat()] for a, b in ranges])
        _atomic_write(manifest, lambda path: path.write_text(payload))
        return int(inside.sum())

    @staticmethod
    def _read(path: Path) -> dict[str, np.ndarray]:
        if not path.exists():
            return empty_columns()
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as error:
            raise BarSourceError(
                f"the Yahoo cache file {path} cannot be read: {error}; delete it to fetch again"
            ) from error
        return {
            name: np.asarray(frame[name].to_numpy(), dtype=dtype) for name, dtype in COLUMNS.items()
        }
