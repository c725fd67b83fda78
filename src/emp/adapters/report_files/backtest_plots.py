"""The backtest report's extra plots: rolling Sharpe, monthly returns, exposure, regimes.

Same rules as :mod:`emp.adapters.report_files.plots`: matplotlib's object API, imported
when a plot is drawn, and PNG bytes that do not depend on the matplotlib version.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from emp.adapters.report_files.plots import (
    _dates,
    _format_date_axis,
    _new_figure,
    _no_data,
    _to_png,
)
from emp.domain.run_analysis import MonthlyReturns, rolling_sharpe

#: Regime colours, by label; labels not listed take grey.
REGIME_COLOURS: dict[str, str] = {
    "bull": "tab:green",
    "trend_up": "tab:green",
    "sideways": "tab:olive",
    "range": "tab:olive",
    "bear": "tab:orange",
    "trend_down": "tab:orange",
    "crisis": "tab:red",
    "high_vol": "tab:red",
    "warmup": "lightgrey",
}


#: The most points a plot draws; longer series are thinned to every k-th bar.
MAX_PLOT_POINTS = 20_000


def _every(n: int) -> slice:
    return slice(None, None, max(1, -(-n // MAX_PLOT_POINTS)))


def rolling_window(periods_per_year: float) -> int:
    """A quarter of a year of bars (at least 2)."""
    return max(2, round(periods_per_year / 4))


def render_rolling_sharpe_png(
    run_id: str, ts_ns: np.ndarray, equity: np.ndarray, periods_per_year: float
) -> bytes:
    window = rolling_window(periods_per_year)
    figure, axes = _new_figure()
    values = rolling_sharpe(equity, window, periods_per_year)
    if np.isfinite(values).any():
        keep = _every(ts_ns.shape[0])
        axes.plot(_dates(ts_ns[keep]), values[keep], color="tab:purple", linewidth=1.0)
        axes.axhline(0.0, color="black", linewidth=0.6)
        _format_date_axis(axes)
    else:
        _no_data(axes)
    axes.set_title(f"Rolling Sharpe ({window} bars) — {run_id}")
    axes.set_xlabel("date (UTC)")
    axes.set_ylabel("annualised Sharpe")
    axes.grid(True, alpha=0.3)
    return _to_png(figure)


def render_monthly_returns_png(run_id: str, monthly: MonthlyReturns) -> bytes:
    figure, axes = _new_figure()
    if monthly.years:
        percent = monthly.table * 100.0
        finite = percent[np.isfinite(percent)]
        limit = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
        image = axes.imshow(
            np.ma.masked_invalid(percent), cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto"
        )
        axes.set_xticks(range(12), ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
        axes.set_yticks(range(len(monthly.years)), [str(y) for y in monthly.years])
        if monthly.table.size <= 12 * 40:
            for (row, column), value in np.ndenumerate(percent):
                if math.isfinite(value):
                    axes.text(column, row, f"{value:.1f}", ha="center", va="center", fontsize=7)
        figure.colorbar(image, ax=axes, label="return (%)")
    else:
        _no_data(axes)
    axes.set_title(f"Monthly returns (%) — {run_id}")
    return _to_png(figure)


def render_exposure_png(run_id: str, ts_ns: np.ndarray, exposure: np.ndarray) -> bytes:
    figure, axes = _new_figure()
    if ts_ns.shape[0]:
        keep = _every(ts_ns.shape[0])
        x = _dates(ts_ns[keep])
        percent = np.asarray(exposure, dtype=float)[keep] * 100.0
        axes.fill_between(x, percent, 0.0, color="tab:blue", alpha=0.3, linewidth=0, step="post")
        _format_date_axis(axes)
    else:
        _no_data(axes)
    axes.set_title(f"Gross exposure / equity — {run_id}")
    axes.set_xlabel("date (UTC)")
    axes.set_ylabel("exposure (%)")
    axes.grid(True, alpha=0.3)
    return _to_png(figure)


def render_regimes_png(
    run_id: str, ts_ns: np.ndarray, equity: np.ndarray, regimes: Sequence[str]
) -> bytes:
    figure, axes = _new_figure()
    if ts_ns.shape[0]:
        keep = _every(ts_ns.shape[0])
        x = _dates(ts_ns[keep])
        labels = np.asarray(regimes, dtype=object)[keep]
        equity = np.asarray(equity)[keep]
        band = axes.get_xaxis_transform()
        for name in sorted(set(labels.tolist())):
            axes.fill_between(
                x,
                0.0,
                1.0,
                where=labels == name,
                transform=band,
                step="post",
                color=REGIME_COLOURS.get(name, "grey"),
                alpha=0.25,
                linewidth=0,
                label=name,
            )
        axes.plot(x, equity, color="black", linewidth=1.0)
        axes.legend(loc="upper left", fontsize=8)
        _format_date_axis(axes)
    else:
        _no_data(axes)
    axes.set_title(f"Equity over regimes — {run_id}")
    axes.set_xlabel("date (UTC)")
    axes.set_ylabel("equity")
    axes.grid(True, alpha=0.3)
    return _to_png(figure)
