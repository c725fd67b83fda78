"""EvaluationExecutorPort: fans out independent evaluations (genomes, parameter sets)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar, runtime_checkable

from emp.domain.errors import EmpError

T = TypeVar("T")
R = TypeVar("R")


class EvaluationFailed(EmpError):
    """One evaluation raised; the original exception is the cause."""


@runtime_checkable
class EvaluationExecutorPort(Protocol):
    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(x) for x in items]`` in input order, possibly in parallel."""
        ...

    def close(self) -> None: ...
