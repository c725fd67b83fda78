"""YFinanceFetcher: one call of ``yfinance.Ticker(symbol).history(...)``, bounded and translated.

yfinance is imported on the first fetch, never at import time. It is asked for the rows
exactly as Yahoo has them: ``auto_adjust=False`` (Close and Adj Close both kept),
``actions=True`` (dividends and splits), ``keepna=True`` (rows with missing values are
returned so EMP can quarantine them) and ``repair=False`` (no silent price repairs).

yfinance normally logs failures and returns an empty frame; the fetcher switches its
documented ``yf.config.debug.hide_exceptions`` off (process-wide, again before every call,
since another component may switch it back on) so failures raise, and translates them:

- network failures, rate limits (HTTP 429), Yahoo's "Will be right back" page, server
  errors and answers that are not JSON become :class:`SourceUnreachable` (the caller may
  retry);
- an unknown symbol (no time zone, Yahoo's "No data found, symbol may be delisted", a
  404) becomes :class:`~emp.ports.bar_source.SymbolNotFound`;
- another error Yahoo states in its answer (``chart.error``) a :class:`BarSourceError`
  naming it: never an empty frame, which would be cached as "no bars there";
- only an answer without bars and without an error (a range of holidays) is an empty
  frame. If yfinance nevertheless returns an empty frame after logging an error (its
  exceptions were hidden again meanwhile), that is an error too, with the logged text.

After any failure yfinance's in-memory cache of answers (it keeps every answer for a past
range for the life of the process, failed ones included) is emptied, or a retry would be
served the failed answer again instead of asking Yahoo.

Each call runs under a hard deadline in a daemon thread, because yfinance's own
``timeout`` does not cover its cookie and crumb requests: a dead or black-holed network
fails in ``timeout_s`` seconds instead of hanging.

This adapter is EMP's one exception to the FIX-only guard's HTTP ban: yfinance uses an
HTTP client internally for market data; EMP's code never imports an HTTP library.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from emp.ports.bar_source import BarSourceError, SymbolNotFound

INTERVALS: tuple[str, ...] = (
    "1m",
    "2m",
    "5m",
    "15m",
    "30m",
    "60m",
    "90m",
    "1h",
    "1d",
    "5d",
    "1wk",
    "1mo",
    "3mo",
)


class SourceUnreachable(BarSourceError):
    """The source did not answer (network down, timed out, rate limited); retrying may help."""


def is_intraday(interval: str) -> bool:
    return interval.endswith(("m", "h")) and not interval.endswith("mo")


def _run_with_deadline(work: Any, timeout_s: float, what: str) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as error:
            box["error"] = error

    worker = threading.Thread(target=target, name="emp-yahoo-fetch", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise SourceUnreachable(
            f"{what}: Yahoo Finance did not answer within {timeout_s:g} s; check the network "
            "(and any proxy), or use --offline to read the cache only"
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


class _LoggedErrors(logging.Handler):
    """The ERROR records yfinance logs from one thread (it logs failures it hides)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread:
            self.messages.append(" ".join(record.getMessage().split()))


