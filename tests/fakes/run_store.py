"""An in-memory RunStorePort for tests that swap the store through the container."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from emp.domain.fills import Fill
from emp.domain.orders import Order
from emp.ports.run_store import RunRecord
from emp.ports.store_errors import StoreError, StoreIntegrityError


class InMemoryRunStore:
    def __init__(self, fail_on_complete: bool = False) -> None:
        self.fail_on_complete = fail_on_complete
        self.runs: dict[str, RunRecord] = {}
        self._orders: dict[str, list[Order]] = {}
        self._fills: dict[str, list[Fill]] = {}

    def start_run(self, record: RunRecord) -> None:
        if record.run_id in self.runs:
            raise StoreIntegrityError(f"run {record.run_id} exists")
        self.runs[record.run_id] = record

    def complete_run(
        self,
        run_id: str,
        orders: Sequence[Order],
        fills: Sequence[Fill],
        summary: Mapping[str, Any],
        finished_ns: int,
    ) -> None:
        if self.fail_on_complete:
            raise StoreError("disk full (simulated)")
        self._orders[run_id] = list(orders)
        self._fills[run_id] = list(fills)
        self.runs[run_id] = dataclasses.replace(
            self.runs[run_id], status="completed", summary=dict(summary), finished_ns=finished_ns
        )

    def fail_run(self, run_id: str, error: str, finished_ns: int) -> None:
        self.runs[run_id] = dataclasses.replace(
            self.runs[run_id], status="failed", error=error, finished_ns=finished_ns
        )

    def get_run(self, run_id: str) -> RunRecord | None:
        return self.runs.get(run_id)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        return list(self.runs.values())[-limit:][::-1]

    def orders(self, run_id: str) -> list[Order]:
        return list(self._orders.get(run_id, []))

    def fills(self, run_id: str) -> list[Fill]:
        return list(self._fills.get(run_id, []))
