"""SimulatedExchange: latency, time order, per-owner FIFO, determinism under a seed."""

from __future__ import annotations

import numpy as np
import pytest

from emp.domain.matching import FixedLatency, LogNormalLatency, SimulatedExchange
from tests.unit.domain.matching.builders import BUY, SELL, book, cancel, engine, kinds, limit


class TestLatency:
    def test_a_command_reaches_the_engine_after_the_entry_delay(self):
        exchange = SimulatedExchange(engine(), FixedLatency(entry_ns=100, report_ns=30))
        assert exchange.send(limit("a", BUY, 10, 99.0), sent_ns=1_000) == 1_100
        assert exchange.advance_to(1_099) == []
        assert exchange.advance_to(1_100) == []  # produced, not yet delivered
        (delivery,) = exchange.advance_to(1_130)
        assert delivery.delivered_ns == 1_130
        assert delivery.report.event.ts_ns == 1_100

    def test_market_data_applies_at_its_own_time_between_commands(self):
        exchange = SimulatedExchange(engine(), FixedLatency(entry_ns=100))
        exchange.send(limit("a", BUY, 10, 99.0), sent_ns=0)  # arrives at 100
        exchange.feed(book(asks=((99.0, 5),), ts_ns=50))  # before the order: rests
        deliveries = exchange.advance_to(200)
        assert kinds([d.report for d in deliveries]) == ["OrderAccepted", "OrderFilled"]

    def test_one_owners_commands_never_overtake_each_other(self):
        rng = np.random.default_rng(0)
        latency = LogNormalLatency(rng, entry_median_ns=1_000, report_median_ns=1_000, sigma=2)
        exchange = SimulatedExchange(engine(), latency)
        for i in range(30):
            exchange.send(limit(f"o{i}", BUY, 1, 90.0), sent_ns=i)
            exchange.send(cancel(f"c{i}", f"o{i}", BUY), sent_ns=i)
        deliveries = exchange.advance_to(10**12)
        assert kinds([d.report for d in deliveries]).count("OrderCancelRejected") == 0
        times = [d.delivered_ns for d in deliveries]
        assert times == sorted(times)

    def test_time_never_moves_backwards(self):
        exchange = SimulatedExchange(engine())
        exchange.advance_to(10)
        with pytest.raises(ValueError, match="forward"):
            exchange.advance_to(9)

    def test_the_same_seed_gives_the_same_deliveries(self):
        def run(seed: int):
            latency = LogNormalLatency(
                np.random.default_rng(seed), entry_median_ns=500, report_median_ns=800
            )
            exchange = SimulatedExchange(engine(), latency)
            exchange.feed(book(bids=((98.0, 50),), asks=((99.0, 50),)))
            for i in range(10):
                exchange.send(limit(f"o{i}", SELL if i % 2 else BUY, 5, 98.5), sent_ns=i * 100)
            return [(d.delivered_ns, d.report.exec_id) for d in exchange.advance_to(10**9)]

        assert run(7) == run(7)
        assert run(7) != run(8)
