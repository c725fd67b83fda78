"""The backtest sections of ``report.md``: fill-model flag, regimes, monthly returns,
PnL attribution, policy regret and the extra plots."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from emp.ports.report_sink import RunReport

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BACKTEST_PLOTS: tuple[tuple[str, str], ...] = (
    ("rolling Sharpe", "rolling_sharpe.png"),
    ("monthly returns", "monthly_returns.png"),
    ("exposure", "exposure.png"),
    ("regimes", "regimes.png"),
)


def _money(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{float(value):,.2f}"


def _percent(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{float(value) * 100:.2f}%"


def fill_model_banner(report: RunReport) -> list[str]:
    """A warning line under the title when the run used close-of-bar fills."""
    if report.identity.get("fill_model") != "close":
        return []
    return [
        "> **Close-of-bar fills (opt-in).** Orders filled at the close of the bar they were "
        "decided on, a price the decision already saw: results are optimistic. The default, "
        "`next_open`, fills at the next bar's open.",
        "",
    ]


def _regimes(analysis: Mapping[str, Any]) -> list[str]:
    regimes = analysis.get("regimes") or {}
    breakdown = regimes.get("breakdown") or {}
    if not breakdown:
        return []
    lines = [
        "## Regimes",
        "",
        f"Labels: {regimes.get('source', 'n/a')}.",
        "",
        "| regime | bars | time share | PnL |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in breakdown.items():
        lines.append(
            f"| {name} | {int(row['bars']):,} | {_percent(row['time_share'])} "
            f"| {_money(row['pnl'])} |"
        )
    return [*lines, ""]


def _monthly(analysis: Mapping[str, Any]) -> list[str]:
    table = analysis.get("monthly_returns") or {}
    if not table:
        return []
    lines = [
        "## Monthly returns",
        "",
        "| year | " + " | ".join(_MONTHS) + " |",
        "| --- |" + " ---: |" * 12,
    ]
    for year, values in table.items():
        lines.append(f"| {year} | " + " | ".join(_percent(v) for v in values) + " |")
    return [*lines, ""]


def _attribution(analysis: Mapping[str, Any]) -> list[str]:
    parts = analysis.get("attribution") or {}
    if not parts:
        return []
    lines = [
        "## PnL attribution",
        "",
        "| component | PnL |",
        "| --- | ---: |",
    ]
    for name, value in parts.items():
        lines.append(f"| {name} | {_money(value)} |")
    return [*lines, ""]


def _regret(analysis: Mapping[str, Any]) -> list[str]:
    regret = analysis.get("regret") or {}
    if not regret:
        return []
    lines = ["## Policy regret", "", "| measure | value |", "| --- | ---: |"]
    for name, value in regret.items():
        shown = _money(value) if isinstance(value, int | float) else str(value)
        lines.append(f"| {name} | {shown} |")
    return [*lines, ""]


def backtest_sections(report: RunReport) -> list[str]:
    """Regimes, monthly returns, attribution and regret tables (empty for other reports)."""
    analysis = report.analysis
    return [*_regimes(analysis), *_monthly(analysis), *_attribution(analysis), *_regret(analysis)]


def backtest_plot_lines(report: RunReport) -> list[str]:
    if report.exposure is None:
        return []
    lines: list[str] = []
    for title, name in BACKTEST_PLOTS:
        if name == "regimes.png" and report.regimes is None:
            continue
        lines += [f"![{title}]({name})", ""]
    return lines
