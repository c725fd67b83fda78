"""The deterministic ``report.json``: sorted keys, floats as ``repr``, NaN and inf as null."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from emp.ports.report_sink import RunReport


def to_jsonable(value: Any) -> Any:
    """Convert ``value`` into plain JSON types; non-finite floats become ``None``.

    Mappings become dicts with string keys, sequences (and numpy arrays) become lists,
    numpy scalars become Python numbers; anything else is rendered with ``str``.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(item) for item in value]
        if isinstance(value, set | frozenset):
            items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        return items
    return str(value)


def dumps_canonical(value: Any, *, indent: int | None = 2) -> str:
    """``json.dumps`` with sorted keys; the same input always gives the same text."""
    separators = (",", ": ") if indent is not None else (",", ":")
    return json.dumps(
        to_jsonable(value),
        sort_keys=True,
        indent=indent,
        separators=separators,
        ensure_ascii=False,
        allow_nan=False,
    )


def _trade_stats(report: RunReport) -> dict[str, Any]:
    pnls = [float(trade.pnl) for trade in report.trades]
    wins = sum(1 for trade in report.trades if trade.is_win)
    return {
        "count": len(pnls),
        "wins": wins,
        "losses": len(pnls) - wins,
        "net_pnl": math.fsum(pnls),
        "best_pnl": max(pnls) if pnls else None,
        "worst_pnl": min(pnls) if pnls else None,
        "symbols": sorted({trade.symbol for trade in report.trades}),
    }


def _series_stats(report: RunReport) -> dict[str, Any]:
    ts = np.asarray(report.ts_ns, dtype=np.int64)
    return {
        "bars": int(ts.shape[0]),
        "first_ts_ns": int(ts[0]) if ts.shape[0] else None,
        "last_ts_ns": int(ts[-1]) if ts.shape[0] else None,
    }


def render_json(report: RunReport) -> bytes:
    """The ``report.json`` bytes (UTF-8, trailing newline)."""
    document = {
        "run_id": report.run_id,
        "identity": report.identity,
        "summary": report.summary,
        "notes": list(report.notes),
        "trades": _trade_stats(report),
        "series": _series_stats(report),
        "risk": report.risk,
    }
    analysis = report.analysis
    if analysis:  # a backtest report: regimes, monthly returns, attribution, regret
        document["analysis"] = analysis
    return (dumps_canonical(document) + "\n").encode("utf-8")
