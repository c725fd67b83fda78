"""Evaluation executors on this machine: in-process (:class:`SerialExecutor`) and a process
pool (:class:`LocalProcessExecutor`). Both implement
:class:`emp.ports.executor.EvaluationExecutorPort`.
"""

from emp.adapters.local_executor.executor import LocalProcessExecutor, SerialExecutor

__all__ = ["LocalProcessExecutor", "SerialExecutor"]
