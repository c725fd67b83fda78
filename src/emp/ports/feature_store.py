"""FeatureStorePort: computed feature values per (feature name, symbol), kept by time.

A feature series is one feature of one symbol: strictly increasing UTC nanosecond
timestamps and one float64 value each. NaN is a value like any other ("not defined yet",
e.g. during a warm-up window): it is stored and read back as NaN, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from emp.domain.errors import EmpError
from emp.ports.store_errors import StoreError, StoreIntegrityError


class InvalidFeatureSeries(EmpError):
    """A feature series breaks an invariant (empty name, unordered timestamps, ...)."""


class FeatureNotFound(StoreError):
    """No stored values of a feature for a symbol (in the requested time range)."""


@dataclass(frozen=True, slots=True, eq=False)
class FeatureSeries:
    """The values of one feature for one symbol, in time order.

    Construct through :meth:`from_arrays`, which copies and validates the arrays
    (``ts_ns`` int64 strictly increasing, ``values`` float64 of the same length) and
    makes them read-only, so a ``FeatureSeries`` in hand is always well formed. A
    series may be empty (writing it writes nothing).
    """

    name: str
    symbol: str
    ts_ns: np.ndarray
    values: np.ndarray

    @classmethod
    def from_arrays(
        cls,
        name: str,
        symbol: str,
        ts_ns: Iterable[int] | np.ndarray,
        values: Iterable[float] | np.ndarray,
    ) -> FeatureSeries:
        where = f"feature {name!r} of {symbol!r}"
        if not isinstance(name, str) or not name:
            raise InvalidFeatureSeries(f"{where}: the name must be a non-empty string")
        if not isinstance(symbol, str) or not symbol:
            raise InvalidFeatureSeries(f"{where}: the symbol must be a non-empty string")
        try:
            ts = np.array(ts_ns, dtype=np.int64)
            vals = np.array(values, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as error:
            raise InvalidFeatureSeries(
                f"{where}: expected integer timestamps and float values: {error}"
            ) from None
        if ts.ndim != 1 or vals.ndim != 1:
            raise InvalidFeatureSeries(
                f"{where}: expected one-dimensional arrays, was {ts.ndim}-d timestamps "
                f"and {vals.ndim}-d values"
            )
        if ts.shape[0] != vals.shape[0]:
            raise InvalidFeatureSeries(
                f"{where}: expected as many values as timestamps ({ts.shape[0]}), "
                f"was {vals.shape[0]}"
            )
        if ts.shape[0] > 1:
            bad = np.flatnonzero(ts[1:] <= ts[:-1])
            if bad.size:
                row = int(bad[0]) + 1
                raise InvalidFeatureSeries(
                    f"{where}: row {row}: timestamps must be strictly increasing, "
                    f"was {int(ts[row])} after {int(ts[row - 1])}"
                )
        ts.flags.writeable = False
        vals.flags.writeable = False
        return cls(name=name, symbol=symbol, ts_ns=ts, values=vals)

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])


@dataclass(frozen=True, slots=True)
class FeatureCoverage:
    """What is stored of one feature for one symbol."""

    name: str
    symbol: str
    first_ns: int
    last_ns: int
    rows: int
    source: str


@runtime_checkable
class FeatureStorePort(Protocol):
    def write_features(self, series: Sequence[FeatureSeries], source: str) -> int:
        """Upsert every value (key: name, symbol, timestamp) atomically; return rows written.

        A value already stored at a timestamp is replaced, with its ``source``; values
        at other timestamps are kept. Two series for the same (name, symbol) in one call
        are refused. Raises :class:`~emp.ports.store_errors.StoreError`
        (:class:`~emp.ports.store_errors.StoreIntegrityError` for refused input); on
        error nothing is written.
        """
        ...

    def read_features(
        self,
        name: str,
        symbols: Sequence[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> dict[str, FeatureSeries]:
        """Feature ``name`` of each symbol with ``start_ns <= ts < end_ns``, in time order.

        Keys follow the order of ``symbols``. Raises :class:`FeatureNotFound` for a
        symbol with no values in the range, naming what the store does hold.
        """
        ...

    def feature_coverage(self) -> list[FeatureCoverage]:
        """First/last timestamp, rows and sources of every (name, symbol), in byte order."""
        ...


def check_feature_batch(series: Sequence[FeatureSeries], source: str) -> int:
    """Refuse what :meth:`FeatureStorePort.write_features` must refuse; return the rows.

    Shared by the adapters so that every store refuses the same input in the same words:
    an empty source, anything but a :class:`FeatureSeries`, or two series for one
    (name, symbol).
    """
    if not isinstance(source, str) or not source:
        raise StoreIntegrityError("refusing to write features: source must be non-empty")
    seen: set[tuple[str, str]] = set()
    rows = 0
    for item in series:
        if not isinstance(item, FeatureSeries):
            raise StoreIntegrityError(
                f"refusing to write features: expected a FeatureSeries, was {type(item).__name__}"
            )
        key = (item.name, item.symbol)
        if key in seen:
            raise StoreIntegrityError(
                f"refusing to write features: feature {item.name!r} of {item.symbol!r} "
                "was given twice in one write"
            )
        seen.add(key)
        rows += len(item)
    return rows


def feature_not_found_message(
    coverage: Sequence[FeatureCoverage],
    name: str,
    symbol: str,
    start_ns: int | None,
    end_ns: int | None,
) -> str:
    """Why ``read_features`` found nothing, naming what the store holds instead."""
    symbols = [entry.symbol for entry in coverage if entry.name == name]
    if not symbols:
        names = ", ".join(dict.fromkeys(entry.name for entry in coverage)) or "none"
        return f"no values stored for feature {name!r}; features stored: {names}"
    known = ", ".join(symbols)
    entry = next(
        (entry for entry in coverage if entry.name == name and entry.symbol == symbol), None
    )
    if entry is None:
        return f"no values of feature {name!r} stored for {symbol!r}; symbols with it: {known}"
    return (
        f"no values of feature {name!r} stored for {symbol!r} in [{start_ns}, {end_ns}); "
        f"it has {entry.rows} values from {entry.first_ns} to {entry.last_ns} ns"
    )
