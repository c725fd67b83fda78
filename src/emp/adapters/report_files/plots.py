"""Equity and drawdown plots as PNG bytes, drawn with matplotlib's object API only.

No pyplot: each plot is a fresh :class:`~matplotlib.figure.Figure` on its own
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, so nothing global is touched and
no backend is selected. matplotlib is imported when a plot is drawn, not when this module is.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FIGURE_SIZE_INCHES = (10.0, 4.5)
DPI = 100
# No "Software" chunk: the PNG bytes do not depend on the matplotlib version.
_PNG_METADATA: dict[str, str | None] = {"Software": None}


def _new_figure() -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _dates(ts_ns: np.ndarray) -> np.ndarray:
    from matplotlib import dates

    return np.asarray(dates.date2num(np.asarray(ts_ns, dtype="datetime64[ns]")), dtype=float)


def _format_date_axis(axes: Axes) -> None:
    from matplotlib import dates

    locator = dates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))


def _no_data(axes: Axes) -> None:
    axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center")


def _to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata=_PNG_METADATA)
    return buffer.getvalue()


def render_equity_png(run_id: str, ts_ns: np.ndarray, equity: np.ndarray) -> bytes:
    """Equity over time, dates on the x axis."""
    from matplotlib.ticker import StrMethodFormatter

    figure, axes = _new_figure()
    if ts_ns.shape[0]:
        x = _dates(ts_ns)
        axes.plot(x, equity, color="tab:blue", linewidth=1.2, marker="." if x.size == 1 else "")
        _format_date_axis(axes)
    else:
        _no_data(axes)
    axes.set_title(f"Equity — {run_id}")
    axes.set_xlabel("date (UTC)")
    axes.set_ylabel("equity")
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.grid(True, alpha=0.3)
    return _to_png(figure)


def render_drawdown_png(run_id: str, ts_ns: np.ndarray, drawdown: np.ndarray) -> bytes:
    """Drawdown from the running peak as a filled area, in percent."""
    figure, axes = _new_figure()
    if ts_ns.shape[0]:
        x = _dates(ts_ns)
        percent = np.asarray(drawdown, dtype=float) * 100.0
        axes.fill_between(x, percent, 0.0, color="tab:red", alpha=0.35, linewidth=0)
        axes.plot(x, percent, color="tab:red", linewidth=0.8, marker="." if x.size == 1 else "")
        _format_date_axis(axes)
    else:
        _no_data(axes)
    axes.set_title(f"Drawdown — {run_id}")
    axes.set_xlabel("date (UTC)")
    axes.set_ylabel("drawdown (%)")
    axes.grid(True, alpha=0.3)
    return _to_png(figure)
