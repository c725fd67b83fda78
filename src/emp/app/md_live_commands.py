"""`emp md serve` and `emp md subscribe`: FIX market data over live quickfix sessions.

``serve`` runs the venue simulator with its books published over FIX (35=V/W/X/Y),
``subscribe`` logs on to such a venue and prints (and optionally records, in the format
``emp md replay`` reads) the books it receives. Registered on ``emp md`` by
:mod:`emp.app.md_commands`. See docs/market_data.md.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from emp.adapters.clocks import SystemClock
from emp.app.containers import build_container
from emp.app.data_cli import console as _console
from emp.app.errors import ConfigError
from emp.app.hot_state import HotStatePublisher, hot_state_summary, session_hot_state
from emp.app.settings import load_settings
from emp.domain.books import BookSynchronizer
from emp.domain.errors import EmpError
from emp.domain.instruments import Instrument


# ---------------------------------------------------------------- live: serve, subscribe
class BarLiquidity:
    """Replays generated daily bars as the market, one bar per step
    (:func:`~emp.domain.matching.bar_updates`: a book around the open, trades to the high
    and low, a book at the close); stops moving after the last bar."""

    def __init__(self, bars: Any, instrument: Instrument, *, levels: int) -> None:
        self._bars = bars
        self._instrument = instrument
        self._levels = levels
        self._next = 0

    def step(self, ts_ns: int) -> list:
        from emp.domain.matching import bar_updates

        if self._next >= len(self._bars):
            return []
        bar = self._bars.bar(self._next)
        self._next += 1
        return bar_updates(bar, self._instrument, levels=self._levels)


def _names(text: str, what: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise EmpError(f"{what} needs at least one name, was {text!r}")
    return names


def _until(stop: threading.Event, duration_s: float | None, tick: Any) -> None:
    """Call ``tick()`` until Ctrl-C / SIGTERM or ``duration_s`` has passed."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            tick()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to accept FIX on.")],
    symbols: Annotated[str, typer.Option(help="Listed symbols, comma-separated.")] = (
        "SYN_A,SYN_B,SYN_C"
    ),
    order_level: Annotated[
        bool, typer.Option("--order-level", help="Publish every order with MDEntryID (L3).")
    ] = False,
    liquidity: Annotated[
        str, typer.Option(help="'generated' (seeded random walk) or 'bars' (generated bars).")
    ] = "generated",
    levels: Annotated[int, typer.Option(min=1, help="Book levels per side quoted.")] = 5,
    price: Annotated[float, typer.Option(min=0.01, help="Starting price of each symbol.")] = 100.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the generated liquidity.")] = 42,
    tick_size: Annotated[float, typer.Option(help="Tick size of every symbol.")] = 0.01,
    lot_size: Annotated[float, typer.Option(help="Lot size of every symbol.")] = 1.0,
    clients: Annotated[
        str, typer.Option(help="Client CompIDs allowed, comma-separated.")
    ] = "EMP,EMPMD",
    venue_comp_id: Annotated[str, typer.Option(help="The venue's CompID.")] = "EMPSIM",
    interval_ms: Annotated[int, typer.Option(min=1, help="Liquidity refresh period.")] = 100,
    data_dir: Annotated[
        Path | None, typer.Option(help="Store, logs, journal [EMP_FIX_DATA_DIR/md-venue].")
    ] = None,
    duration_s: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    insecure_no_auth: Annotated[
        bool, typer.Option("--insecure-no-auth", help="Accept any Logon (tests, demos only).")
    ] = False,
) -> None:
    """Serve the venue simulator over FIX 4.4 and publish its books as market data.

    Same venue as `emp venue serve` (orders are matched too), plus 35=V subscriptions
    answered with 35=W snapshots and 35=X increments; --order-level publishes orders (L3)
    instead of price levels. Credentials: EMP_FIX_USERNAME / EMP_FIX_PASSWORD.
    """

    from emp.adapters.clocks import SystemClock
    from emp.adapters.synthetic import RegimeSwitchingBarSource
    from emp.app.venue_commands import (
        load_fix_settings,
        quickfix_adapter,
        venue_credentials,
        venue_server_config,
    )
    from emp.domain.instruments import InstrumentRegistry
    from emp.domain.matching import SyntheticLiquidity

    fq = quickfix_adapter()
    settings = load_fix_settings()
    credentials = venue_credentials(fq, settings, insecure_no_auth)
    if liquidity not in ("generated", "bars"):
        raise ConfigError(f"--liquidity must be 'generated' or 'bars', was {liquidity!r}")
    names = _names(symbols, "--symbols")
    instruments = InstrumentRegistry(
        Instrument(symbol=s, tick_size=tick_size, lot_size=lot_size) for s in names
    )
    if liquidity == "generated":
        rng = np.random.default_rng(seed)
        sources: dict[str, Any] = {
            s: SyntheticLiquidity(
                instruments[s], rng, start_price=price, levels=levels, mean_size=100 * lot_size
            )
            for s in names
        }
    else:
        bars = RegimeSwitchingBarSource(
            names, n_bars=5_000, seed=seed, initial_price=price, tick_size=tick_size
        ).load(names)
        sources = {s: BarLiquidity(bars[s], instruments[s], levels=levels) for s in names}
    root = data_dir or settings.data_dir / "md-venue"
    config = venue_server_config(
        fq,
        settings,
        root,
        port=port,
        venue_comp_id=venue_comp_id,
        client_comp_ids=tuple(_names(clients, "--clients")),
        credentials=credentials,
        interval_ms=interval_ms,
    )
    server = fq.MarketDataVenueServer(
        config,
        instruments=instruments,
        clock=SystemClock(),
        liquidity=sources,
        journal=fq.DuckDBAuditJournal(root / "audit.duckdb"),
        order_level=order_level,
    )
    stop = threading.Event()
    try:
        server.start()
        print(
            f"serving FIX 4.4 venue {venue_comp_id} with market data "
            f"({'orders' if order_level else 'price levels'}, {liquidity} liquidity) on port "
            f"{port} for {', '.join(config.client_comp_ids)}; symbols {', '.join(names)}; "
            f"logs in {config.log_dir}",
            flush=True,
        )
        _until(stop, duration_s, lambda: stop.wait(0.2))
    finally:
        server.stop()
    print("venue stopped", file=sys.stderr)


