"""OpenBBBarSource: raw bars from the OpenBB Platform (``from openbb import obb``).

OpenBB is an optional extra, imported on the first fetch only (it pulls in over a hundred
packages, and its first import builds its static package). The adapter calls the
documented historical endpoints and reads their documented answer, an ``OBBject`` whose
``results`` is a list of data models:

- prices (``asset`` = ``equity``, ``etf``, ``index``, ``currency``, ``crypto``): the
  platform's ``obb.<asset>.price.historical`` (``obb.etf.historical`` for ETFs) or, when
  only the provider's extension is installed (``openbb-core`` + ``openbb-yfinance``), its
  own router ``obb.<provider>.<asset>.price.historical``; arguments ``symbol``,
  ``start_date``, ``end_date``, ``interval``, ``provider``. Each result has ``date``,
  ``open``, ``high``, ``low``, ``close``, ``volume`` (None or 0 for FX and indices), and
  with the yfinance provider ``split_ratio`` and ``dividend`` (0 where none);
- macro series (``asset`` = ``economy``): ``obb.economy.fred_series(symbol, start_date,
  end_date, provider)``, each result with ``date`` and the value under ``value`` or under
  the series id (``DGS10``); a value becomes a bar with open = high = low = close and
  volume 0.

``date`` is a date for daily data (stamped 00:00 UTC of that date, EMP's convention) or a
datetime for intraday data: time-zone-aware ones are converted to UTC and dated in their
own zone; naive ones are read in ``timezone`` (UTC by default). The yfinance provider
hands out intraday times naive in the *exchange's* zone, so with it a naive intraday time
without ``timezone`` is an error, never a silently shifted bar. OpenBB's ``end_date`` is
inclusive, so ``[start, end)`` asks for ``end - 1 day``; rows outside the window are not
returned.

Failures: OpenBB answers every empty provider result with one ``EmptyDataError``; what
the provider logged meanwhile (see :mod:`emp.adapters.openbb.provider_log`) says whether
the symbol is unknown (:class:`~emp.ports.bar_source.SymbolNotFound`), the provider could
not be reached (retried with exponential backoff, then a
:class:`~emp.ports.bar_source.BarSourceError` saying so), the symbol has no prices at all
from ``start`` on (retried too: ``yfinance.download`` says the same when the chart
request itself failed, then an error saying both), or the range simply has no sessions
(no rows). A network failure (``OSError``, also as the cause of OpenBB's error) is
retried; every other failure is a :class:`~emp.ports.bar_source.BarSourceError` naming
the call and the cause. When retries run out after a failure to reach the provider, that
failure is the one raised.

Like the Yahoo adapter, this is market data only, under the FIX-only guard's named
exception; EMP imports no HTTP client here.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from emp.adapters.openbb.provider_log import (
    NO_PRICES,
    NO_ROWS_IN_RANGE,
    UNKNOWN_SYMBOL,
    UNREACHABLE,
    ProviderLog,
    read_empty_answer,
)
from emp.domain.bar_validation import RawBars
from emp.ports.bar_source import BarSourceError, SymbolNotFound

ASSETS: tuple[str, ...] = ("equity", "etf", "index", "currency", "crypto", "economy")
_EPOCH = dt.date(1970, 1, 1)
_NS_PER_DAY = 86_400_000_000_000
_INTRADAY_UNITS = ("m", "h")


class _Retryable(BarSourceError):
    """A failure another attempt may not have; retried."""


class _Unreachable(_Retryable):
    """A network failure; retried."""


def _field(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name)
    extra = getattr(row, "model_extra", None) or {}
    return getattr(row, name, extra.get(name))


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _zone(name: str | None) -> dt.tzinfo | None:
    if name is None:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BarSourceError(
            f"timezone expected an IANA zone like America/New_York, was {name!r}"
        ) from None


def _network_failure(error: BaseException) -> OSError | None:
    """The ``OSError`` in ``error``'s chain of causes (as a traceback shows it), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        if current.__cause__ is not None or current.__suppress_context__:
            current = current.__cause__
        else:
            current = current.__context__
    return None


def _is_empty_answer(error: Exception) -> bool:
    text = str(error).lower()
    return "empty" in type(error).__name__.lower() or "no results" in text


def _endpoint(app: Any, asset: str, provider: str) -> tuple[Callable[..., Any], str]:
    """The historical command for ``asset`` and its dotted name."""
    if asset == "economy":
        paths = [("economy", "fred_series")]
    else:
        paths = [(asset, "price", "historical"), (asset, "historical")]
    tried: list[str] = []
    for prefix in ((), (provider,)):
        for path in paths:
            node: Any = app
            for part in (*prefix, *path):
                node = getattr(node, part, None)
                if node is None:
                    break
            name = ".".join(("obb", *prefix, *path))
            if callable(node):
                return node, name
            tried.append(name)
    raise BarSourceError(
        f"the installed OpenBB has no historical {asset} command for provider {provider}: "
        f"expected one of {', '.join(tried)}; install the OpenBB extension that provides "
        f"it (openbb-{provider} for its own router)"
    )


