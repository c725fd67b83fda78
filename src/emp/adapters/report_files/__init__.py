"""Run reports as files: ``report.json``, ``report.md``, ``trades.csv`` and two PNG plots.

Implements :class:`emp.ports.report_sink.ReportSinkPort` with the standard library and
matplotlib's object API (never pyplot). Importing this package imports no matplotlib.
"""

from emp.adapters.report_files.report_sink import ReportFilesWriter

__all__ = ["ReportFilesWriter"]