class YFinanceFetcher:
    """Fetches raw history frames with yfinance (see the module docstring).

    Args:
        timeout_s: the hard deadline of one fetch, in seconds.
        tz_cache_dir: where yfinance keeps its time-zone cache (default: its own, under
            the user's home); set once per process, before the first fetch.
        session: the HTTP session yfinance uses (a ``curl_cffi.requests.Session``, as
            yfinance creates by default, or a ``requests.Session``); ``None`` lets
            yfinance make its own. yfinance keeps one session per process: a session
            given here stays in use by later fetches in the same process.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 20.0,
        tz_cache_dir: Path | None = None,
        session: Any = None,
    ) -> None:
        if not timeout_s > 0:
            raise BarSourceError(f"timeout_s expected > 0, was {timeout_s}")
        self._timeout_s = timeout_s
        self._tz_cache_dir = tz_cache_dir
        self._session = session
        self._yf: Any = None

    def _yfinance(self) -> Any:
        if self._yf is None:
            try:
                import yfinance
            except ImportError as error:
                raise BarSourceError(
                    "the Yahoo adapter needs yfinance: pip install 'emp-framework[yahoo]'"
                ) from error
            yfinance.config.debug.hide_exceptions = False
            if self._tz_cache_dir is not None:
                self._tz_cache_dir.mkdir(parents=True, exist_ok=True)
                yfinance.set_tz_cache_location(str(self._tz_cache_dir))
            self._yf = yfinance
        return self._yf

    def history(self, symbol: str, start: dt.date, end: dt.date, interval: str) -> pd.DataFrame:
        """Yahoo's rows for ``symbol`` from ``start`` (inclusive) to ``end`` (exclusive)."""
        if interval not in INTERVALS:
            raise BarSourceError(
                f"interval expected one of {', '.join(INTERVALS)}, was {interval!r}"
            )
        yf = self._yfinance()
        yf.config.debug.hide_exceptions = False  # again: another component may reset it
        what = f"fetching {symbol} {interval} bars from {start} to {end}"

        def work() -> tuple[Any, list[str]]:
            logged = _LoggedErrors()
            logger = logging.getLogger("yfinance")
            logger.addHandler(logged)
            try:
                frame = yf.Ticker(symbol, session=self._session).history(
                    start=start.isoformat(),
                    end=end.isoformat(),
                    interval=interval,
                    auto_adjust=False,
                    actions=True,
                    keepna=True,
                    repair=False,
                    timeout=self._timeout_s,
                )
            finally:
                logger.removeHandler(logged)
            return frame, logged.messages

        try:
            frame, logged = _run_with_deadline(work, self._timeout_s, what)
        except BarSourceError:
            raise
        except Exception as error:
            translated = self._translate(error, symbol, what)
            if isinstance(translated, _NoPrices):
                return pd.DataFrame()
            self._forget_answers()  # the next request for this range must reach Yahoo
            raise translated from error
        if not isinstance(frame, pd.DataFrame):
            raise BarSourceError(f"{what}: expected a DataFrame from yfinance, was {type(frame)}")
        if frame.empty and logged:
            self._forget_answers()
            raise BarSourceError(
                f"{what}: yfinance returned no rows and logged the failure instead of raising "
                f"it ({'; '.join(logged)})"
            )
        return frame

    def _forget_answers(self) -> None:
        """Empty yfinance's in-memory cache of answers (``YfData.cache_get``).

        yfinance keeps every answer for a past range, failed ones included, for the life
        of the process; a retry of a failed request must reach Yahoo again.
        """
        data = getattr(self._yf, "data", None)
        cache_get = getattr(getattr(data, "YfData", None), "cache_get", None)
        clear = getattr(cache_get, "cache_clear", None)
        if callable(clear):
            clear()

    def _translate(self, error: Exception, symbol: str, what: str) -> BarSourceError:
        name = type(error).__name__
        text = " ".join(str(error).split())
        unknown = f"{what}: Yahoo Finance does not know {symbol!r}"
        if name == "YFRateLimitError":
            return SourceUnreachable(f"{what}: Yahoo Finance is rate limiting us: {text}")
        if name == "YFPricesMissingError":
            reason = getattr(error, "yahoo_reason", None)
            if reason is None:  # an answer without bars and without an error
                return _NoPrices(f"{what}: {text}")
            if "delisted" in reason.lower() or "not found" in reason.lower():
                return SymbolNotFound(f"{unknown}: {reason}")
            return BarSourceError(f"{what}: Yahoo Finance answered with an error: {reason}")
        if name in ("YFTzMissingError", "YFTickerMissingError"):
            return SymbolNotFound(f"{unknown}: {text}")
        if name == "YFDataException" and "DOWN" in text.upper():
            return SourceUnreachable(
                f"{what}: Yahoo Finance says it is down ({text}); try again later, or use "
                "--offline to read the cache only"
            )
        status = getattr(getattr(error, "response", None), "status_code", None)
        if "HTTPError" in name and isinstance(status, int):
            if status == 404:
                return SymbolNotFound(f"{unknown}: HTTP 404 ({text})")
            if status == 429 or status >= 500:
                return SourceUnreachable(f"{what}: Yahoo Finance answered HTTP {status}: {text}")
            return BarSourceError(f"{what}: Yahoo Finance answered HTTP {status}: {text}")
        if "JSONDecodeError" in name or "InvalidJSONError" in name:
            return SourceUnreachable(
                f"{what}: Yahoo Finance answered with something that is not its JSON "
                f"({name}: {text}); try again later"
            )
        if isinstance(error, OSError):  # requests' and curl_cffi's errors are OSErrors
            return SourceUnreachable(
                f"{what}: cannot reach Yahoo Finance ({name}: {text}); check the network, "
                "or use --offline to read the cache only"
            )
        return BarSourceError(f"{what}: yfinance failed with {name}: {text}")


class _NoPrices(BarSourceError):
    """Yahoo has no prices in the range (a holiday-only range); not an error for a fetch."""
