"""OpenBBBarSource: raw bars from the OpenBB Platform (``from openbb import obb``).

OpenBB is an optional extra, imported on the first fetch only (it pulls in hundreds of
packages). The adapter calls the documented historical endpoints and reads their
documented answer, an ``OBBject`` whose ``results`` is a list of data models:

- prices (``asset`` = ``equity``, ``etf``, ``index``, ``currency``, ``crypto``):
  ``obb.<asset>.price.historical(symbol, start_date, end_date, interval, provider)``,
  each result with ``date``, ``open``, ``high``, ``low``, ``close``, ``volume`` (None for
  FX and indices), and with the yfinance provider ``split_ratio`` and ``dividend``;
- macro series (``asset`` = ``economy``): ``obb.economy.fred_series(symbol, start_date,
  end_date, provider)``, each result with ``date`` and the value under ``value`` or under
  the series id (``DGS10``); a value becomes a bar with open = high = low = close and
  volume 0.

``date`` is a date for daily data (stamped 00:00 UTC of that date, EMP's convention) or a
datetime for intraday data (time-zone-aware ones converted to UTC and dated in their own
zone; naive ones taken as UTC). OpenBB's ``end_date`` is inclusive, so ``[start, end)``
asks for ``end - 1 day``; rows outside the window are not returned. Network failures
(``OSError``) are retried with exponential backoff; every other failure is a
:class:`~emp.ports.bar_source.BarSourceError` naming the call and the cause.

Like the Yahoo adapter, this is market data only, under the FIX-only guard's named
exception; EMP imports no HTTP client here.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from emp.domain.bar_validation import RawBars
from emp.ports.bar_source import BarSourceError, SymbolNotFound

ASSETS: tuple[str, ...] = ("equity", "etf", "index", "currency", "crypto", "economy")
_EPOCH = dt.date(1970, 1, 1)
_NS_PER_DAY = 86_400_000_000_000


class _Unreachable(BarSourceError):
    """A network failure; retried."""


def _field(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name)
    extra = getattr(row, "model_extra", None) or {}
    return getattr(row, name, extra.get(name))


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _stamp(value: Any, what: str) -> tuple[int, np.datetime64]:
    """``(ts_ns, session_day)`` of an OpenBB ``date`` value."""
    if isinstance(value, str):
        try:
            value = (
                dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
            )
        except ValueError:
            raise BarSourceError(f"{what}: expected an ISO date, was {value!r}") from None
    if isinstance(value, dt.datetime):
        day = np.datetime64(value.date(), "D")
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        delta = aware - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        ns = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000
        return ns, day
    if isinstance(value, dt.date):
        return (value - _EPOCH).days * _NS_PER_DAY, np.datetime64(value, "D")
    raise BarSourceError(f"{what}: expected a date or datetime, was {type(value).__name__}")


def _series_value(row: Any, symbol: str) -> Any:
    value = _field(row, "value")
    return value if value is not None else _field(row, symbol)


class OpenBBBarSource:
    """A :class:`~emp.ports.raw_bar_source.RawBarSourcePort` on the OpenBB Platform.

    Args:
        asset: which family of endpoints (see :data:`ASSETS`).
        provider: the OpenBB data provider (``yfinance``, ``fmp``, ``fred``, ...).
        interval: the provider's interval (``1d``, ``1h``, ``1m``...); ignored for macro.
        adjusted: with the yfinance provider, ask for split- and dividend-adjusted prices.
        params: extra keyword arguments for the endpoint (provider specific).
        obb: the ``obb`` application (default: ``from openbb import obb`` on first use).
    """

    def __init__(
        self,
        *,
        asset: str = "equity",
        provider: str = "yfinance",
        interval: str = "1d",
        adjusted: bool = True,
        params: Mapping[str, Any] | None = None,
        retries: int = 2,
        backoff_s: float = 1.0,
        obb: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if asset not in ASSETS:
            raise BarSourceError(f"asset expected one of {', '.join(ASSETS)}, was {asset!r}")
        self._asset = asset
        self._provider = provider
        self._interval = interval
        self._adjusted = adjusted
        self._params = dict(params or {})
        self._retries = retries
        self._backoff_s = backoff_s
        self._obb = obb
        self._sleep = sleep

    def describe(self) -> str:
        kind = "adjusted" if self._adjusted else "raw"
        if self._asset == "economy":
            return f"openbb:{self._provider}:economy"
        return f"openbb:{self._provider}:{self._asset}:{self._interval}:{kind}"

    def _app(self) -> Any:
        if self._obb is None:
            try:
                from openbb import obb
            except ImportError as error:
                raise BarSourceError(
                    "the OpenBB adapter needs the openbb package: pip install "
                    "'emp-framework[openbb]'"
                ) from error
            self._obb = obb
        return self._obb

    def _call(self, symbol: str, start: dt.date, end: dt.date) -> list[Any]:
        app = self._app()
        arguments: dict[str, Any] = {
            "symbol": symbol,
            "start_date": start.isoformat(),
            "end_date": (end - dt.timedelta(days=1)).isoformat(),
            "provider": self._provider,
        }
        if self._asset == "economy":
            endpoint = app.economy.fred_series
        else:
            endpoint = getattr(app, self._asset).price.historical
            arguments["interval"] = self._interval
            if self._provider == "yfinance" and self._asset in ("equity", "etf"):
                arguments["adjustment"] = (
                    "splits_and_dividends" if self._adjusted else "splits_only"
                )
        arguments.update(self._params)
        what = f"openbb {self._asset} {symbol} from {start} to {end}"
        try:
            answer = endpoint(**arguments)
        except OSError as error:
            raise _Unreachable(
                f"{what}: cannot reach the provider {self._provider}: {error}"
            ) from error
        except Exception as error:
            text = " ".join(str(error).split())
            if "empty" in type(error).__name__.lower() or "no results" in text.lower():
                return []
            if "not found" in text.lower() or "invalid symbol" in text.lower():
                raise SymbolNotFound(f"{what}: {text}") from error
            raise BarSourceError(
                f"{what}: OpenBB failed with {type(error).__name__}: {text}"
            ) from error
        results = getattr(answer, "results", None)
        if results is None:
            raise BarSourceError(
                f"{what}: expected an OBBject with results, was {type(answer).__name__}"
            )
        return list(results)

    def fetch(self, symbol: str, start: dt.date, end: dt.date) -> RawBars:
        if end <= start:
            raise BarSourceError(f"end expected after start ({start}), was {end}")
        retrying = Retrying(
            stop=stop_after_attempt(1 + self._retries),
            wait=wait_exponential(multiplier=self._backoff_s, max=30),
            retry=retry_if_exception_type(_Unreachable),
            sleep=self._sleep,
            reraise=True,
        )
        results: list[Any] = []
        for attempt in retrying:
            with attempt:
                results = self._call(symbol, start, end)
        return self._to_raw(symbol, results, start, end)

    def _to_raw(self, symbol: str, results: list[Any], start: dt.date, end: dt.date) -> RawBars:
        what = f"openbb {self._asset} {symbol}"
        stamps = [_stamp(_field(row, "date"), what) for row in results]
        ts = np.array([s[0] for s in stamps], dtype=np.int64)
        days = np.array([s[1] for s in stamps], dtype="datetime64[D]")
        if self._asset == "economy":
            values = np.array([_number(_series_value(r, symbol)) for r in results], np.float64)
            columns = [values, values, values, values, np.zeros(len(results))]
            extra: dict[str, np.ndarray] = {}
        else:
            columns = [
                np.array([_number(_field(r, name)) for r in results], dtype=np.float64)
                for name in ("open", "high", "low", "close")
            ]
            volume = [_field(r, "volume") for r in results]
            columns.append(np.array([0.0 if v is None else float(v) for v in volume], np.float64))
            split = np.array([_number(_field(r, "split_ratio")) for r in results], np.float64)
            dividend = np.array([_number(_field(r, "dividend")) for r in results], np.float64)
            extra = {
                "split_ratio": np.where(np.isfinite(split) & (split > 0), split, 1.0),
                "dividend": np.where(np.isfinite(dividend), dividend, 0.0),
            }
        inside = (days >= np.datetime64(start, "D")) & (days < np.datetime64(end, "D"))
        return RawBars.from_arrays(
            symbol,
            ts[inside],
            *(column[inside] for column in columns),
            session_day=days[inside],
            **{name: column[inside] for name, column in extra.items()},
        )
