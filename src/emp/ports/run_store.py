"""RunStorePort: the record of every run, its orders and its fills.

A run is ``running`` from :meth:`start_run` until :meth:`complete_run` writes its orders,
fills and summary and marks it ``completed`` in one transaction, or :meth:`fail_run` marks
it ``failed`` with the reason. A failed run never has partial orders or fills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from emp.domain.fills import Fill
from emp.domain.orders import Order


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    run_id: str
    kind: str  # "demo", "backtest", "paper", ...
    strategy: str
    config: Mapping[str, Any]
    seed: int | None
    data_hash: str
    package_version: str
    started_ns: int
    status: str = "running"
    finished_ns: int | None = None
    error: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class RunStorePort(Protocol):
    def start_run(self, record: RunRecord) -> None: ...

    def complete_run(
        self,
        run_id: str,
        orders: Sequence[Order],
        fills: Sequence[Fill],
        summary: Mapping[str, Any],
        finished_ns: int,
    ) -> None: ...

    def fail_run(self, run_id: str, error: str, finished_ns: int) -> None: ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def list_runs(self, limit: int = 50) -> list[RunRecord]: ...

    def orders(self, run_id: str) -> list[Order]: ...

    def fills(self, run_id: str) -> list[Fill]: ...
