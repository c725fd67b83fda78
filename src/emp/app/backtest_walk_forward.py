"""Walk-forward evaluation for `emp backtest --walk-forward`: every fold, both windows.

The strategy's parameters are fixed (nothing is fitted yet: evolution will fit on the train
windows), so each fold runs the same strategy twice, each time from the initial cash with
a fresh strategy, risk manager and venue: over its train window (in-sample) and over its
test window (out-of-sample). The per-fold table compares the two; the test windows'
equity curves are chained (:func:`emp.domain.splits.stitch_equity`) into one
out-of-sample curve. Overlapping test windows (``step < test``) contribute each bar once:
a fold keeps its test bars up to the next fold's test start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from emp.app.backtest_report import summarize_run
from emp.app.engine import RunResult
from emp.app.errors import ConfigError
from emp.domain.clock_time import ns_to_iso
from emp.domain.errors import InvalidConfiguration
from emp.domain.performance import infer_periods_per_year, summarize
from emp.domain.splits import Split, WalkForward, stitch_equity

WindowRunner = Callable[[int, int], RunResult]

WALK_FORWARD_HELP = (
    "Walk-forward evaluation, counted in bars of the run's timeline: "
    "'train=N,test=M[,step=K][,gap=G][,anchored]'. Fold k trains on bars "
    "[k*step, k*step+N) and tests on the M bars after a gap of G (step defaults to M: "
    "test windows tile; 'anchored' makes every train window start at bar 0). Each window "
    "runs from the initial cash; the report gets a per-fold table (in-sample vs "
    "out-of-sample) and the stitched out-of-sample equity, and --json an extra "
    "'walk_forward' key. Example: --walk-forward train=500,test=100"
)
_KEYS = {"train": "train_bars", "test": "test_bars", "step": "step_bars", "gap": "gap_bars"}


def parse_walk_forward(text: str) -> WalkForward:
    """``train=N,test=M[,step=K][,gap=G][,anchored]`` → :class:`WalkForward`."""
    values: dict[str, Any] = {}
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        if part == "anchored":
            values["anchored"] = True
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise ConfigError(
                f"--walk-forward: expected train=N,test=M[,step=K][,gap=G][,anchored], "
                f"was {text!r} (unknown part {part!r})"
            )
        try:
            values[_KEYS[key]] = int(value.strip())
        except ValueError:
            raise ConfigError(
                f"--walk-forward: {key} must be a whole number of bars, was {value.strip()!r}"
            ) from None
    if "train_bars" not in values or "test_bars" not in values:
        raise ConfigError(f"--walk-forward needs train=N and test=M, was {text!r}")
    try:
        return WalkForward(**values)
    except InvalidConfiguration as error:
        raise ConfigError(f"--walk-forward: {error}") from None


def spec_dict(spec: WalkForward) -> dict[str, Any]:
    return {
        "train_bars": spec.train_bars,
        "test_bars": spec.test_bars,
        "step_bars": spec.step_bars or spec.test_bars,
        "gap_bars": spec.gap_bars,
        "anchored": spec.anchored,
    }


def _metrics(result: RunResult) -> dict[str, Any]:
    _, summary = summarize_run(result)
    return {
        "return_pct": summary.total_return * 100.0,
        "sharpe": summary.sharpe,
        "max_drawdown_pct": summary.max_drawdown * 100.0,
        "trades": summary.trades,
        "final_equity": summary.final_equity,
    }


def _window(window) -> dict[str, Any]:
    return {
        "start": ns_to_iso(window.start_ns),
        "end": ns_to_iso(window.end_ns),
        "bars": window.bars,
    }


def run_walk_forward(
    spec: WalkForward, timeline: np.ndarray, initial_cash: float, run_window: WindowRunner
) -> dict[str, Any]:
    """Run every fold of ``spec`` over ``timeline``; the ``walk_forward`` analysis."""
    folds: list[Split] = spec.splits(timeline)
    rows: list[dict[str, Any]] = []
    tests: list[RunResult] = []
    for fold in folds:
        in_sample = run_window(fold.train.start_ns, fold.train.end_ns)
        out_of_sample = run_window(fold.test.start_ns, fold.test.end_ns)
        if out_of_sample.ts_ns.shape[0] == 0 or in_sample.ts_ns.shape[0] == 0:
            raise InvalidConfiguration(f"walk-forward fold {fold.index} read no bars")
        tests.append(out_of_sample)
        rows.append(
            {
                "fold": fold.index,
                "train": _window(fold.train),
                "test": _window(fold.test),
                "in_sample": _metrics(in_sample),
                "out_of_sample": _metrics(out_of_sample),
            }
        )
    curves, times = [], []
    for k, result in enumerate(tests):
        keep = result.ts_ns.shape[0]
        if k + 1 < len(folds):
            keep = int(np.searchsorted(result.ts_ns, folds[k + 1].test.start_ns))
        curves.append(result.equity[: max(keep, 1)])
        times.append(result.ts_ns[: max(keep, 1)])
    equity = stitch_equity(curves, initial_cash)
    ts = np.concatenate(times)
    periods = infer_periods_per_year(ts)
    stitched = summarize(equity, np.zeros_like(equity), [], 0.0, periods_per_year=periods)
    return {
        "spec": spec_dict(spec),
        "folds": rows,
        "out_of_sample": {
            "bars": int(equity.shape[0]),
            "start": ns_to_iso(int(ts[0])),
            "end": ns_to_iso(int(ts[-1])),
            "final_equity": float(equity[-1]),
            "return_pct": (float(equity[-1]) / initial_cash - 1.0) * 100.0,
            "max_drawdown_pct": stitched.max_drawdown * 100.0,
            "sharpe": stitched.sharpe,
        },
        "out_of_sample_equity": {
            "ts": [ns_to_iso(t) for t in ts.tolist()],
            "equity": equity.tolist(),
        },
    }


def json_summary(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """The ``--json`` ``walk_forward`` key: spec, folds, stitched out-of-sample figures."""
    return {
        "spec": analysis["spec"],
        "folds": analysis["folds"],
        "out_of_sample": analysis["out_of_sample"],
        "out_of_sample_equity": analysis["out_of_sample_equity"],
    }


def markdown(analysis: Mapping[str, Any]) -> str:
    """The report section: the per-fold table and the stitched out-of-sample figures."""
    spec = analysis["spec"]
    oos = analysis["out_of_sample"]
    lines = [
        "",
        "## Walk-forward",
        "",
        f"{len(analysis['folds'])} folds: train {spec['train_bars']} bars, test "
        f"{spec['test_bars']}, step {spec['step_bars']}, gap {spec['gap_bars']}"
        f"{', anchored' if spec['anchored'] else ''}. Each window runs from the initial "
        "cash with fixed parameters; in-sample = the train window, out-of-sample = the "
        "test window; windows are [start, end), end exclusive.",
        "",
        "| fold | train | test | IS return | IS Sharpe | OOS return | OOS Sharpe "
        "| OOS max DD | OOS trades |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in analysis["folds"]:
        ins, oos_row = row["in_sample"], row["out_of_sample"]
        lines.append(
            f"| {row['fold']} | {row['train']['start']} → {row['train']['end']} "
            f"| {row['test']['start']} → {row['test']['end']} "
            f"| {ins['return_pct']:.2f}% | {ins['sharpe']:.2f} "
            f"| {oos_row['return_pct']:.2f}% | {oos_row['sharpe']:.2f} "
            f"| {oos_row['max_drawdown_pct']:.2f}% | {oos_row['trades']} |"
        )
    lines += [
        "",
        f"Stitched out-of-sample equity ({oos['bars']} bars, {oos['start']} → {oos['end']}, "
        "each fold compounding from where the previous ended): final "
        f"{oos['final_equity']:,.2f}, return {oos['return_pct']:.2f}%, max drawdown "
        f"{oos['max_drawdown_pct']:.2f}%, Sharpe {oos['sharpe']:.2f}. The curve is in "
        "report.json (`analysis.walk_forward.out_of_sample_equity`).",
        "",
    ]
    return "\n".join(lines)
