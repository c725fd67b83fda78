"""ReportSinkPort: turns a finished run into artifacts a person reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emp.domain.errors import EmpError
from emp.domain.trades import ClosedTrade


class ReportError(EmpError):
    """A report could not be written."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """Everything a report shows. ``identity`` holds run id, config, seed, data hash, version."""

    run_id: str
    identity: Mapping[str, Any]
    summary: Mapping[str, Any]
    ts_ns: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray
    trades: Sequence[ClosedTrade]
    notes: Sequence[str] = ()
    #: The risk layer's exported state (trading-state timeline, decisions, audit trail).
    risk: Mapping[str, Any] = field(default_factory=dict)
    #: Gross exposure per bar; when given, the report adds the exposure and rolling-Sharpe
    #: plots and the monthly-returns heatmap (backtests give it).
    exposure: np.ndarray | None = None
    #: A regime label per bar (regime bands in the plots), when known.
    regimes: Sequence[str] | None = None
    #: Further analyses (attribution, regret, regime breakdown, monthly returns) by name.
    analysis: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class ReportSinkPort(Protocol):
    def write(self, report: RunReport) -> Mapping[str, Path]:
        """Write the artifacts; return them by name (``report.md``, ``equity.png``, ...)."""
        ...
