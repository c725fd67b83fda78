"""A backtest's statistics, analyses and report (the files a person reads).

:func:`write_report` computes the metrics
(:mod:`emp.domain.performance`), regimes, monthly returns, PnL attribution and policy
regret (:mod:`emp.domain.run_analysis`) and hands everything to the report sink as a
:class:`~emp.ports.report_sink.RunReport` with its exposure, regimes and analysis.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import emp
from emp.adapters.fix_sim import FillModel
from emp.app.backtest_data import BarStream
from emp.app.engine import RunResult
from emp.domain.accounts import Liquidation
from emp.domain.clock_time import ns_to_datetime, ns_to_iso
from emp.domain.errors import InvalidConfiguration
from emp.domain.orders import OrderType
from emp.domain.performance import (
    PerformanceSummary,
    drawdown_series,
    infer_periods_per_year,
    is_event_time,
    sampled_each,
    summarize,
)
from emp.domain.regime import WARMUP
from emp.domain.run_analysis import (
    detect_regimes,
    monthly_returns,
    pnl_attribution,
    policy_regret,
    regime_breakdown,
)
from emp.domain.trades import ClosedTrade
from emp.ports.report_sink import ReportSinkPort, RunReport


def trades_json(trades: Sequence[ClosedTrade]) -> list[dict[str, Any]]:
    """Closed round trips as plain JSON values (ISO-8601 UTC times).

    ``pnl`` is in the instrument's currency, ``pnl_base`` in the account's base currency
    at the FX rate of the exit (equal to ``pnl`` in a one-currency run).
    """
    return [
        {
            "symbol": t.symbol,
            "side": t.side,
            "entry_time": ns_to_iso(t.entry_ns),
            "exit_time": ns_to_iso(t.exit_ns),
            "entry_price": t.entry_price,
            "exit_price": t.exit_price,
            "size": t.max_quantity,
            "pnl": t.pnl,
            "pnl_base": t.pnl_base,
        }
        for t in trades
    ]


def liquidations_json(liquidations: Sequence[Liquidation]) -> list[dict[str, Any]]:
    """Liquidation orders as plain JSON values (ISO-8601 UTC times, signed quantities)."""
    return [
        {
            "time": ns_to_iso(item.ts_ns),
            "symbol": item.symbol,
            "quantity": item.quantity,
            "side": "buy" if item.quantity > 0 else "sell",
            "reason": item.reason,
        }
        for item in liquidations
    ]


def run_liquidations(result: RunResult) -> list[Liquidation]:
    """The run's liquidation orders (``RunResult.liquidations``; none before it existed)."""
    return list(getattr(result, "liquidations", None) or [])


@functools.cache
def git_revision() -> str | None:
    """The commit EMP's source is checked out at, or ``None`` outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(emp.__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else None


def regime_labels(
    regimes: tuple[np.ndarray, list[str]] | None, stream: BarStream, timeline: np.ndarray
) -> tuple[list[str], str]:
    """One label per timestamp: the generator's regimes, else detected from the closes."""
    if regimes is not None:
        ts, labels = regimes
        source, names = "synthetic generator (true hidden regimes)", labels
    else:
        ts = np.concatenate(stream.ts) if stream.ts else np.zeros(0, dtype=np.int64)
        closes = np.concatenate(stream.closes) if stream.closes else np.zeros(0)
        names = detect_regimes(closes)
        source = f"detected from {stream.reference} closes (realised vol / trend, window 50)"
    index = np.searchsorted(ts, timeline, side="right") - 1
    return [names[i] if i >= 0 else WARMUP for i in index.tolist()], source


def _attribution(
    result: RunResult,
    config: Mapping[str, Any],
    liquidity: Mapping[str, tuple[float | None, bool]] | None = None,
) -> dict[str, float]:
    """Cross / post / hold / fees. At bar resolution a MARKET order's fill is aggressive
    and its mid is implied by the cost model; a book venue reports both per fill."""
    market = {o.client_order_id for o in result.orders if o.order_type is OrderType.MARKET}
    costs = config["costs"]
    impact = (costs["slippage_bps"] + costs["spread_bps"] / 2.0) / 10_000.0
    fills, mids = [], []
    for f in result.fills:
        known = liquidity.get(f.exec_id) if liquidity is not None else None
        aggressive = known[1] if known is not None else f.client_order_id in market
        fills.append((f.signed_quantity, f.price, aggressive))
        mids.append(known[0] if known is not None else None)
    total = float(result.equity[-1] - result.equity[0])
    return pnl_attribution(fills, impact, total, result.portfolio.fees_paid, mids)


def _regret(stream: BarStream, result: RunResult) -> dict[str, Any]:
    closes = np.concatenate(stream.closes) if stream.closes else np.zeros(0)
    regret: dict[str, Any] = {"symbol": stream.reference}
    regret.update(policy_regret(closes, float(result.equity[0]), float(result.equity[-1])))
    return regret


