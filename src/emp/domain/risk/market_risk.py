"""Return histories in, betas, volatilities and VaR inputs out, kept as rolling windows.

The domain holds no data store: the caller passes a :class:`ReturnHistory` whenever it
changes. A history cut from an append-only stream says so (``origin``, ``end``); the
:class:`MarketRiskModel` built from an earlier cut of the same stream then takes only the
new rows (:meth:`MarketRiskModel.advance`), O(symbols) per row, instead of recomputing
the window: the rows live in a fixed ring, and the per-symbol sums behind the volatilities
and betas are rolling sums, recomputed exactly from the ring once per ``window`` rows so
rounding never accumulates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from emp.domain.errors import InvalidConfiguration

#: A benchmark variance at or below this fraction of its sum of squares counts as zero
#: (a constant benchmark: no betas). Rolling sums leave ~1e-16 relative noise behind.
_FLAT_BENCHMARK = 1e-12


#: The last symbols tuple found free of duplicates (a rolling window hands out the same
#: tuple every bar: checking it once is enough).
_CHECKED_UNIQUE: list[tuple[str, ...]] = [()]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ReturnHistory:
    """Per-period simple returns, oldest row first.

    Attributes:
        symbols: the column names of ``returns``.
        returns: shape ``(T, len(symbols))``; NaN (no price that period) counts as 0.
        benchmark: shape ``(T,)``, the USD benchmark's returns over the same periods; betas
            are measured against it. ``None``: no betas (every symbol then counts as beta 1).
        origin: the append-only stream these rows were cut from (any object, compared by
            identity), or ``None``. Two histories of the same origin hold the rows of that
            stream up to their ``end``, so a model may take only the new ones.
        end: how many rows the stream held when this history was cut (the last row of
            ``returns`` is row ``end - 1``); meaningful only with ``origin``.
    """

    symbols: tuple[str, ...]
    returns: np.ndarray
    benchmark: np.ndarray | None = None
    origin: object | None = None
    end: int = 0

    def __post_init__(self) -> None:
        returns = np.asarray(self.returns)
        if returns.ndim != 2 or returns.shape[1] != len(self.symbols):
            raise InvalidConfiguration(
                f"returns must have shape (T, {len(self.symbols)}), was {returns.shape}"
            )
        if self.symbols is not _CHECKED_UNIQUE[0]:  # a rolling window passes one tuple
            if len(set(self.symbols)) != len(self.symbols):
                raise InvalidConfiguration("return history names a symbol twice")
            _CHECKED_UNIQUE[0] = self.symbols
        if self.benchmark is not None:
            bench = np.asarray(self.benchmark)
            if bench.shape != (returns.shape[0],):
                raise InvalidConfiguration(
                    f"benchmark must have shape ({returns.shape[0]},), was {bench.shape}"
                )
        if self.origin is not None and self.end < returns.shape[0]:
            raise InvalidConfiguration(
                f"a history of {returns.shape[0]} rows must end at row >= {returns.shape[0]}, "
                f"was {self.end}"
            )


class MarketRiskModel:
    """The last ``window`` periods of a return stream, ready for VaR, volatility and beta.

    Rows are kept in a ring: :attr:`returns` holds the window's rows in ring order (not
    time order), which is all VaR and the moments need. Per symbol the model keeps the
    rolling sums of ``r``, ``r²`` and ``r × benchmark``; :attr:`volatilities` (ddof 1, as
    the covariance) and :attr:`betas` come from them. :attr:`max_abs_returns` is an upper
    bound of each symbol's largest |return| in the window (the maximum over the current
    and the previous block of ``window`` rows), which is what the VaR book's drift bounds
    need. The covariance matrix is computed on first use only (nothing in the check path
    needs it: see :mod:`emp.domain.risk.var_book`).
    """

    def __init__(self, history: ReturnHistory, *, window: int = 250) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 2:
            raise InvalidConfiguration(f"VaR window must be an integer >= 2, was {window!r}")
        data = np.nan_to_num(np.asarray(history.returns, dtype=np.float64)[-window:])
        self.symbols: tuple[str, ...] = tuple(history.symbols)
        self.index: dict[str, int] = {s: i for i, s in enumerate(self.symbols)}
        self.window = window
        n = len(self.symbols)
        #: (window, n), column-contiguous so one symbol's history is one cheap slice.
        self._ring = np.zeros((window, n), order="F")
        self._bench = np.zeros(window)
        self._terms = np.zeros((window, 3, n))
        self._has_benchmark = history.benchmark is not None
        rows = data.shape[0]
        self._ring[:rows] = data
        if self._has_benchmark:
            bench = np.asarray(history.benchmark, dtype=np.float64)[-window:]
            self._bench[:rows] = np.nan_to_num(bench)
        self.observations = rows
        self._slot = rows % window
        self.origin = history.origin
        self.end = history.end
        self._pushed = 0
        self._block_max = np.zeros(n)
        self._previous_block_max = np.zeros(n)
        self._covariance: np.ndarray | None = None
        self._derived_ok = self._betas_ok = False
        self._resync()

    # ------------------------------------------------------------------ window
    @property
    def returns(self) -> np.ndarray:
        """The window's rows, shape ``(observations, n)``, in ring order."""
        return self._ring[: self.observations]

    @property
    def benchmark(self) -> np.ndarray | None:
        return self._bench[: self.observations] if self._has_benchmark else None

    def advance(self, history: ReturnHistory) -> tuple[int, ...] | None:
        """Take the rows of ``history`` this model has not seen; the ring slots written.

        ``None`` when ``history`` is not a later cut of this model's stream (another
        origin, other symbols, rows missing between the two cuts): build a new model.
        """
        if self.origin is None or history.origin is not self.origin:
            return None
        if history.symbols is not self.symbols and history.symbols != self.symbols:
            return None
        if (history.benchmark is not None) != self._has_benchmark:
            return None
        new = history.end - self.end
        rows = np.asarray(history.returns)
        if new < 0:
            return None
        if new > rows.shape[0]:
            if rows.shape[0] < self.window:  # rows this model never saw are not in the cut
                return None
            new = rows.shape[0]  # the cut replaces the whole window
        if new == 0:
            return ()
        fresh = np.asarray(rows[rows.shape[0] - new :], dtype=np.float64)
        if np.isnan(fresh).any():
            fresh = np.where(np.isnan(fresh), 0.0, fresh)  # NaN (no price) counts as 0
        bench = [0.0] * new
        if self._has_benchmark:
            bench = np.asarray(history.benchmark, dtype=np.float64)[-new:].tolist()
            bench = [0.0 if b != b else b for b in bench]  # NaN counts as 0
        slots = []
        for i in range(max(0, new - self.window), new):
            slots.append(self._push(fresh[i], bench[i]))
        self.end = history.end
        return tuple(slots)

    def _push(self, row: np.ndarray, bench: float) -> int:
        slot = self._slot
        terms = self._terms[slot]  # this slot's (r, r², r × benchmark)
        if self.observations == self.window:
            self._moments -= terms
            old_bench = float(self._bench[slot])
            self._sb -= old_bench
            self._sbb -= old_bench * old_bench
        else:
            self.observations += 1
        terms[0] = row
        np.multiply(row, row, out=terms[1])
        np.multiply(row, bench, out=terms[2])
        self._moments += terms
        self._ring[slot] = row
        self._bench[slot] = bench
        self._sb += bench
        self._sbb += bench * bench
        np.maximum(self._block_max, np.abs(row), out=self._block_max)
        self._slot = (slot + 1) % self.window
        self._pushed += 1
        self._covariance = None
        self._derived_ok = self._betas_ok = False
        if self._pushed % self.window == 0:
            self._resync()
        return slot

    def _resync(self) -> None:
        """Recompute the sums and the |return| bound from the ring, exactly."""
        t = self.observations
        data = self._ring[:t]
        bench = self._bench[:t]
        terms = self._terms[:t]
        terms[:, 0, :] = data
        terms[:, 1, :] = data * data
        terms[:, 2, :] = data * bench[:, None]
        #: Per symbol, the window's sums of r, r² and r × benchmark (rows 0, 1, 2).
        self._moments = terms.sum(axis=0)
        self._sb = float(bench.sum())
        self._sbb = float(bench @ bench)
        self._previous_block_max = np.abs(data).max(axis=0, initial=0.0)
        self._block_max = np.zeros(len(self.symbols))
        self._derived_ok = self._betas_ok = False

    # ---------------------------------------------------------------- measures
    def _derive(self) -> None:
        t = self.observations
        n = len(self.symbols)
        bound = np.maximum(self._previous_block_max, self._block_max)
        self._max_abs: list[float] = bound.tolist()
        if t >= 2:
            s1, s2 = self._moments[0], self._moments[1]
            variance = np.maximum((s2 - s1 * s1 / t) / (t - 1), 0.0)
            self._volatilities: list[float] = np.sqrt(variance).tolist()
        else:
            self._volatilities = [0.0] * n
        self._derived_ok = True

    def _derive_betas(self) -> None:
        t = self.observations
        self._beta_list: list[float] | None = None
        if self._has_benchmark and t >= 2:
            bench_var = self._sbb - self._sb * self._sb / t
            if bench_var > _FLAT_BENCHMARK * self._sbb:
                s1, sxb = self._moments[0], self._moments[2]
                self._beta_list = ((sxb - s1 * self._sb / t) / bench_var).tolist()
        self._betas: dict[str, float] | None = None
        self._betas_ok = True

    @property
    def max_abs_returns(self) -> list[float]:
        """Per symbol, an upper bound of its largest |return| in the window."""
        if not self._derived_ok:
            self._derive()
        return self._max_abs

    @property
    def volatilities(self) -> list[float]:
        """Per symbol, the standard deviation of its returns in the window (ddof 1)."""
        if not self._derived_ok:
            self._derive()
        return self._volatilities

    @property
    def beta_list(self) -> list[float] | None:
        """Per symbol (in :attr:`symbols` order), its beta; ``None`` without betas."""
        if not self._betas_ok:
            self._derive_betas()
        return self._beta_list

    @property
    def betas(self) -> dict[str, float]:
        """Symbol → beta against the benchmark (empty without a benchmark)."""
        if not self._betas_ok:
            self._derive_betas()
        if self._betas is None:
            betas = self._beta_list
            self._betas = {} if betas is None else dict(zip(self.symbols, betas, strict=True))
        return self._betas

    @property
    def covariance(self) -> np.ndarray:
        if self._covariance is None:
            if self.observations < 2:
                self._covariance = np.zeros((len(self.symbols), len(self.symbols)))
            else:
                self._covariance = np.atleast_2d(np.cov(self.returns, rowvar=False))
        return self._covariance

    def beta(self, symbol: str, default: float = 1.0) -> float:
        betas = self.beta_list
        j = self.index.get(symbol)
        return default if betas is None or j is None else betas[j]


