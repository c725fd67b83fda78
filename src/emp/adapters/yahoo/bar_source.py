"""YahooBarSource: raw bars from Yahoo Finance, cached, rate limited and retried with backoff."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from emp.adapters.yahoo.cache import Range, YahooCache
from emp.adapters.yahoo.fetcher import INTERVALS, SourceUnreachable, YFinanceFetcher, is_intraday
from emp.adapters.yahoo.frames import COLUMNS, empty_columns, normalize, to_raw_bars
from emp.domain.bar_validation import RawBars
from emp.ports.bar_source import BarSourceError


class HistoryFetcher(Protocol):
    def history(self, symbol: str, start: dt.date, end: dt.date, interval: str) -> pd.DataFrame:
        """Yahoo's history frame for ``[start, end)`` (see :mod:`.frames`)."""
        ...


class YahooBarSource:
    """A :class:`~emp.ports.raw_bar_source.RawBarSourcePort` on Yahoo Finance (yfinance).

    ``fetch(symbol, start, end)`` returns every row Yahoo has with session date in
    ``[start, end)``, unvalidated. With a :class:`YahooCache`, only the parts of the range
    not fetched before are requested (incremental updates cost one small request), and
    ``offline`` serves from the cache alone, failing with the missing ranges named.
    Requests are spaced at least ``min_interval_s`` apart; a request that fails because
    Yahoo is unreachable, slow or rate limiting is retried ``retries`` times with
    exponential backoff (``backoff_s``, doubling, capped at 30 s); the last failure is
    raised as :class:`~emp.adapters.yahoo.fetcher.SourceUnreachable` naming the cause.

    Args:
        interval: a yfinance interval (``1d``, ``1h``, ``5m``, ...).
        adjusted: split- and dividend-adjusted prices (else Yahoo's ``Close``, which is
            split-adjusted only).
        cache: where fetched rows are kept; ``None`` fetches every time.
        offline: never touch the network (needs a cache).
        fetcher: what calls Yahoo (default :class:`YFinanceFetcher` with ``timeout_s`` and
            ``session``).
        session: the HTTP session the default fetcher hands yfinance (``None``: yfinance's
            own); see :class:`YFinanceFetcher`.
        sleep, monotonic: the clock used for spacing and backoff (injected in tests).
    """

    def __init__(
        self,
        *,
        interval: str = "1d",
        adjusted: bool = True,
        cache: YahooCache | None = None,
        offline: bool = False,
        fetcher: HistoryFetcher | None = None,
        session: Any = None,
        timeout_s: float = 20.0,
        retries: int = 2,
        backoff_s: float = 1.0,
        min_interval_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval not in INTERVALS:
            raise BarSourceError(
                f"interval expected one of {', '.join(INTERVALS)}, was {interval!r}"
            )
        if offline and cache is None:
            raise BarSourceError("offline mode reads the cache only, but no cache was given")
        if retries < 0 or backoff_s < 0 or min_interval_s < 0:
            raise BarSourceError(
                "retries, backoff_s and min_interval_s expected >= 0, were "
                f"{retries}, {backoff_s}, {min_interval_s}"
            )
        self._interval = interval
        self._adjusted = adjusted
        self._cache = cache
        self._offline = offline
        self._fetcher = fetcher or YFinanceFetcher(
            timeout_s=timeout_s,
            tz_cache_dir=None if cache is None else cache.directory / "tz",
            session=session,
        )
        self._retries = retries
        self._backoff_s = backoff_s
        self._min_interval_s = min_interval_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._last_request: float | None = None
        self.requests: list[tuple[str, dt.date, dt.date]] = []

    def describe(self) -> str:
        return f"yahoo:{self._interval}:{'adjusted' if self._adjusted else 'raw'}"

    def fetch(self, symbol: str, start: dt.date, end: dt.date) -> RawBars:
        if not symbol or not symbol.strip():
            raise BarSourceError("a Yahoo symbol must be non-empty")
        if end <= start:
            raise BarSourceError(f"end expected after start ({start}), was {end}")
        what = f"{symbol} {self._interval} bars from {start} to {end}"
        if self._cache is None:
            rows = self._normalized(symbol, (start, end))
        else:
            gaps = self._cache.missing(symbol, self._interval, start, end)
            if gaps and self._offline:
                listed = ", ".join(f"{a} to {b}" for a, b in gaps)
                raise BarSourceError(
                    f"offline: the Yahoo cache in {self._cache.directory} lacks {symbol} "
                    f"{self._interval} bars for {listed}; run without --offline to fetch them"
                )
            for gap in gaps:
                self._cache.store(symbol, self._interval, *gap, self._normalized(symbol, gap))
            rows = self._cache.load(symbol, self._interval, start, end)
        try:
            return to_raw_bars(symbol, rows, adjusted=self._adjusted)
        except Exception as error:  # a malformed answer must not pass as bars
            raise BarSourceError(f"{what}: {error}") from error

    # ----------------------------------------------------------------- helpers
    def _normalized(self, symbol: str, window: Range) -> dict[str, np.ndarray]:
        frame = self._request(symbol, window)
        what = f"{symbol} {self._interval} bars from {window[0]} to {window[1]}"
        rows = normalize(frame, intraday=is_intraday(self._interval), what=what)
        if not rows["ts_ns"].size:
            return empty_columns()
        first, stop = np.datetime64(window[0], "D"), np.datetime64(window[1], "D")
        inside = (rows["session_day"] >= first) & (rows["session_day"] < stop)
        return {name: rows[name][inside] for name in COLUMNS}

    def _request(self, symbol: str, window: Range) -> pd.DataFrame:
        retrying = Retrying(
            stop=stop_after_attempt(1 + self._retries),
            wait=wait_exponential(multiplier=self._backoff_s, max=30),
            retry=retry_if_exception_type(SourceUnreachable),
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self._space_requests()
                self.requests.append((symbol, *window))
                return self._fetcher.history(symbol, window[0], window[1], self._interval)
        raise AssertionError("unreachable")  # pragma: no cover

    def _space_requests(self) -> None:
        now = self._monotonic()
        if self._last_request is not None:
            wait = self._last_request + self._min_interval_s - now
            if wait > 0:
                self._sleep(wait)
                now += wait
        self._last_request = now