class OpenBBBarSource:
    """A :class:`~emp.ports.raw_bar_source.RawBarSourcePort` on the OpenBB Platform.

    Args:
        asset: which family of endpoints (see :data:`ASSETS`).
        provider: the OpenBB data provider (``yfinance``, ``fmp``, ``fred``, ...).
        interval: the provider's interval (``1d``, ``1h``, ``1m``...); ignored for macro.
        adjusted: with the yfinance provider, ask for split- and dividend-adjusted prices
            (else split-adjusted only, Yahoo's own prices) for equities and ETFs.
        params: extra keyword arguments for the endpoint (provider specific).
        retries: retries of a call that could not reach the provider.
        backoff_s: the first retry's wait; it doubles each retry (at most 30 s).
        timezone: the IANA zone of naive intraday datetimes (default UTC; required for
            the yfinance provider's intraday bars, which come in the exchange's zone).
        obb: the ``obb`` application (default: ``from openbb import obb`` on first use).
        sleep: how to wait between retries.
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
        timezone: str | None = None,
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
        self._zone = _zone(timezone)
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

    def _arguments(self, symbol: str, start: dt.date, end: dt.date) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "symbol": symbol,
            "start_date": start.isoformat(),
            "end_date": (end - dt.timedelta(days=1)).isoformat(),
            "provider": self._provider,
        }
        if self._asset != "economy":
            arguments["interval"] = self._interval
            if self._provider == "yfinance" and self._asset in ("equity", "etf"):
                arguments["adjustment"] = (
                    "splits_and_dividends" if self._adjusted else "splits_only"
                )
        arguments.update(self._params)
        return arguments

    def _call(self, symbol: str, start: dt.date, end: dt.date) -> list[Any]:
        endpoint, name = _endpoint(self._app(), self._asset, self._provider)
        what = f"openbb {self._asset} {symbol} from {start} to {end}"
        try:
            with ProviderLog(self._provider) as log:
                answer = endpoint(**self._arguments(symbol, start, end))
        except Exception as error:
            return self._failed(error, log.messages, what, name, symbol, start)
        results = getattr(answer, "results", None)
        if results is None:
            raise BarSourceError(
                f"{what}: expected an OBBject with results, was {type(answer).__name__}"
            )
        return list(results)

    def _failed(
        self,
        error: Exception,
        logged: list[str],
        what: str,
        name: str,
        symbol: str,
        start: dt.date,
    ) -> list[Any]:
        """Rows (none) for a range without sessions; else the error, translated."""
        provider = self._provider
        network = _network_failure(error)
        if network is not None:
            unreachable = f"{what}: cannot reach the provider {provider}: {network}"
            raise _Unreachable(unreachable) from error
        text = " ".join(str(error).split())
        if _is_empty_answer(error):
            case, words = read_empty_answer(logged)
            if case == NO_ROWS_IN_RANGE:
                return []
            if case == UNREACHABLE:
                raise _Unreachable(
                    f"{what}: cannot reach the provider {provider}: {words}"
                ) from error
            if case == UNKNOWN_SYMBOL:
                raise SymbolNotFound(
                    f"{what}: the provider {provider} does not know {symbol!r}: {words}"
                ) from error
            if case == NO_PRICES:  # yfinance.download also says so when the request failed
                raise _Retryable(
                    f"{what}: the provider {provider} answered no prices of {symbol!r} from "
                    f"{start} on: either there are none, or the request failed (yfinance's "
                    f"download does not tell these apart): {words}"
                ) from error
            raise BarSourceError(
                f"{what}: {name} answered no results and {provider} logged: {words}"
            ) from error
        if "not found" in text.lower() or "invalid symbol" in text.lower():
            raise SymbolNotFound(f"{what}: {text}") from error
        failed = f"{what}: {name} failed with {type(error).__name__}: {text}"
        raise BarSourceError(failed) from error

    def fetch(self, symbol: str, start: dt.date, end: dt.date) -> RawBars:
        if end <= start:
            raise BarSourceError(f"end expected after start ({start}), was {end}")
        retrying = Retrying(
            stop=stop_after_attempt(1 + self._retries),
            wait=wait_exponential(multiplier=self._backoff_s, max=30),
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        unreachable: list[_Unreachable] = []
        results: list[Any] = []
        try:
            for attempt in retrying:
                with attempt:
                    try:
                        results = self._call(symbol, start, end)
                    except _Unreachable as error:
                        unreachable.append(error)
                        raise
        except _Retryable as error:
            if unreachable and unreachable[0] is not error:
                raise unreachable[0] from error  # the cause in words, not its aftermath
            raise
        return self._to_raw(symbol, results, start, end)

    def _stamp(self, value: Any, what: str) -> tuple[int, np.datetime64]:
        """``(ts_ns, session_day)`` of an OpenBB ``date`` value."""
        if isinstance(value, str):
            try:
                value = (
                    dt.datetime.fromisoformat(value)
                    if "T" in value or " " in value.strip()
                    else dt.date.fromisoformat(value)
                )
            except ValueError:
                raise BarSourceError(f"{what}: expected an ISO date, was {value!r}") from None
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=self._naive_zone(value, what))
            day = np.datetime64(value.date(), "D")
            delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
            ns = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000
            return ns, day
        if isinstance(value, dt.date):
            return (value - _EPOCH).days * _NS_PER_DAY, np.datetime64(value, "D")
        raise BarSourceError(f"{what}: expected a date or datetime, was {type(value).__name__}")

    def _naive_zone(self, value: dt.datetime, what: str) -> dt.tzinfo:
        if self._zone is not None:
            return self._zone
        if self._provider == "yfinance" and self._interval.endswith(_INTRADAY_UNITS):
            raise BarSourceError(
                f"{what}: the yfinance provider gives intraday times in the exchange's "
                f"time zone without naming it ({value.isoformat()}): expected "
                "timezone= (e.g. America/New_York), was none"
            )
        return dt.UTC

    def _to_raw(self, symbol: str, results: list[Any], start: dt.date, end: dt.date) -> RawBars:
        what = f"openbb {self._asset} {symbol}"
        stamps = [self._stamp(_field(row, "date"), what) for row in results]
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


def _series_value(row: Any, symbol: str) -> Any:
    value = _field(row, "value")
    return value if value is not None else _field(row, symbol)
