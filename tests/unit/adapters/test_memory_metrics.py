import json
import threading

import pytest

from emp.adapters.memory_metrics import InMemoryMetricsSink
from emp.ports.metrics_sink import MetricsSinkPort


class TestCounters:
    def test_sink_implements_the_metrics_port(self) -> None:
        assert isinstance(InMemoryMetricsSink(), MetricsSinkPort)

    def test_unknown_counter_reads_zero(self) -> None:
        assert InMemoryMetricsSink().counter("orders_total") == 0.0

    def test_increments_add_up(self) -> None:
        sink = InMemoryMetricsSink()
        sink.increment("orders_total")
        sink.increment("orders_total", 2.5)
        assert sink.counter("orders_total") == 3.5

    def test_labels_distinguish_series(self) -> None:
        sink = InMemoryMetricsSink()
        sink.increment("orders_total", venue="sim", side="buy")
        sink.increment("orders_total", venue="sim", side="sell")
        sink.increment("orders_total", 4, venue="sim", side="buy")
        assert sink.counter("orders_total", venue="sim", side="buy") == 5.0
        assert sink.counter("orders_total", side="sell", venue="sim") == 1.0
        assert sink.counter("orders_total") == 0.0

    def test_label_order_does_not_matter(self) -> None:
        sink = InMemoryMetricsSink()
        sink.increment("fills_total", a="1", b="2")
        sink.increment("fills_total", b="2", a="1")
        assert sink.counter("fills_total", a="1", b="2") == 2.0

    def test_a_negative_increment_is_rejected(self) -> None:
        sink = InMemoryMetricsSink()
        with pytest.raises(ValueError, match="non-negative"):
            sink.increment("orders_total", -1.0)
        assert sink.counter("orders_total") == 0.0


class TestGaugesAndObservations:
    def test_unset_gauge_reads_none(self) -> None:
        assert InMemoryMetricsSink().gauge("equity") is None

    def test_gauge_keeps_the_last_value(self) -> None:
        sink = InMemoryMetricsSink()
        sink.set_gauge("equity", 100.0, run="a")
        sink.set_gauge("equity", 95.5, run="a")
        sink.set_gauge("equity", 1.0, run="b")
        assert sink.gauge("equity", run="a") == 95.5
        assert sink.gauge("equity", run="b") == 1.0

    def test_observations_keep_every_sample_in_order(self) -> None:
        sink = InMemoryMetricsSink()
        for value in (3.0, 1.0, 2.0):
            sink.observe("latency_seconds", value, stage="risk")
        assert sink.observations("latency_seconds", stage="risk") == [3.0, 1.0, 2.0]
        assert sink.observations("latency_seconds", stage="venue") == []

    def test_observations_returns_a_copy(self) -> None:
        sink = InMemoryMetricsSink()
        sink.observe("latency_seconds", 1.0)
        sink.observations("latency_seconds").append(99.0)
        assert sink.observations("latency_seconds") == [1.0]

    def test_a_name_cannot_change_kind(self) -> None:
        sink = InMemoryMetricsSink()
        sink.increment("orders_total")
        with pytest.raises(ValueError, match="is a counter"):
            sink.set_gauge("orders_total", 1.0)


class TestNames:
    @pytest.mark.parametrize("name", ["emp_orders_total", "_x", "a:b:c", "A1"])
    def test_prometheus_style_names_are_accepted(self, name: str) -> None:
        sink = InMemoryMetricsSink()
        sink.increment(name)
        assert sink.counter(name) == 1.0

    @pytest.mark.parametrize("name", ["", "1abc", "orders-total", "orders total", "é"])
    def test_other_names_are_rejected(self, name: str) -> None:
        with pytest.raises(ValueError, match="metric name"):
            InMemoryMetricsSink().increment(name)

    @pytest.mark.parametrize("label", ["bad-label", "__reserved"])
    def test_invalid_label_names_are_rejected(self, label: str) -> None:
        with pytest.raises(ValueError, match="label name"):
            InMemoryMetricsSink().set_gauge("equity", 1.0, **{label: "x"})


class TestSnapshot:
    def test_snapshot_is_json_serialisable_and_sorted(self) -> None:
        sink = InMemoryMetricsSink()
        sink.increment("b_total", venue="z")
        sink.increment("a_total", venue="y")
        sink.set_gauge("equity", 10.0)
        sink.observe("latency_seconds", 0.5, stage="risk")
        snapshot = json.loads(json.dumps(sink.snapshot()))
        assert snapshot == {
            "counters": [
                {"name": "a_total", "labels": {"venue": "y"}, "value": 1.0},
                {"name": "b_total", "labels": {"venue": "z"}, "value": 1.0},
            ],
            "gauges": [{"name": "equity", "labels": {}, "value": 10.0}],
            "observations": [
                {"name": "latency_seconds", "labels": {"stage": "risk"}, "values": [0.5]}
            ],
        }

    def test_snapshot_does_not_change_when_the_sink_does(self) -> None:
        sink = InMemoryMetricsSink()
        sink.observe("latency_seconds", 1.0)
        snapshot = sink.snapshot()
        sink.observe("latency_seconds", 2.0)
        assert snapshot["observations"][0]["values"] == [1.0]


class TestThreadSafety:
    def test_concurrent_increments_are_not_lost(self) -> None:
        sink = InMemoryMetricsSink()
        threads_count, per_thread = 8, 2_000
        barrier = threading.Barrier(threads_count)

        def work(worker: int) -> None:
            barrier.wait()
            for _ in range(per_thread):
                sink.increment("events_total", engine="main")
                sink.observe("batch_size", 1.0, worker=str(worker))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sink.counter("events_total", engine="main") == threads_count * per_thread
        for worker in range(threads_count):
            assert len(sink.observations("batch_size", worker=str(worker))) == per_thread
