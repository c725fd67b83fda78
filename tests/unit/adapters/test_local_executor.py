import os

import pytest

from emp.adapters.local_executor import LocalProcessExecutor, SerialExecutor
from emp.ports.executor import EvaluationExecutorPort, EvaluationFailed


def square(x: int) -> int:
    return x * x


def worker_pid(_: int) -> int:
    return os.getpid()


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ZeroDivisionError("three is unlucky")
    return x


class TestSerialExecutor:
    def test_serial_executor_implements_the_executor_port(self) -> None:
        assert isinstance(SerialExecutor(), EvaluationExecutorPort)

    def test_results_come_back_in_input_order(self) -> None:
        assert SerialExecutor().map(square, iter(range(6))) == [0, 1, 4, 9, 16, 25]

    def test_it_runs_in_this_process(self) -> None:
        assert SerialExecutor().map(worker_pid, [0, 1]) == [os.getpid()] * 2

    def test_a_failing_item_is_reported_with_its_index_and_cause(self) -> None:
        with pytest.raises(EvaluationFailed, match="item 3") as info:
            SerialExecutor().map(fail_on_three, [0, 1, 2, 3, 4])
        assert isinstance(info.value.__cause__, ZeroDivisionError)

    def test_it_works_as_a_context_manager(self) -> None:
        with SerialExecutor() as executor:
            assert executor.map(square, [2]) == [4]


class TestLocalProcessExecutorLifecycle:
    def test_process_executor_implements_the_executor_port(self) -> None:
        assert isinstance(LocalProcessExecutor(), EvaluationExecutorPort)

    def test_no_pool_exists_before_the_first_map(self) -> None:
        executor = LocalProcessExecutor(max_workers=2)
        assert not executor.started
        assert executor._pool is None
        executor.map(square, [1])
        assert executor.started
        executor.close()
        assert not executor.started

    def test_mapping_nothing_starts_no_pool(self) -> None:
        executor = LocalProcessExecutor(max_workers=2)
        assert executor.map(square, []) == []
        assert not executor.started

    def test_close_is_idempotent_and_map_after_close_starts_a_new_pool(self) -> None:
        executor = LocalProcessExecutor(max_workers=1)
        executor.close()
        assert executor.map(square, [3]) == [9]
        executor.close()
        executor.close()
        assert executor.map(square, [4]) == [16]
        executor.close()

    def test_context_manager_closes_the_pool(self) -> None:
        with LocalProcessExecutor(max_workers=2) as executor:
            executor.map(square, [1, 2])
            assert executor.started
        assert not executor.started

    @pytest.mark.parametrize("max_workers", [0, -2])
    def test_non_positive_worker_counts_are_rejected(self, max_workers: int) -> None:
        with pytest.raises(ValueError, match=f"was {max_workers}"):
            LocalProcessExecutor(max_workers=max_workers)

    def test_an_unknown_start_method_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="start_method"):
            LocalProcessExecutor(start_method="teleport")


class TestLocalProcessExecutorResults:
    def test_results_come_back_in_input_order(self) -> None:
        with LocalProcessExecutor(max_workers=3) as executor:
            assert executor.map(square, range(40)) == [x * x for x in range(40)]

    def test_work_runs_in_other_processes(self) -> None:
        with LocalProcessExecutor(max_workers=2) as executor:
            pids = executor.map(worker_pid, range(4))
        assert os.getpid() not in pids

    def test_a_failing_item_is_reported_with_its_index_and_cause(self) -> None:
        with (
            LocalProcessExecutor(max_workers=2) as executor,
            pytest.raises(EvaluationFailed, match=r"item 3 failed: ZeroDivisionError") as info,
        ):
            executor.map(fail_on_three, [0, 1, 2, 3, 4])
        assert isinstance(info.value.__cause__, ZeroDivisionError)
        assert "three is unlucky" in str(info.value)

    def test_the_pool_stays_usable_after_a_failing_item(self) -> None:
        with LocalProcessExecutor(max_workers=2) as executor:
            with pytest.raises(EvaluationFailed):
                executor.map(fail_on_three, [3])
            assert executor.map(square, [5, 6]) == [25, 36]

    def test_an_unpicklable_function_is_reported_as_a_failed_evaluation(self) -> None:
        with LocalProcessExecutor(max_workers=1) as executor, pytest.raises(EvaluationFailed):
            executor.map(lambda x: x, [1])