def _book_line(symbol: str, sync: BookSynchronizer, depth: int) -> str:
    book = sync.book(symbol)
    state = sync.state(symbol).value

    def side(n: int) -> str:
        levels = book.depth(n, depth)
        return " ".join(f"{lv.size:g}@{lv.price:g}" for lv in levels) or "-"

    return f"{symbol} [{state}] bids {side(0)} | asks {side(1)}"


def _live_summary(md: Any, symbols: list[str], recording: Any) -> dict[str, Any]:
    stats = md.total_stats()
    books: dict[str, Any] = {}
    for name in symbols:
        book = md.books.book(name)
        bid_px, bid_sz, ask_px, ask_sz = book.bbo()
        orders = md.books.order_book(name)
        books[name] = {
            "state": md.books.state(name).value,
            "bid": _finite_or_none(bid_px), "bid_size": _finite_or_none(bid_sz),
            "ask": _finite_or_none(ask_px), "ask_size": _finite_or_none(ask_sz),
            "bid_levels": book.level_count(0), "ask_levels": book.level_count(1),
            "orders": None if orders is None else len(orders),
        }  # fmt: skip
    return {
        "messages": md.messages_received,
        "entries": stats.entries,
        "gaps": stats.gaps,
        "recoveries": stats.recoveries,
        "quarantined": stats.quarantined,
        "sessions_lost": md.sessions_lost,
        "resyncs": md.resyncs,
        "recorded": None if recording is None else recording.count,
        "books": books,
    }


