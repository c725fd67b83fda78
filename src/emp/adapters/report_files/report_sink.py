"""ReportFilesWriter: one directory of files per run, each file replaced atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from emp.adapters.report_files.json_report import render_json
from emp.adapters.report_files.markdown_report import render_markdown
from emp.adapters.report_files.plots import render_drawdown_png, render_equity_png
from emp.adapters.report_files.trades_csv import render_trades_csv
from emp.ports.report_sink import ReportError, RunReport

REPORT_FILES: tuple[str, ...] = (
    "report.json",
    "report.md",
    "equity.png",
    "drawdown.png",
    "trades.csv",
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
    ``equity.png``, ``drawdown.png`` and ``trades.csv``. Everything is rendered in memory
    first and each file is then replaced atomically, so a crash never leaves half a file.
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
        contents: dict[str, bytes] = {}
        for name in REPORT_FILES:
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
