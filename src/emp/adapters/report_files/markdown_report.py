"""The human-readable ``report.md``: summary, identity, definitions, notes, plots, trades."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from emp.adapters.report_files.backtest_markdown import (
    backtest_plot_lines,
    backtest_sections,
    fill_model_banner,
)
from emp.adapters.report_files.json_report import dumps_canonical
from emp.domain import performance
from emp.domain.clock_time import ns_to_iso
from emp.domain.trades import ClosedTrade
from emp.ports.report_sink import RunReport

NOT_AVAILABLE = "n/a"
LAST_TRADES_SHOWN = 20
SHORT_HASH_LENGTH = 12

_PERCENT_METRICS = frozenset(
    {
        "total_return",
        "cagr",
        "volatility",
        "max_drawdown",
        "exposure",
        "win_rate",
        "time_in_market",
    }
)
_RATIO_METRICS = frozenset({"sharpe", "sortino", "calmar", "profit_factor", "turnover"})
_MONEY_METRICS = frozenset({"initial_equity", "final_equity", "fees", "pnl"})

# (row label, identity keys tried in order); keys not listed here are shown after these rows.
_IDENTITY_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("strategy", ("strategy",)),
    ("kind", ("kind",)),
    ("seed", ("seed",)),
    ("data hash", ("data_hash",)),
    ("package version", ("package_version", "version")),
    ("config", ("config",)),
)


def _cell(text: str) -> str:
    """Make ``text`` safe inside a markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _finite_or_none(value: float) -> str | None:
    if math.isnan(value):
        return NOT_AVAILABLE
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return None


def format_metric(name: str, value: Any) -> str:
    """Format one summary value for people: percentages, 2-decimal ratios, 1,234.56 money."""
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and name not in _PERCENT_METRICS | _RATIO_METRICS:
        return f"{value:,}"
    if isinstance(value, int | float):
        number = float(value)
        special = _finite_or_none(number)
        if special is not None:
            return special
        if name in _PERCENT_METRICS:
            return f"{number * 100:.2f}%"
        if name in _RATIO_METRICS:
            return f"{number:.2f}"
        if name in _MONEY_METRICS:
            return f"{number:,.2f}"
        return f"{number:,.4f}"
    return str(value)


def _quantity(value: float) -> str:
    number = float(value)
    return _finite_or_none(number) or f"{number:,.10g}"


def _identity_value(key: str, value: Any) -> str:
    if value is None:
        return NOT_AVAILABLE
    if key == "data_hash" and isinstance(value, str) and len(value) > SHORT_HASH_LENGTH:
        return f"`{value[:SHORT_HASH_LENGTH]}`"
    if isinstance(value, Mapping | list | tuple):
        return f"`{dumps_canonical(value, indent=None)}`"
    return str(value)


def metric_definitions() -> list[str]:
    """The bullet lines of :mod:`emp.domain.performance`'s docstring, one line per metric."""
    doc = performance.__doc__ or ""
    items: list[str] = []
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.startswith("- "):
            items.append(stripped[2:])
        elif items and stripped and line.startswith(" "):
            items[-1] = f"{items[-1]} {stripped}"
        elif items and not stripped:
            break
    lines = []
    for item in items:
        term, sep, definition = item.partition(": ")
        definition = definition.replace("*", "\\*")
        lines.append(f"- **{term}**: {definition}" if sep else f"- {item}")
    return lines


def _summary_section(summary: Mapping[str, Any]) -> list[str]:
    lines = ["## Summary", "", "| metric | value |", "| --- | ---: |"]
    for name, value in summary.items():
        lines.append(f"| {_cell(str(name))} | {_cell(format_metric(str(name), value))} |")
    return [*lines, ""]