def z_score(confidence: float) -> float:
    """The one-sided normal quantile for ``confidence`` (0.99 → 2.326...)."""
    check_confidence(confidence)
    return NormalDist().inv_cdf(confidence)


def check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, float | int) and 0.5 < confidence < 1.0):
        raise InvalidConfiguration(f"VaR confidence must be in (0.5, 1), was {confidence!r}")


def tail_index(observations: int, confidence: float) -> int:
    """The index, in ascending order, of the P&L that is the historical VaR: the
    ``ceil(T × (1 - confidence))``-th worst period (100 periods at 99 %: the worst one)."""
    return max(0, math.ceil(observations * (1.0 - confidence) - 1e-9) - 1)


def historical_var(pnl: np.ndarray, confidence: float, horizon: int = 1) -> float:
    """The loss not exceeded with ``confidence`` over the periods of ``pnl`` (>= 0).

    Empirical quantile of the P&L a portfolio would have had over the window, scaled by
    ``sqrt(horizon)`` for multi-period horizons.
    """
    if pnl.shape[0] == 0:
        return 0.0
    k = tail_index(pnl.shape[0], confidence)
    loss = -float(np.partition(pnl, k)[k])
    return max(loss, 0.0) * math.sqrt(horizon)


def parametric_var(variance: float, confidence: float, horizon: int = 1) -> float:
    """Zero-mean normal VaR: ``z * sigma * sqrt(horizon)``."""
    return z_score(confidence) * math.sqrt(max(variance, 0.0) * horizon)
