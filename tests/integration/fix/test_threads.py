"""quickfix's threads and ours: asyncio handoff, and nothing left running at exit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from emp.adapters.fix_quickfix.order_tracker import OrderTracker
from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderAccepted, OrderFilled
from emp.domain.matching import ladder
from emp.domain.orders import OrderSide
from tests.integration.fix.conftest import INSTRUMENTS, SYMBOL, of_kind

ROOT = Path(__file__).resolve().parents[3]


class TestAsyncioHandoff:
    def test_events_reach_the_loop_and_are_applied_on_its_thread(self, lab):
        server = lab.server(
            initial=[ladder(INSTRUMENTS[SYMBOL], ts_ns=0, best_bid=9.99, levels=2, size=1_000)]
        )
        client = lab.client(server.config.port)
        applied_on: set[int] = set()

        class RecordingTracker(OrderTracker):
            def apply(self, *args, **kwargs):
                applied_on.add(threading.get_ident())
                return super().apply(*args, **kwargs)

        client.tracker = RecordingTracker()

        async def trade() -> list:
            client.attach_loop(asyncio.get_running_loop())
            for i in range(20):
                client.submit_order(
                    SubmitOrder(
                        client_order_id=f"a{i}", symbol=SYMBOL, side=OrderSide.BUY, quantity=5
                    )
                )
            events: list = []
            while len(of_kind(events, OrderFilled)) < 20:
                events += await asyncio.wait_for(client.next_events(), timeout=5)
            return events

        loop_thread: list[int] = []

        async def main() -> list:
            loop_thread.append(threading.get_ident())
            return await trade()

        events = asyncio.run(main())
        assert len(of_kind(events, OrderAccepted)) == 20
        assert applied_on == set(loop_thread)


SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.integration.fix.conftest import FixLab, SYMBOL, collect, of_kind
    from emp.domain.commands import SubmitOrder
    from emp.domain.events import OrderFilled
    from emp.domain.matching import ladder
    from emp.domain.orders import OrderSide
    from tests.integration.fix.conftest import INSTRUMENTS

    baseline = len(os.listdir("/proc/self/task"))
    lab = FixLab(Path({tmp!r}))
    try:
        server = lab.server(initial=[ladder(INSTRUMENTS[SYMBOL], ts_ns=0, best_bid=9.99,
                                            levels=2, size=1000)])
        client = lab.client(server.config.port)
        for i in range(10):
            client.submit_order(SubmitOrder(client_order_id=f"o{{i}}", symbol=SYMBOL,
                                            side=OrderSide.BUY, quantity=1))
        collect(client, lambda e: len(of_kind(e, OrderFilled)) == 10)
    finally:
        lab.stop_all()
    del server, client, lab
    import gc; gc.collect()
    print("python threads:", sorted(t.name for t in threading.enumerate()))
    print("os threads:", len(os.listdir("/proc/self/task")) - baseline)
    """
)


class TestShutdown:
    def test_a_process_that_traded_exits_promptly_with_no_threads_left(self, tmp_path):
        script = SCRIPT.format(root=str(ROOT), tmp=str(tmp_path))
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "python threads: ['MainThread']" in done.stdout
        assert "os threads: 0" in done.stdout, done.stdout
