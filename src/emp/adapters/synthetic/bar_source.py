"""RegimeSwitchingBarSource: correlated daily bars driven by a hidden Markov market regime."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emp.adapters.synthetic.regimes import (
    DAILY_DRIFT,
    DAILY_VOLATILITY,
    REGIME_NAMES,
    VOLUME_FACTOR,
    simulate_regimes,
)
from emp.domain.bars import BarSeries
from emp.domain.errors import InvalidConfiguration
from emp.ports.bar_source import SymbolNotFound

_LAST_NS_DAY = np.datetime64("2262-04-10", "D")  # the last whole day int64 ns can hold

# Shape of the model, as shares of the regime's daily volatility.
_GAP_SHARE = 0.3  # part of the close-to-close return that happens overnight
_GAP_NOISE = 0.2  # extra overnight noise, cancelled by the session's return
_RANGE = 0.5  # scale of the high/low excursion beyond the open and close
_VOLUME_NOISE = 0.25  # sigma of log volume
_VOLUME_PER_MOVE = 8.0  # log-volume added per unit of absolute return


@dataclass(frozen=True, slots=True)
class _Generated:
    ts_ns: np.ndarray
    regimes: np.ndarray
    ohlcv: dict[str, tuple[np.ndarray, ...]]


class RegimeSwitchingBarSource:
    """A :class:`~emp.ports.bar_source.BarSourcePort` generating daily bars from a seed.

    A hidden Markov chain of market regimes (bull, sideways, bear, crisis; see
    :mod:`emp.adapters.synthetic.regimes`) is shared by every symbol and sets each day's
    drift, volatility and volume level. A symbol's daily log return is ``beta`` times a
    common market factor plus idiosyncratic noise, so symbols are positively correlated.
    Part of each return happens overnight: the open gaps away from the previous close.
    High and low extend beyond the open and close, prices are whole ticks (never below one
    tick) and volume is lognormal, higher in volatile regimes and on large moves.

    Bars are timestamped at 00:00 UTC of each business day (Monday to Friday, no holidays)
    from ``start``, or the first business day after it. All randomness comes from
    ``numpy.random.default_rng(seed)``: the same arguments give bit-identical bars.
    Arguments are checked in the constructor (:class:`InvalidConfiguration`); the bars are
    generated on first use.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        n_bars: int = 756,
        seed: int = 42,
        start: dt.date = dt.date(2020, 1, 2),
        initial_price: float = 100.0,
        tick_size: float = 0.01,
    ) -> None:
        self._symbols = _checked_symbols(symbols)
        if isinstance(n_bars, bool) or not isinstance(n_bars, int) or n_bars < 2:
            raise InvalidConfiguration(f"n_bars must be an integer >= 2, was {n_bars!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InvalidConfiguration(f"seed must be an integer >= 0, was {seed!r}")
        if not isinstance(start, dt.date):
            raise InvalidConfiguration(f"start must be a date, was {start!r}")
        for name, value in (("initial_price", initial_price), ("tick_size", tick_size)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InvalidConfiguration(f"{name} must be a finite number > 0, was {value!r}")
        if initial_price < tick_size:
            raise InvalidConfiguration(
                f"initial_price must be at least one tick ({tick_size}), was {initial_price}"
            )
        self._first_day = np.busday_offset(
            np.datetime64(dt.date(start.year, start.month, start.day), "D"), 0, roll="forward"
        )
        if np.busday_offset(self._first_day, n_bars - 1) > _LAST_NS_DAY:
            raise InvalidConfiguration(
                f"{n_bars} business days from {start} run past {_LAST_NS_DAY}, "
                "the last day a nanosecond timestamp can hold"
            )
        self._n_bars = n_bars
        self._seed = seed
        self._start = start
        self._initial_price = float(initial_price)
        self._tick_size = float(tick_size)
        self._generated: _Generated | None = None

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    def describe(self) -> str:
        return (
            f"synthetic:regime-switching(symbols={','.join(self._symbols)}, "
            f"n_bars={self._n_bars}, seed={self._seed}, start={self._start.isoformat()}, "
            f"initial_price={self._initial_price}, tick_size={self._tick_size})"
        )

    def load(self, symbols: Sequence[str] | None = None) -> dict[str, BarSeries]:
        """Validated bars of ``symbols`` (all generated symbols when ``None``)."""
        wanted = self._symbols if symbols is None else tuple(dict.fromkeys(symbols))
        missing = [symbol for symbol in wanted if symbol not in self._symbols]
        if missing:
            raise SymbolNotFound(
                f"the synthetic source has no {', '.join(missing)}; "
                f"it generates: {', '.join(self._symbols)}"
            )
        generated = self._generate()
        return {
            symbol: BarSeries.from_arrays(
                symbol, generated.ts_ns.copy(), *(a.copy() for a in generated.ohlcv[symbol])
            )
            for symbol in wanted
        }

    def regime_labels(self) -> tuple[np.ndarray, list[str]]:
        """Each bar's timestamp (int64 ns) and the name of the hidden regime on that day."""
        generated = self._generate()
        return generated.ts_ns.copy(), [REGIME_NAMES[i] for i in generated.regimes]

    # ------------------------------------------------------------- generation
    def _generate(self) -> _Generated:
        if self._generated is None:
            self._generated = self._simulate()
        return self._generated

    def _simulate(self) -> _Generated:
        rng = np.random.default_rng(self._seed)
        n, k = self._n_bars, len(self._symbols)
        regimes = simulate_regimes(rng, n)
        betas = rng.uniform(0.7, 1.3, size=(k, 1))
        idio_scale = rng.uniform(0.4, 0.8, size=(k, 1))
        base_volume = rng.uniform(0.5e6, 2.0e6, size=(k, 1))
        sigma = DAILY_VOLATILITY[regimes]
        market = DAILY_DRIFT[regimes] + sigma * rng.standard_normal(n)
        returns = betas * market + idio_scale * sigma * rng.standard_normal((k, n))
        gaps = _GAP_SHARE * returns + _GAP_NOISE * sigma * rng.standard_normal((k, n))
        log_close = np.log(self._initial_price) + np.cumsum(returns, axis=1)
        log_prev_close = np.concatenate(
            [np.full((k, 1), np.log(self._initial_price)), log_close[:, :-1]], axis=1
        )
        log_open = log_prev_close + gaps
        up = np.abs(rng.standard_normal((k, n))) * _RANGE * sigma
        down = np.abs(rng.standard_normal((k, n))) * _RANGE * sigma
        log_high = np.maximum(log_open, log_close) + up
        log_low = np.minimum(log_open, log_close) - down
        log_volume = (
            np.log(base_volume * VOLUME_FACTOR[regimes])
            + _VOLUME_PER_MOVE * np.abs(returns)
            + _VOLUME_NOISE * rng.standard_normal((k, n))
            - 0.5 * _VOLUME_NOISE**2
        )
        volume = np.rint(np.exp(log_volume))
        ticks = _to_ticks(log_open, log_high, log_low, log_close, self._tick_size)
        decimals = _tick_decimals(self._tick_size)
        prices = [np.round(t * self._tick_size, decimals) for t in ticks]
        days = np.busday_offset(self._first_day, np.arange(n))
        ts_ns = days.astype("datetime64[ns]").view(np.int64)
        ohlcv = {
            symbol: (*(p[i] for p in prices), volume[i]) for i, symbol in enumerate(self._symbols)
        }
        return _Generated(ts_ns=ts_ns, regimes=regimes, ohlcv=ohlcv)


def _to_ticks(
    log_open: np.ndarray,
    log_high: np.ndarray,
    log_low: np.ndarray,
    log_close: np.ndarray,
    tick: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole-tick open, high, low, close with ``1 <= low <= open, close <= high``."""
    open_ = np.maximum(np.rint(np.exp(log_open) / tick), 1.0)
    close = np.maximum(np.rint(np.exp(log_close) / tick), 1.0)
    high = np.maximum(np.ceil(np.exp(log_high) / tick), np.maximum(open_, close))
    low = np.clip(np.floor(np.exp(log_low) / tick), 1.0, np.minimum(open_, close))
    return open_, high, low, close


def _tick_decimals(tick: float) -> int:
    """The fewest decimals (at most 12) that write ``tick`` exactly enough."""
    for decimals in range(13):
        scaled = tick * 10**decimals
        if abs(scaled - round(scaled)) <= 1e-9 * max(1.0, scaled):
            return decimals
    return 12


def _checked_symbols(symbols: Sequence[str]) -> tuple[str, ...]:
    if isinstance(symbols, str):
        raise InvalidConfiguration(
            f"symbols must be a sequence of symbols, was the string {symbols!r}"
        )
    checked = tuple(symbols)
    if not checked:
        raise InvalidConfiguration("symbols must name at least one symbol")
    for symbol in checked:
        if not isinstance(symbol, str) or not symbol.strip():
            raise InvalidConfiguration(f"every symbol must be a non-empty string, was {symbol!r}")
    if len(set(checked)) != len(checked):
        duplicates = sorted({s for s in checked if checked.count(s) > 1})
        raise InvalidConfiguration(f"symbols must be unique; repeated: {', '.join(duplicates)}")
    return checked
