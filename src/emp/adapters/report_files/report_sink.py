"""ReportFilesWriter: one directory of files per run, each file replaced atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emp.adapters.report_files.json_report import render_json
from emp.adapters.report_files.markdown_report import render_markdown
from emp.adapters.report_files.plots import render_drawdown_png, render_equity_png
from emp.adapters.report_files.trades_csv import render_trades_csv, render_trades_parquet
from emp.ports.report_sink import ReportError, RunReport

REPORT_FILES: tuple[str, ...] = (
    "report.json",
    "report.md",
    "equity.png",
    "drawdown.png",
    "trades.csv",
)
#: Written besides :data:`REPORT_FILES` for a backtest report (one carrying ``exposure``).
BACKTEST_FILES: tuple[str, ...] = (
    "rolling_sharpe.png",
    "monthly_returns.png",
    "exposure.png",
    "regimes.png",
    "trades.parquet",
)


def backtest_extras(report: RunReport) -> tuple[np.ndarray | None, Sequence[str] | None, Any]:
    """``(exposure, regimes, analysis)`` of a backtest report, ``None``s for any other.

    A backtest report is a :class:`RunReport` whose ``exposure`` series is set (and
    optionally ``regimes`` labels and an ``analysis`` mapping).
    """
    exposure = report.exposure
    if exposure is None:
        return None, None, {}
    return (
        np.asarray(exposure, dtype=np.float64),
        report.regimes,
        report.analysis,
    )


def _check_report(report: RunReport) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    run_id = report.run_id
    if not run_id or run_id in {".", ".."} or "/" in run_id or "\\" in run_id or "\0" in run_id:
        raise ReportError(f"expected a run id usable as a directory name, was {run_id!r}")
    ts_ns = np.asarray(report.ts_ns, dtype=np.int64)
    equity = np.asarray(report.equity, dtype=np.float64)
    drawdown = np.asarray(report.drawdown, dtype=np.float64)
    shapes = (ts_ns.shape, equity.shape, drawdown.shape)
    if any(len(shape) != 1 for shape in shapes) or len({shape[0] for shape in shapes}) != 1:
        raise ReportError(
            "expected ts_ns, equity and drawdown as 1-d arrays of equal length, were shapes "
            f"{ts_ns.shape}, {equity.shape} and {drawdown.shape} (run {run_id!r})"
        )
    return ts_ns, equity, drawdown


def _write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file beside ``path``, then rename it over ``path``."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


class ReportFilesWriter:
    """Writes a :class:`RunReport` into ``<reports_dir>/<run_id>/`` as five files.

    ``report.json`` (deterministic: the same report gives the same bytes), ``report.md``,
    ``equity.png``, ``drawdown.png`` and ``trades.csv``; a backtest report (see
    :func:`backtest_extras`) adds ``rolling_sharpe.png``, ``monthly_returns.png``,
    ``exposure.png``, ``regimes.png`` (when it has regime labels) and ``trades.parquet``.
    Everything is rendered in memory first and each file is then replaced atomically, so
    a crash never leaves half a file.
    Writing the same run id again replaces the earlier files.
    """

    def __init__(self, reports_dir: str | Path) -> None:
        self._reports_dir = Path(reports_dir)

    @property
    def reports_dir(self) -> Path:
        return self._reports_dir

    def write(self, report: RunReport) -> Mapping[str, Path]:
        ts_ns, equity, drawdown = _check_report(report)
        renderers: dict[str, Callable[[], bytes]] = {
            "report.json": lambda: render_json(report),
            "report.md": lambda: render_markdown(report),
            "equity.png": lambda: render_equity_png(report.run_id, ts_ns, equity),
            "drawdown.png": lambda: render_drawdown_png(report.run_id, ts_ns, drawdown),
            "trades.csv": lambda: render_trades_csv(report.trades),
        }
        renderers.update(_backtest_renderers(report, ts_ns, equity))
        contents: dict[str, bytes] = {}
        for name in renderers:
            try:
                contents[name] = renderers[name]()
            except (ValueError, TypeError, OverflowError) as e:
                raise ReportError(f"could not render {name} for run {report.run_id!r}: {e}") from e
        run_dir = self._reports_dir / report.run_id
        written: dict[str, Path] = {}
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            for name, content in contents.items():
                _write_atomically(run_dir / name, content)
                written[name] = run_dir / name
        except OSError as e:
            failed = Path(e.filename) if e.filename else run_dir
            raise ReportError(
                f"could not write the report of run {report.run_id!r} to {failed}: "
                f"{e.strerror or e}"
            ) from e
        return written


def _backtest_renderers(
    report: RunReport, ts_ns: np.ndarray, equity: np.ndarray
) -> dict[str, Callable[[], bytes]]:
    from emp.adapters.report_files import backtest_plots
    from emp.domain.run_analysis import monthly_returns

    exposure, regimes, analysis = backtest_extras(report)
    if exposure is None:
        return {}
    if exposure.shape != equity.shape or (regimes is not None and len(regimes) != len(equity)):
        raise ReportError(
            f"expected exposure and regimes with one value per bar ({equity.shape[0]}), were "
            f"{exposure.shape[0]} and {len(regimes) if regimes is not None else 0} "
            f"(run {report.run_id!r})"
        )
    periods = float(analysis.get("periods_per_year", 252.0))
    run_id = report.run_id
    renderers: dict[str, Callable[[], bytes]] = {
        "rolling_sharpe.png": lambda: backtest_plots.render_rolling_sharpe_png(
            run_id, ts_ns, equity, periods
        ),
        "monthly_returns.png": lambda: backtest_plots.render_monthly_returns_png(
            run_id, monthly_returns(ts_ns, equity)
        ),
        "exposure.png": lambda: backtest_plots.render_exposure_png(run_id, ts_ns, exposure),
        "trades.parquet": lambda: render_trades_parquet(report.trades),
    }
    if regimes is not None:
        renderers["regimes.png"] = lambda: backtest_plots.render_regimes_png(
            run_id, ts_ns, equity, regimes
        )
    return renderers