def trades_in_base(trades: Sequence[ClosedTrade]) -> list[ClosedTrade]:
    """The trades with ``pnl`` in the base currency (``pnl_base``), so that win rate and
    profit factor add like with like in a multi-currency run; unchanged otherwise."""
    if all(t.exit_fx_rate == 1.0 for t in trades):
        return list(trades)
    return [dataclasses.replace(t, pnl=t.pnl_base, exit_fx_rate=1.0) for t in trades]


def summarize_run(result: RunResult) -> tuple[float, PerformanceSummary]:
    """The periods per year inferred from the run's timestamps, and its performance
    (trade statistics in the base currency)."""
    ts, equity, gross = result.ts_ns, result.equity, result.gross_exposure
    if is_event_time(ts):  # book data: returns and ratios from the curve read each second
        ts, (equity, gross) = sampled_each(ts, (equity, gross))
    periods = infer_periods_per_year(ts)
    performance = summarize(
        equity,
        gross,
        trades_in_base(result.trades),
        result.portfolio.fees_paid,
        periods_per_year=periods,
        traded_notional=math.fsum(f.notional for f in result.fills),
        ts_ns=ts,
    )
    return periods, performance


def write_report(
    report_sink: ReportSinkPort,
    *,
    run_id: str,
    started_ns: int,
    config: Mapping[str, Any],
    regimes: tuple[np.ndarray, list[str]] | None,
    stream: BarStream,
    result: RunResult,
    extra_analysis: Mapping[str, Any] | None = None,
    fill_liquidity: Mapping[str, tuple[float | None, bool]] | None = None,
) -> tuple[dict[str, Any], Mapping[str, Path], dict[str, Any]]:
    """Statistics, analyses and the report files; returns ``(summary, artifacts, analysis)``.

    ``extra_analysis`` (e.g. ``walk_forward``) joins the analysis in ``report.json``.
    ``fill_liquidity`` (a book venue's): per ExecID the displayed mid at the fill and
    whether it took liquidity, for the PnL attribution.
    """
    if result.ts_ns.shape[0] == 0:
        raise InvalidConfiguration("the backtest read no bars")
    periods, performance = summarize_run(result)
    labels, regime_source = regime_labels(regimes, stream, result.ts_ns)
    analysis = {
        "fill_model": config["fill_model"],
        "periods_per_year": periods,
        "regimes": {"source": regime_source, "breakdown": regime_breakdown(result.equity, labels)},
        "monthly_returns": monthly_returns(result.ts_ns, result.equity).as_dict(),
        "attribution": _attribution(result, config, fill_liquidity),
        "regret": _regret(stream, result),
        **(extra_analysis or {}),
    }
    summary = {
        **performance.to_dict(),
        "orders": len(result.orders),
        "fills": len(result.fills),
        "risk_rejections": result.risk_rejections,
        "risk_resizes": result.risk_resizes,
        "risk_final_state": result.risk_state.get("trading_state"),
        "venue_rejections": result.venue_rejections,
    }
    if "account" in config:  # cash/margin account or borrow cost: what they did
        summary["carry_paid"] = result.portfolio.carry_paid
        summary["account_rejections"] = result.account_rejections
        summary["margin_breaches"] = len(result.margin_breaches)
        summary["liquidations"] = len(run_liquidations(result))
    liquidations = run_liquidations(result)
    if liquidations:  # listed in report.json; report.md lists them among the notes
        analysis["liquidations"] = liquidations_json(liquidations)
    notes = list(result.notes)
    if config["fill_model"] == FillModel.CLOSE.value:
        notes.insert(
            0,
            "close-of-bar fills: orders fill at the close of the bar they were decided on, "
            "a price the decision already saw (optimistic; next_open is the honest default)",
        )
    identity = {
        "run_id": run_id,
        "kind": "backtest",
        "strategy": config["strategy"],
        "seed": config["seed"],
        "data_hash": config["data_hash"],
        "created_utc": ns_to_datetime(started_ns).isoformat(),
        "package_version": emp.__version__,
        "git_revision": git_revision(),
        "fill_model": config["fill_model"],
        "config": config,
    }
    equity = result.equity
    exposure = np.divide(result.gross_exposure, equity, out=np.zeros_like(equity), where=equity > 0)
    artifacts = report_sink.write(
        RunReport(
            run_id=run_id,
            identity=identity,
            summary=summary,
            ts_ns=result.ts_ns,
            equity=equity,
            drawdown=drawdown_series(equity),
            trades=result.trades,
            notes=notes,
            risk=result.risk_state,
            exposure=exposure,
            regimes=labels,
            analysis=analysis,
        )
    )
    return summary, artifacts, analysis
