"""FIX round trips through quickfix over loopback: latency, throughput, flatten time.

EMP's initiator (QuickfixVenue, in this process) talks to the served venue
(FixVenueServer: the matching engine behind a quickfix acceptor) over 127.0.0.1. The venue
runs in a child process, as `emp venue serve` does, so each side has its own interpreter;
``orders_per_s_one_process`` repeats the throughput run with both sides in this process
(one GIL for both: the floor).

* ``rtt_p50_ms`` / ``rtt_p99_ms``: one NewOrderSingle at a time, from ``submit_order`` to
  its first ExecutionReport decoded into a domain event on the caller's thread.
* ``orders_per_s``: orders sent back to back, until every one is reported filled.
* ``flatten_ms_p99``: with 50 open positions (one per symbol) and 50 working orders,
  from ``flatten`` (cancel all working orders + MARKET orders against every position) to
  every position confirmed flat by fills and every working order confirmed canceled.

    python benchmarks/fix_roundtrip.py            # a table
    python benchmarks/fix_roundtrip.py --json     # ...and one JSON object as the last line
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from emp.adapters.clocks import SystemClock
from emp.adapters.fix_quickfix import (
    FixCredentials,
    FixSessionConfig,
    FixVenueServer,
    QuickfixVenue,
    Secret,
    VenueServerConfig,
)
from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderAccepted, OrderEvent, OrderFilled, OrderRejected
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching import ladder
from emp.domain.orders import OrderSide, OrderStatus, OrderType

SYMBOLS = [f"S{i:02d}" for i in range(50)]
INSTRUMENTS = InstrumentRegistry(Instrument(symbol=s) for s in SYMBOLS)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _books() -> list:
    """Deep books: no run of this benchmark can exhaust them."""
    return [
        ladder(INSTRUMENTS[s], ts_ns=0, best_bid=99.99, levels=5, size=1_000_000_000)
        for s in SYMBOLS
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _market(cid: str, symbol: str, side: OrderSide = OrderSide.BUY, qty: float = 1) -> SubmitOrder:
    return SubmitOrder(client_order_id=cid, symbol=symbol, side=side, quantity=qty, ts_ns=1)


_ids = itertools.count()


def _next_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


def round_trips(client: QuickfixVenue, n: int) -> list[float]:
    rtts = []
    for i in range(n):
        cid = _next_id("rtt")
        start = time.perf_counter()
        client.submit_order(_market(cid, SYMBOLS[i % 50]))
        while True:
            events = client.wait_events(1.0)
            if any(isinstance(e, OrderRejected) for e in events):
                raise RuntimeError(f"the venue rejected a benchmark order: {events}")
            if any(isinstance(e, OrderAccepted) and e.client_order_id == cid for e in events):
                break
        rtts.append((time.perf_counter() - start) * 1e3)
    _drain_until(client, lambda: not _open(client))
    return rtts


def throughput(client: QuickfixVenue, n: int) -> float:
    """Orders per second, each one answered and filled (one fill per 1-lot market order)."""
    filled = 0

    def count(events: list[OrderEvent]) -> None:
        nonlocal filled
        filled += sum(isinstance(e, OrderFilled) for e in events)

    start = time.perf_counter()
    for i in range(n):
        client.submit_order(_market(_next_id("tp"), SYMBOLS[i % 50]))
        if i % 64 == 63:  # take what has arrived meanwhile, as a trading loop would
            count(client.drain_events())
    _drain_until(client, lambda: filled >= n, on_events=count)
    return n / (time.perf_counter() - start)


def flatten_once(client: QuickfixVenue, trial: int) -> float:
    positions: dict[str, float] = defaultdict(float)

    def book(events: list[OrderEvent]) -> None:
        for event in events:
            if isinstance(event, OrderFilled):
                positions[event.fill.symbol] += event.fill.signed_quantity

    for i, symbol in enumerate(SYMBOLS):  # 50 open positions...
        client.submit_order(_market(f"p{trial}-{i}", symbol, qty=10 + i))
        client.submit_order(  # ...and 50 working orders far from the market
            SubmitOrder(
                client_order_id=f"w{trial}-{i}",
                symbol=symbol,
                side=OrderSide.BUY,
                quantity=1,
                order_type=OrderType.LIMIT,
                limit_price=50.0,
                ts_ns=1,
            )
        )
    _drain_until(client, lambda: _settled(client), on_events=book)
    start = time.perf_counter()
    client.flatten(dict(positions), prefix=f"K{trial}-")
    _drain_until(
        client,
        lambda: all(abs(q) < 1e-9 for q in positions.values()) and not _open(client),
        on_events=book,
    )
    return (time.perf_counter() - start) * 1e3


def _open(client: QuickfixVenue) -> list:
    return client.tracker.open_orders()


def _settled(client: QuickfixVenue) -> bool:
    return all(o.status is not OrderStatus.PENDING_NEW for o in client.tracker.open_orders())


def _drain_until(client, condition, on_events=None, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        events = client.wait_events(0.01)
        if on_events is not None:
            on_events(events)
        if condition():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the venue did not answer in time")


CREDENTIALS = ("bench", "bench-password")


def venue_server(root: Path, port: int) -> FixVenueServer:
    return FixVenueServer(
        VenueServerConfig(
            port=port,
            store_dir=root / "venue",
            log_dir=root / "venue-log",
            credentials={CREDENTIALS[0]: Secret(CREDENTIALS[1])},
        ),
        instruments=INSTRUMENTS,
        clock=SystemClock(),
        initial_market=_books(),
    )


def serve_until_stdin_closes(root: Path, port: int) -> None:
    """The child process: serve the venue until the parent closes our stdin."""
    server = venue_server(root, port)
    try:
        server.start()
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        server.stop()


def client_for(root: Path, port: int) -> QuickfixVenue:
    return QuickfixVenue(
        FixSessionConfig(
            host="127.0.0.1",
            port=port,
            sender_comp_id="EMP",
            target_comp_id="EMPSIM",
            store_dir=root / "client",
            log_dir=root / "client-log",
        ),
        clock=SystemClock(),
        credentials=FixCredentials(username=CREDENTIALS[0], password=Secret(CREDENTIALS[1])),
    )


def measure_two_processes(root: Path, args: argparse.Namespace) -> dict[str, float]:
    port = _port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-venue", str(port), "--root", str(root / "child")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    client = client_for(root / "parent", port)
    try:
        if child.stdout is None or child.stdout.readline().strip() != "ready":
            raise RuntimeError("the venue process did not start")
        client.start()
        client.wait_logged_on(10)
        round_trips(client, 200)  # warm up
        rtts = round_trips(client, args.rtt)
        rate = statistics.median(throughput(client, args.orders) for _ in range(3))
        flattens = [flatten_once(client, t) for t in range(args.flattens)]
    finally:
        try:
            client.stop()
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=30)
    return {
        "rtt_p50_ms": round(_percentile(rtts, 0.50), 3),
        "rtt_p99_ms": round(_percentile(rtts, 0.99), 3),
        "orders_per_s": round(rate, 1),
        "flatten_ms_p50": round(_percentile(flattens, 0.50), 2),
        "flatten_ms_p99": round(_percentile(flattens, 0.99), 2),
    }


def measure_one_process(root: Path, args: argparse.Namespace) -> float:
    port = _port()
    server = venue_server(root / "one", port)
    client = client_for(root / "one", port)
    try:
        server.start()
        client.start()
        client.wait_logged_on(10)
        round_trips(client, 100)
        return throughput(client, args.orders)
    finally:
        try:
            client.stop()
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--orders", type=int, default=5_000, help="orders for throughput")
    parser.add_argument("--rtt", type=int, default=2_000, help="sequential round trips")
    parser.add_argument("--flattens", type=int, default=30, help="flatten trials")
    parser.add_argument("--serve-venue", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_venue:
        serve_until_stdin_closes(args.root, args.serve_venue)
        return
    with tempfile.TemporaryDirectory() as tmp:
        result = measure_two_processes(Path(tmp), args)
        result["orders_per_s_one_process"] = round(measure_one_process(Path(tmp), args), 1)
    result.update(
        orders_measured=args.orders,
        round_trips_measured=args.rtt,
        flatten_trials=args.flattens,
        positions_flattened=len(SYMBOLS),
        cpus=os.cpu_count() or 0,
    )
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
