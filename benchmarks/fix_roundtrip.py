"""FIX round trips through quickfix over loopback: latency, throughput, flatten time.

EMP's initiator (QuickfixVenue, in this process) talks to the served venue
(FixVenueServer: the matching engine behind a quickfix acceptor) over 127.0.0.1. The venue
runs in a child process, as `emp venue serve` does, so each side has its own interpreter;
``orders_per_s_one_process`` repeats the throughput run with both sides in this process
(one GIL for both: the floor).

* ``rtt_p50_ms`` / ``rtt_p99_ms``: one NewOrderSingle at a time, from ``submit_order`` to
  its first ExecutionReport decoded into a domain event on the caller's thread.
* ``orders_per_s``: orders sent back to back, until every one is reported filled.
* ``cpu_ceiling_orders_per_s``: 2 CPU-seconds per second over the CPU both processes
  spend per order (``echo_cpu_ceiling_orders_per_s``: the same for the quickfix floor):
  what two cores could give if nothing else ran and no core ever waited.
* ``flatten_ms_p99``: with 50 open positions (one per symbol) and 50 working orders,
  from ``flatten`` (cancel all working orders + MARKET orders against every position) to
  every position confirmed flat by fills and every working order confirmed canceled. The
  cancels go as one OrderMassCancelRequest (35=q, EMP's venue serves it; each canceled
  order still gets its own ExecutionReport); ``--no-mass-cancel`` sends one 35=F each.
  ``flatten_positions_only_ms_p99``: the same with the 50 positions alone, the issue's own
  definition (the 35=q still goes, and finds nothing to cancel).

    python benchmarks/fix_roundtrip.py            # a table
    python benchmarks/fix_roundtrip.py --json     # ...and one JSON object as the last line
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import quickfix as fix

from emp.adapters.clocks import SystemClock
from emp.adapters.fix_quickfix import (
    DuckDBAuditJournal,
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


def flatten_once(client: QuickfixVenue, trial: int, *, working: bool = True) -> float:
    positions: dict[str, float] = defaultdict(float)

    def book(events: list[OrderEvent]) -> None:
        for event in events:
            if isinstance(event, OrderFilled):
                positions[event.fill.symbol] += event.fill.signed_quantity

    for i, symbol in enumerate(SYMBOLS):  # 50 open positions...
        client.submit_order(_market(f"p{trial}-{i}", symbol, qty=10 + i))
        if not working:
            continue
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
    _drain_until(client, lambda: _settled(client) and not _market_open(client), on_events=book)
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


def _market_open(client: QuickfixVenue) -> bool:
    """A market order still working (its fill yet to come)."""
    return any(o.limit_price is None for o in client.tracker.open_orders())


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


def venue_server(root: Path, port: int, journal: bool = True) -> FixVenueServer:
    """The venue as `emp venue serve` runs it: FileStore, message log, audit journal."""
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
        journal=DuckDBAuditJournal(root / "venue-audit.duckdb") if journal else None,
    )


def serve_until_stdin_closes(root: Path, port: int, journal: bool) -> None:
    """The child process: serve the venue until the parent closes our stdin."""
    server = venue_server(root, port, journal)
    try:
        server.start()
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        server.stop()


def client_for(
    root: Path, port: int, journal: bool = True, mass_cancel: bool = True
) -> QuickfixVenue:
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
        journal=DuckDBAuditJournal(root / "client-audit.duckdb") if journal else None,
        mass_cancel=mass_cancel,
    )


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) a process has used (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: The cores the two processes get when pinned: the venue on one, EMP's client on another.
VENUE_CPU, CLIENT_CPU = 1, 0


def _can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and {VENUE_CPU, CLIENT_CPU} <= os.sched_getaffinity(0)


@contextlib.contextmanager
def _pinned_here(cpu: int | None) -> Iterator[None]:
    """Run this thread on ``cpu`` inside the block; threads it starts meanwhile (quickfix's,
    the journal's) inherit that. Every thread of the process gets the old affinity back
    at the end."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task), before)


def _child(
    mode: str, root: Path, port: int, *extra: str, cpu: int | None = None
) -> subprocess.Popen:
    pin = ("--cpu", str(cpu)) if cpu is not None else ()
    child = subprocess.Popen(
        [sys.executable, __file__, mode, str(port), "--root", str(root), *extra, *pin],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if child.stdout is None or child.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the {mode} child process did not start")
    return child


def _close(child: subprocess.Popen) -> None:
    if child.stdin is not None:
        child.stdin.close()
    child.wait(timeout=30)


def measure_two_processes(
    root: Path, args: argparse.Namespace, *, pinned: bool = False
) -> dict[str, float]:
    """Every figure of the two-process run; ``pinned``: the venue process on one core and
    this one on another (each process's threads share its core)."""
    with _pinned_here(CLIENT_CPU if pinned else None):
        return _measure_two_processes(root, args, VENUE_CPU if pinned else None)


def _measure_two_processes(
    root: Path, args: argparse.Namespace, venue_cpu: int | None
) -> dict[str, float]:
    port = _port()
    extra = ("--no-journal",) if args.no_journal else ()
    child = _child("--serve-venue", root / "child", port, *extra, cpu=venue_cpu)
    client = client_for(
        root / "parent", port, journal=not args.no_journal, mass_cancel=not args.no_mass_cancel
    )
    try:
        client.start()
        client.wait_logged_on(10)
        round_trips(client, 200)  # warm up
        rtts = round_trips(client, args.rtt)
        rates, venue_us, client_us = [], [], []
        for _ in range(3):
            venue0, client0 = _cpu_s(child.pid), time.process_time()
            rates.append(throughput(client, args.orders))
            venue1 = _cpu_s(child.pid)
            client_us.append((time.process_time() - client0) / args.orders * 1e6)
            if venue0 is not None and venue1 is not None:
                venue_us.append((venue1 - venue0) / args.orders * 1e6)
        flattens = [flatten_once(client, t) for t in range(args.flattens)]
        bare = [flatten_once(client, 10_000 + t, working=False) for t in range(args.flattens)]
    finally:
        try:
            client.stop()
        finally:
            _close(child)
    return {
        "rtt_p50_ms": round(_percentile(rtts, 0.50), 3),
        "rtt_p99_ms": round(_percentile(rtts, 0.99), 3),
        "orders_per_s": round(statistics.median(rates), 1),
        "venue_cpu_us_per_order": round(min(venue_us), 1) if venue_us else -1.0,
        "client_cpu_us_per_order": round(min(client_us), 1),
        "flatten_ms_p50": round(_percentile(flattens, 0.50), 2),
        "flatten_ms_p99": round(_percentile(flattens, 0.99), 2),
        "flatten_positions_only_ms_p50": round(_percentile(bare, 0.50), 2),
        "flatten_positions_only_ms_p99": round(_percentile(bare, 0.99), 2),
    }


def measure_one_process(root: Path, args: argparse.Namespace) -> float:
    port = _port()
    server = venue_server(root / "one", port, journal=not args.no_journal)
    client = client_for(root / "one", port, journal=not args.no_journal)
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


# ---------------------------------------------------------------- the quickfix floor
# The same quickfix sessions (FileStore, dictionary validation, SocketNodelay) with
# almost no Python: the acceptor answers each NewOrderSingle with two prebuilt reports
# from its fromApp callback. What EMP's own work costs is the difference.
_ECHO_REPORTS = (
    "37=O1\x0111={}\x0117=E{}a\x01150=0\x0139=0\x0155=S00\x0154=1\x0138=1\x01151=1\x01"
    "14=0\x016=0\x0160=20260101-00:00:00.000\x01",
    "37=O1\x0111={}\x0117=E{}b\x01150=F\x0139=2\x0155=S00\x0154=1\x0138=1\x0132=1\x01"
    "31=100\x01151=0\x0114=1\x016=100\x0160=20260101-00:00:00.000\x01",
)


def _echo_settings(kind: str, root: Path, port: int) -> tuple[fix.SessionSettings, fix.SessionID]:
    from emp.adapters.fix_quickfix import installed_data_dictionary
    from emp.adapters.fix_quickfix.session_settings import build_settings, common_settings

    ours, theirs = ("EMPSIM", "EMP") if kind == "acceptor" else ("EMP", "EMPSIM")
    defaults = {
        **common_settings(root, installed_data_dictionary()),
        "ConnectionType": kind,
        "SocketAcceptPort": str(port),
        "SocketConnectHost": "127.0.0.1",
        "SocketConnectPort": str(port),
        "HeartBtInt": "30",
        "PersistMessages": "Y" if kind == "acceptor" else "N",
    }
    settings, (session_id,) = build_settings(defaults, [(ours, theirs)])
    return settings, session_id


class _Echo(fix.Application):
    def __init__(self, acceptor: bool) -> None:
        super().__init__()
        self.acceptor, self.received, self.want = acceptor, 0, 0
        self.done, self.logged_on = threading.Event(), threading.Event()

    def onCreate(self, sessionID):
        pass

    def onLogon(self, sessionID):
        self.logged_on.set()

    def onLogout(self, sessionID):
        pass

    def toAdmin(self, message, sessionID):
        pass

    def fromAdmin(self, message, sessionID):
        pass

    def toApp(self, message, sessionID):
        pass

    def fromApp(self, message, sessionID):
        raw = message.toString()
        if self.acceptor:
            start = raw.index("\x0111=") + 4
            cid = raw[start : raw.index("\x01", start)]
            for body in _ECHO_REPORTS:
                text = body.format(cid, cid)
                fix.Session.sendToTarget(_raw_message("8", text), sessionID)
        else:
            self.received += 1
            if self.received >= self.want:
                self.done.set()


def _raw_message(msg_type: str, body: str) -> fix.Message:
    payload = f"35={msg_type}\x01{body}"
    return fix.Message(f"8=FIX.4.4\x019={len(payload)}\x01{payload}10=000\x01", False)


def serve_echo(root: Path, port: int) -> None:
    """The echo child: answer every order until the parent closes our stdin."""
    settings, _ = _echo_settings("acceptor", root, port)
    app, store = _Echo(acceptor=True), fix.FileStoreFactory(settings)
    acceptor = fix.SocketAcceptor(app, store, settings)
    acceptor.start()
    try:
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        acceptor.stop(True)


def echo_throughput(root: Path, port: int, n: int, pid: int) -> dict[str, float]:
    settings, session_id = _echo_settings("initiator", root, port)
    app, store = _Echo(acceptor=False), fix.FileStoreFactory(settings)
    initiator = fix.SocketInitiator(app, store, settings)
    initiator.start()
    try:
        if not app.logged_on.wait(10):
            raise RuntimeError("the echo session did not log on")
        rates, venue_cpu, client_cpu = [], [], []
        for run in range(3):
            app.received, app.want = 0, 2 * n
            app.done.clear()
            venue0, client0, start = _cpu_s(pid), time.process_time(), time.perf_counter()
            for i in range(n):
                body = f"11=e{run}-{i}\x0155=S00\x0154=1\x0160=20260101-00:00:00.000\x01"
                order = _raw_message("D", body + "38=1\x0140=1\x0159=0\x01")
                fix.Session.sendToTarget(order, session_id)
            if not app.done.wait(60):
                raise TimeoutError("the echo venue did not answer in time")
            rates.append(n / (time.perf_counter() - start))
            client_cpu.append((time.process_time() - client0) / n * 1e6)
            venue1 = _cpu_s(pid)
            if venue0 is not None and venue1 is not None:
                venue_cpu.append((venue1 - venue0) / n * 1e6)
    finally:
        initiator.stop(True)
    return {
        "echo_orders_per_s": round(statistics.median(rates), 1),
        "echo_venue_cpu_us_per_order": round(min(venue_cpu), 1) if venue_cpu else -1.0,
        "echo_client_cpu_us_per_order": round(min(client_cpu), 1),
    }


# ------------------------------------------------------------- where EMP's time goes
def stage_costs(n: int = 3_000) -> dict[str, float]:
    """Microseconds per order of each piece of EMP's own work, timed alone in this
    process (best of 3): what the two processes add on top of the quickfix floor."""
    from emp.adapters.fix_codec import decode, encode
    from emp.adapters.fix_codec.engine_fields import fields_from_engine
    from emp.adapters.fix_quickfix.order_tracker import OrderTracker
    from emp.adapters.fix_quickfix.wire import (
        build_message,
        new_order_single_text,
        report_message,
    )
    from emp.domain.matching import MatchingConfig, MatchingEngine, SimulatedExchange

    def best(work, count: int) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            for i in range(count):
                work(i)
            times.append((time.perf_counter() - start) / count * 1e6)
        return min(times)

    now = time.time_ns()
    commands = [_market(f"b{i}", SYMBOLS[i % 50]) for i in range(n)]
    commands = [dataclasses.replace(c, ts_ns=now) for c in commands]
    raws = [build_message("D", encode.new_order_single(c)).toString() for c in commands]
    engine = MatchingEngine(INSTRUMENTS, MatchingConfig(exec_id_prefix="E", order_id_prefix="O"))
    for update in _books():
        engine.apply(update)
    reports = [r for c in commands for r in engine.submit(c, now_ns=now, owner="EMP")]
    report_raws = [build_message(*report_message(r)).toString() for r in reports]
    tracker = OrderTracker()
    for command in commands:
        tracker.on_submit(command)

    def decode_report(i: int) -> None:
        fields = fields_from_engine(report_raws[i])
        cum = fields.optional(14)
        tracker.apply(decode.decode_event(fields), "", float(cum) if cum else None)

    per_order = len(reports) / n  # reports per order (acceptance + fill)
    fresh = MatchingEngine(INSTRUMENTS, MatchingConfig(exec_id_prefix="F", order_id_prefix="P"))
    for update in _books():
        fresh.apply(update)
    exchange = SimulatedExchange(fresh)
    clock = itertools.count(1)
    run = itertools.count()

    def match(i: int) -> None:
        at = next(clock)
        command = dataclasses.replace(commands[i], client_order_id=f"m{next(run)}")
        exchange.send(command, owner="EMP", sent_ns=at)
        exchange.advance_to(at)

    def encode_order(i: int) -> None:  # as QuickfixVenue.submit_order does
        command = commands[i]
        build_message("D", new_order_single_text(command) or encode.new_order_single(command))

    def decode_order(i: int) -> None:
        decode.decode_command(fields_from_engine(raws[i]))

    def encode_report(i: int) -> None:
        build_message(*report_message(reports[i]))

    return {
        "client_encode_order": round(best(encode_order, n), 1),
        "venue_decode_order": round(best(decode_order, n), 1),
        "venue_match": round(best(match, n), 1),
        "venue_encode_reports": round(best(encode_report, len(reports)) * per_order, 1),
        "client_decode_reports": round(best(decode_report, len(reports)) * per_order, 1),
    }


def _ceiling(venue_us: object, client_us: object) -> float:
    """Orders/s two cores busy with nothing but the two processes could give at these
    CPU costs per order (venue + client): 2 s of CPU per second over the cost of one.
    The CPU budget, not a measurement of speed; -1 when a cost is unknown."""
    costs = (float(venue_us), float(client_us))  # type: ignore[arg-type]
    if min(costs) <= 0:
        return -1.0
    return round(2e6 / sum(costs), 1)


def measure_echo(root: Path, orders: int, *, pinned: bool) -> dict[str, float]:
    """The quickfix floor, its acceptor in a child process (pinned as the venue is)."""
    port = _port()
    with _pinned_here(CLIENT_CPU if pinned else None):
        echo = _child("--serve-echo", root, port, cpu=VENUE_CPU if pinned else None)
        try:
            return echo_throughput(root.with_name(root.name + "-client"), port, orders, echo.pid)
        finally:
            _close(echo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--orders", type=int, default=5_000, help="orders for throughput")
    parser.add_argument("--rtt", type=int, default=2_000, help="sequential round trips")
    parser.add_argument("--flattens", type=int, default=30, help="flatten trials")
    parser.add_argument("--no-journal", action="store_true", help="run without audit journals")
    parser.add_argument(
        "--no-mass-cancel", action="store_true", help="flatten with one 35=F per working order"
    )
    parser.add_argument("--serve-venue", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-echo", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-pinned",
        action="store_true",
        help="skip the second run with the venue and the client pinned to a core each",
    )
    args = parser.parse_args()
    if args.cpu is not None:  # a pinned child: its threads, started later, inherit it
        os.sched_setaffinity(0, {args.cpu})
    if args.serve_venue:
        serve_until_stdin_closes(args.root, args.serve_venue, journal=not args.no_journal)
        return
    if args.serve_echo:
        serve_echo(args.root, args.serve_echo)
        return
    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, object] = measure_two_processes(Path(tmp), args)
        result["orders_per_s_one_process"] = round(measure_one_process(Path(tmp), args), 1)
        result.update(measure_echo(Path(tmp) / "echo", args.orders, pinned=False))
        if not args.no_pinned and _can_pin():
            pinned = measure_two_processes(Path(tmp) / "pinned", args, pinned=True)
            pinned.update(measure_echo(Path(tmp) / "echo-pinned", args.orders, pinned=True))
            result.update({f"pinned_{key}": value for key, value in pinned.items()})
    for prefix in ("", "pinned_"):
        if f"{prefix}venue_cpu_us_per_order" not in result:
            continue
        result[f"{prefix}cpu_ceiling_orders_per_s"] = _ceiling(
            result[f"{prefix}venue_cpu_us_per_order"], result[f"{prefix}client_cpu_us_per_order"]
        )
        result[f"{prefix}echo_cpu_ceiling_orders_per_s"] = _ceiling(
            result[f"{prefix}echo_venue_cpu_us_per_order"],
            result[f"{prefix}echo_client_cpu_us_per_order"],
        )
    result["breakdown_us"] = stage_costs()
    result.update(
        journals=not args.no_journal,
        mass_cancel=not args.no_mass_cancel,
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