def _identity_section(identity: Mapping[str, Any]) -> list[str]:
    lines = ["## Identity", "", "| field | value |", "| --- | --- |"]
    shown: set[str] = {"run_id"}
    for label, keys in _IDENTITY_ROWS:
        key = next((k for k in keys if k in identity), None)
        if key is None:
            continue
        shown.update(keys)
        lines.append(f"| {label} | {_cell(_identity_value(key, identity[key]))} |")
    for key in sorted(str(k) for k in identity if str(k) not in shown):
        lines.append(f"| {_cell(key)} | {_cell(_identity_value(key, identity[key]))} |")
    return [*lines, ""]


def _definitions_section() -> list[str]:
    definitions = metric_definitions()
    if not definitions:
        return []
    return ["## Metric definitions", "", *definitions, ""]


def _notes_section(notes: Sequence[str]) -> list[str]:
    body = [f"- {note}" for note in notes] if notes else ["No notes."]
    return ["## Notes", "", *body, ""]


def _plots_section(report: RunReport) -> list[str]:
    return [
        "## Plots",
        "",
        "![equity](equity.png)",
        "",
        "![drawdown](drawdown.png)",
        "",
        *backtest_plot_lines(report),
    ]


def _trades_section(trades: Sequence[ClosedTrade], parquet: str = "") -> list[str]:
    shown = list(trades)[-LAST_TRADES_SHOWN:]
    title = f"## Last {len(shown)} of {len(trades)} closed trades"
    if not shown:
        return ["## Closed trades", "", "No closed trades.", ""]
    lines = [
        title,
        "",
        "| # | symbol | side | entry | exit | max quantity | pnl |",
        "| ---: | --- | --- | --- | --- | ---: | ---: |",
    ]
    first_number = len(trades) - len(shown) + 1
    for number, trade in enumerate(shown, start=first_number):
        side = "long" if trade.direction > 0 else "short"
        lines.append(
            f"| {number} | {_cell(trade.symbol)} | {side} | {ns_to_iso(trade.entry_ns)} "
            f"| {ns_to_iso(trade.exit_ns)} | {_quantity(trade.max_quantity)} "
            f"| {format_metric('pnl', trade.pnl)} |"
        )
    lines.append("")
    lines.append(f"All trades: [trades.csv](trades.csv){parquet}")
    return [*lines, ""]


def _risk_section(risk: Mapping[str, Any]) -> list[str]:
    if not risk:
        return []
    lines = ["## Risk", ""]
    lines.append(f"Final trading state: **{risk.get('trading_state', 'n/a')}**.")
    decisions = risk.get("decisions") or {}
    if decisions:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(decisions.items()))
        lines.append(f"Pre-trade decisions — {counts}.")
    rules = risk.get("rules") or []
    if rules:
        lines.append(f"Rules: {', '.join(_cell(str(r)) for r in rules)}.")
    changes = [
        event for event in risk.get("audit") or [] if event.get("event") == "TradingStateChanged"
    ]
    lines.append("")
    if changes:
        lines += ["| time | from | to | by | reason |", "| --- | --- | --- | --- | --- |"]
        for event in changes:
            lines.append(
                f"| {ns_to_iso(int(event['ts_ns']))} | {event.get('previous')} "
                f"| {event.get('current')} | {event.get('source')} "
                f"| {_cell(str(event.get('reason', '')))} |"
            )
    else:
        lines.append("The trading state never changed.")
    return [*lines, ""]


def render_markdown(report: RunReport) -> bytes:
    """The ``report.md`` bytes (UTF-8, trailing newline)."""
    lines = [
        f"# Run report: {report.run_id}",
        "",
        *fill_model_banner(report),
        *_summary_section(report.summary),
        *_identity_section(report.identity),
        *_definitions_section(),
        *_notes_section(report.notes),
        *_risk_section(report.risk),
        *backtest_sections(report),
        *_plots_section(report),
        *_trades_section(
            report.trades,
            ", [trades.parquet](trades.parquet)" if backtest_plot_lines(report) else "",
        ),
    ]
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")