def subscribe(
    symbols: Annotated[list[str], typer.Argument(help="Symbols to subscribe to.")],
    host: Annotated[str | None, typer.Option(help="The venue's host [EMP_FIX_HOST].")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="The venue's port [EMP_FIX_PORT].")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    record: Annotated[
        Path | None, typer.Option(help="Write the received W/X here (`emp md replay` reads it).")
    ] = None,
    depth: Annotated[int, typer.Option(min=1, help="Levels shown per side.")] = 1,
    tick_size: Annotated[float, typer.Option(help="Tick size of every symbol.")] = 0.01,
    comp_id: Annotated[str, typer.Option(help="Our CompID for this session.")] = "EMPMD",
    logon_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for Logon.")] = (
        5.0
    ),
    reset_seq_num: Annotated[
        bool,
        typer.Option(
            "--reset-seq-num/--keep-seq-num",
            help="Start every session at MsgSeqNum 1 (141=Y): market data is resynced from "
            "snapshots, never resent.",
        ),
    ] = True,
    data_dir: Annotated[
        Path | None, typer.Option(help="Store and logs [EMP_FIX_DATA_DIR/md].")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="No book lines; print one JSON summary.")
    ] = False,
) -> None:
    """Subscribe to live market data over FIX 4.4 and print the books as they change.

    Logs on with EMP_FIX_USERNAME / EMP_FIX_PASSWORD (if set) as --comp-id to
    EMP_FIX_TARGET_COMP_ID; reconnects with backoff and resyncs if the session drops.
    """
    from emp.app.venue_commands import load_fix_settings, quickfix_adapter

    fq = quickfix_adapter()
    from emp.adapters.fix_quickfix.md_recording import SessionRecording

    settings = load_fix_settings(host=host, port=port)
    credentials = None
    if settings.has_credentials:
        assert settings.username is not None and settings.password is not None
        credentials = fq.FixCredentials(
            username=settings.username, password=fq.Secret(settings.password.get_secret_value())
        )
    names = list(dict.fromkeys(symbols))
    root = data_dir or settings.data_dir / "md"
    config = fq.FixSessionConfig(
        host=settings.host,
        port=settings.port,
        sender_comp_id=comp_id,
        target_comp_id=settings.target_comp_id,
        store_dir=root / "store",
        log_dir=root / "log",
        heartbeat_s=settings.heartbeat_s,
        data_dictionary=settings.data_dictionary,
        reset_on_logon=reset_seq_num,
        tls=fq.TlsFiles(
            ca_file=settings.tls_ca_file,
            certificate_file=settings.tls_certificate_file,
            key_file=settings.tls_key_file,
        )
        if settings.tls_ca_file is not None
        else None,
    )
    recording = SessionRecording(record) if record is not None else None
    md = fq.QuickfixMarketData(
        config,
        clock=SystemClock(),
        instruments={s: Instrument(symbol=s, tick_size=tick_size) for s in names},
        credentials=credentials,
        backoff=fq.Backoff(initial_s=0.5, max_s=5.0),
        on_raw=recording,
    )
    console = _console()
    shown: dict[str, str] = {}
    hot_state = contextlib.ExitStack()
    hot = None
    quoted: dict[str, tuple[float, ...]] = {}

    def tick() -> None:
        md.wait_events(0.1)
        if hot is not None:
            _publish_quotes(hot, md.books, names, quoted)
        if md.rejects:
            reject = md.rejects[0]
            raise EmpError(f"the venue refused the subscription: {reject.text or 'no reason'}")
        if md.refused_requests:
            raise EmpError(
                f"the venue refused the market-data request ({md.refused_requests[0]}); "
                "does it serve market data? (`emp md serve` does)"
            )
        if as_json:
            return
        for name in names:
            line = _book_line(name, md.books, depth)
            if shown.get(name) != line:
                shown[name] = line
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        sys.stdout.flush()  # lines reach a pipe (`| tee`) as they happen

    stop = threading.Event()
    try:
        # the live BBOs to Redis when EMP_REDIS_URL is set; an unreachable one fails here
        emp_settings = load_settings()
        hot = hot_state.enter_context(
            session_hot_state(
                emp_settings,
                build_container(emp_settings),
                account=comp_id,
                component=f"emp-md-subscribe.{comp_id}",
            )
        )
        if recording is not None:
            recording.open()
        md.start()
        md.wait_logged_on(logon_timeout)
        md.subscribe(names)
        if not as_json:
            console.print(f"subscribed to {', '.join(names)} at {config.host}:{config.port}")
            sys.stdout.flush()
        _until(stop, duration, tick)
    finally:
        md.stop()
        if recording is not None:
            recording.close()
        hot_state.close()
    summary = _live_summary(md, names, recording)
    if hot is not None:
        summary["hot_state"] = hot_state_summary(hot)
    if as_json:
        print(json.dumps(summary))
        return
    console.print(
        f"{summary['messages']} messages, {summary['entries']} entries; gaps {summary['gaps']}"
        f" (recovered {summary['recoveries']}), sessions lost {summary['sessions_lost']} "
        f"(books resynced {summary['resyncs']})"
        + (f"; recorded {summary['recorded']} messages to {record}" if record else "")
    )


def _finite_or_none(x: float) -> float | None:
    return None if math.isnan(x) else x


def _publish_quotes(
    hot: HotStatePublisher,
    sync: BookSynchronizer,
    names: list[str],
    quoted: dict[str, tuple[float, ...]],
) -> None:
    """Each live book's BBO when it changed (both sides present), and a heartbeat when due."""
    for name in names:
        if name not in sync.symbols or sync.is_stale(name):
            continue
        bbo = tuple(float(x) for x in sync.book(name).bbo())
        if quoted.get(name) != bbo and all(math.isfinite(x) for x in bbo):
            quoted[name] = bbo
            hot.on_quote(name, *bbo)
    hot.alive()
