"""SerialExecutor and LocalProcessExecutor: ``[fn(x) for x in items]``, in input order."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Self, TypeVar

from emp.ports.executor import EvaluationFailed

T = TypeVar("T")
R = TypeVar("R")


def _failure(index: int, error: BaseException) -> EvaluationFailed:
    return EvaluationFailed(f"evaluation of item {index} failed: {type(error).__name__}: {error}")


class SerialExecutor:
    """Evaluates items one after another in this process; the reference executor."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        results: list[R] = []
        for index, item in enumerate(items):
            try:
                results.append(fn(item))
            except Exception as e:
                raise _failure(index, e) from e
        return results

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return "SerialExecutor()"


class LocalProcessExecutor:
    """Evaluates items in a pool of worker processes on this machine.

    The pool is created on the first :meth:`map` (constructing the executor starts nothing)
    and reused until :meth:`close`; a later :meth:`map` starts a new one. ``fn`` and the items
    must be picklable (a module-level function, not a lambda). ``start_method`` picks the
    multiprocessing context ("fork", "spawn", "forkserver"); ``None`` is the platform default.
    """

    def __init__(self, max_workers: int | None = None, *, start_method: str | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"expected max_workers >= 1 or None, was {max_workers}")
        if start_method is not None and start_method not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f"expected start_method in {multiprocessing.get_all_start_methods()}, "
                f"was {start_method!r}"
            )
        self._max_workers = max_workers
        self._start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        """Whether a worker pool is running now."""
        return self._pool is not None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = (
                multiprocessing.get_context(self._start_method) if self._start_method else None
            )
            self._pool = ProcessPoolExecutor(max_workers=self._max_workers, mp_context=context)
        return self._pool

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        work = list(items)
        if not work:
            return []
        pool = self._ensure_pool()
        futures: list[Future[R]] = [pool.submit(fn, item) for item in work]
        try:
            results: list[R] = []
            for index, future in enumerate(futures):
                try:
                    results.append(future.result())
                except BrokenProcessPool as e:
                    self.close()  # a broken pool accepts no more work; the next map starts anew
                    raise _failure(index, e) from e
                except Exception as e:
                    raise _failure(index, e) from e
            return results
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Shut the pool down, waiting for running evaluations; idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalProcessExecutor(max_workers={self._max_workers}, started={self.started})"
