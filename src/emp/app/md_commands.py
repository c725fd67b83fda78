"""`emp md ...`: FIX market data from the command line, recorded and live.

``replay`` runs a recording (one raw FIX message per line, SOH or ``|``) through the
dedicated decoder and the book synchronizer, with a progress bar, and prints per-instrument
book statistics and depth features (``--png`` also draws the BBO and a depth heatmap).
``backfill`` turns a file of snapshots (35=W) into the minimal incremental stream and
checks that replaying it reproduces every snapshot. ``serve`` runs the venue simulator with
its books published over FIX (quickfix), ``subscribe`` logs on to such a venue and prints
(and optionally records) the books it receives. See docs/market_data.md.
"""

from __future__ import annotations

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
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.fix_codec.md_session import decode_market_data
from emp.adapters.md_replay import FileReplayMarketData, read_raw_messages, write_raw_messages
from emp.app.errors import ConfigError
from emp.domain.books import BookSynchronizer, synthesize_increments, verify_replay
from emp.domain.errors import EmpError
from emp.domain.features.how import DEPTH_FEATURES, BookFrameRecorder, depth_features
from emp.domain.instruments import Instrument
from emp.domain.market_data import (
    MarketDataMessage,
    MdIncrement,
    MdMessageQuarantined,
    MdSnapshot,
    SnapshotRequested,
)
from emp.ports.market_data import MarketDataPort

md_app = typer.Typer(
    help="Replay recorded FIX market data into order books; backfill snapshots into streams.",
    no_args_is_help=True,
)


class _AnyInstrument(dict[str, Instrument]):
    """Every symbol is known, on one tick size (a recording's instruments are not declared)."""

    def __init__(self, tick_size: float, only: set[str]) -> None:
        super().__init__()
        self._tick_size = tick_size
        self._only = only

    def get(self, symbol: str, default: Instrument | None = None) -> Instrument | None:  # type: ignore[override]
        if self._only and symbol not in self._only:
            return default
        if symbol not in self:
            self[symbol] = Instrument(symbol=symbol, tick_size=self._tick_size)
        return self[symbol]


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def _touched(message: MarketDataMessage, all_symbols: list[str]) -> list[str]:
    if isinstance(message, MdSnapshot):
        return [message.symbol]
    if isinstance(message, MdIncrement):
        return list(dict.fromkeys(message.entries.symbols))
    if isinstance(message, MdMessageQuarantined):
        return list(message.symbols) or all_symbols
    return []


def pump(
    port: MarketDataPort, sync: BookSynchronizer, *, limit: int = 4096, on_message=None
) -> int:
    """Feed every message of ``port`` to ``sync``, forwarding snapshot requests; returns count."""
    total = 0
    while True:
        messages = port.drain_events(limit)
        if not messages:
            return total
        for message in messages:
            sync.on_message(message)
            for event in sync.drain_events():
                if isinstance(event, SnapshotRequested):
                    port.request_snapshot(event.symbol)
            if on_message is not None:
                on_message(message)
        total += len(messages)


@md_app.command("replay")
def replay(
    file: Annotated[Path, typer.Argument(help="Recording: one raw FIX message per line.")],
    tick_size: Annotated[float, typer.Option(help="Tick size of every instrument.")] = 0.01,
    symbol: Annotated[
        list[str] | None, typer.Option(help="Only these symbols (repeatable).")
    ] = None,
    depth: Annotated[int, typer.Option(min=1, help="Levels used by the depth features.")] = 5,
    png: Annotated[
        Path | None, typer.Option(help="Draw BBO and depth heatmap to this PNG.")
    ] = None,
    quarantine: Annotated[Path | None, typer.Option(help="Append malformed messages here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay a recording into books; print book statistics and depth features."""
    if not file.is_file():
        raise EmpError(f"no recording at {file}")
    only = set(symbol or [])
    instruments = _AnyInstrument(tick_size, only)
    sync = BookSynchronizer(instruments)
    port = FileReplayMarketData(file, quarantine_path=quarantine)
    recorders: dict[str, BookFrameRecorder] = {}
    last_ts = [0]

    def record(message: MarketDataMessage) -> None:
        ts = getattr(message, "ts_ns", None)
        if ts is not None:
            last_ts[0] = max(last_ts[0], ts)
        for name in _touched(message, sync.symbols):
            if name in sync.symbols:
                recorder = recorders.setdefault(name, BookFrameRecorder(depth))
                recorder.record(last_ts[0], sync.book(name), stale=sync.is_stale(name))

    progress = Progress(
        TextColumn("replay"), BarColumn(), TextColumn("{task.completed} messages"),
        TimeElapsedColumn(), console=_console(stderr=True), disable=as_json,
    )  # fmt: skip
    with progress:
        task = progress.add_task("replay", total=None)
        seen = [0]

        def step(message: MarketDataMessage) -> None:
            record(message)
            seen[0] += 1
            if seen[0] % 1000 == 0:
                progress.update(task, completed=seen[0])

        count = pump(port, sync, limit=2048, on_message=step)
        progress.update(task, completed=count)
    summary = _summary(sync, recorders, depth, count, len(port.quarantined))
    if png is not None:
        _plot(recorders, png)
        summary["png"] = str(png)
    if as_json:
        print(json.dumps(summary))
        return
    _print(summary)


def _summary(
    sync: BookSynchronizer,
    recorders: dict[str, BookFrameRecorder],
    depth: int,
    count: int,
    quarantined: int,
) -> dict[str, Any]:
    stats = sync.stats
    books: dict[str, Any] = {}
    for name in sync.symbols:
        book = sync.book(name)
        bid_px, bid_sz, ask_px, ask_sz = book.bbo()
        entry: dict[str, Any] = {
            "state": sync.state(name).value,
            "bid": _num(bid_px), "bid_size": _num(bid_sz),
            "ask": _num(ask_px), "ask_size": _num(ask_sz),
            "bid_levels": book.level_count(0), "ask_levels": book.level_count(1),
        }  # fmt: skip
        recorder = recorders.get(name)
        if recorder is not None and len(recorder.frames()):
            frames = recorder.frames()
            values = depth_features(frames, frames.ts_ns, levels=depth)
            entry["features_last"] = {k: _num(float(values[k][-1])) for k in DEPTH_FEATURES}
            entry["features_mean"] = {
                k: _num(float(np.nanmean(values[k]))) if np.isfinite(values[k]).any() else None
                for k in DEPTH_FEATURES
            }
        books[name] = entry
    return {
        "messages": count,
        "applied_messages": stats.messages,
        "entries": stats.entries,
        "gaps": stats.gaps,
        "duplicates": stats.duplicates,
        "inconsistencies": stats.inconsistencies,
        "quarantined": quarantined,
        "recoveries": stats.recoveries,
        "books": books,
    }


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


def _print(summary: dict[str, Any]) -> None:
    console = _console()
    console.print(
        f"{summary['messages']} messages, {summary['entries']} entries applied; "
        f"gaps {summary['gaps']}, quarantined {summary['quarantined']}, "
        f"recoveries {summary['recoveries']}"
    )
    table = Table(
        "symbol", "state", "bid", "bid size", "ask", "ask size", "levels", *DEPTH_FEATURES
    )
    for name, book in summary["books"].items():
        last = book.get("features_last", {})
        table.add_row(
            name, book["state"], str(book["bid"]), str(book["bid_size"]), str(book["ask"]),
            str(book["ask_size"]), f"{book['bid_levels']}/{book['ask_levels']}",
            *(f"{last.get(k):.4g}" if last.get(k) is not None else "-" for k in DEPTH_FEATURES),
        )  # fmt: skip
    console.print(table)
    if "png" in summary:
        console.print(f"plot: {summary['png']}")


def _plot(recorders: dict[str, BookFrameRecorder], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(recorders) or ["-"]
    fig, axes = plt.subplots(2, len(names), figsize=(7 * len(names), 7), squeeze=False)
    for col, name in enumerate(names):
        if name not in recorders:
            continue
        frames = recorders[name].frames()
        t = (frames.ts_ns - frames.ts_ns[0]) / 1e9 if len(frames) else frames.ts_ns
        top = axes[0][col]
        top.step(t, frames.bid_px[:, 0], where="post", label="bid", color="tab:green")
        top.step(t, frames.ask_px[:, 0], where="post", label="ask", color="tab:red")
        top.set_title(f"{name}: best bid and offer")
        top.legend(loc="best")
        heat = np.concatenate(
            [np.nan_to_num(frames.bid_sz[:, ::-1]), np.nan_to_num(frames.ask_sz)], axis=1
        )
        axes[1][col].imshow(
            heat.T, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest"
        )
        axes[1][col].set_title(f"{name}: size by level (bids below, offers above)")
        axes[1][col].set_xlabel("message")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@md_app.command("backfill")
def backfill(
    snapshots: Annotated[Path, typer.Argument(help="Recording of 35=W snapshots.")],
    out: Annotated[Path, typer.Argument(help="Where to write the W + minimal X stream.")],
    tick_size: Annotated[float, typer.Option(help="Tick size of every instrument.")] = 0.01,
    soh: Annotated[
        bool, typer.Option("--soh", help="Write SOH separators instead of '|'.")
    ] = False,
    sender: Annotated[
        str, typer.Option(help="SenderCompID of the written stream.")
    ] = "EMPBACKFILL",
    target: Annotated[str, typer.Option(help="TargetCompID of the written stream.")] = "EMP",
) -> None:
    """Snapshots → minimal incremental stream, then check replay reproduces every snapshot."""
    decoded = [decode_market_data(raw) for raw in read_raw_messages(snapshots)]
    bad = [m for m in decoded if isinstance(m, MdMessageQuarantined)]
    if bad:
        raise EmpError(f"{len(bad)} malformed message(s) in {snapshots}; first: {bad[0].reason}")
    series = [m for m in decoded if isinstance(m, MdSnapshot)]
    if not series:
        raise EmpError(f"no snapshots (35=W) in {snapshots}")
    instruments = _AnyInstrument(tick_size, set())
    for snapshot in series:
        instruments.get(snapshot.symbol)
    stream = synthesize_increments(series, instruments)
    if out.exists():
        out.unlink()
    write_raw_messages(
        out,
        (encode_md(m, sender_comp_id=sender, target_comp_id=target) for m in stream),
        separator=b"\x01" if soh else b"|",
    )
    # The check runs on what was written: bytes → dedicated decoder → books.
    written = [decode_market_data(raw) for raw in read_raw_messages(out)]
    checked = verify_replay(written, series, instruments)  # type: ignore[arg-type]
    entries = sum(len(m.entries) for m in stream[1:] if isinstance(m, MdIncrement))
    _console().print(
        f"{len(series)} snapshots → {len(stream)} messages ({entries} incremental entries) "
        f"in {out}; replay reproduces all {checked} snapshots"
    )


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


@md_app.command("serve")
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
    import numpy as np

    from emp.adapters.clocks import SystemClock
    from emp.adapters.synthetic import RegimeSwitchingBarSource
    from emp.app.venue_commands import load_fix_settings, quickfix_adapter
    from emp.domain.instruments import InstrumentRegistry
    from emp.domain.matching import SyntheticLiquidity

    fq = quickfix_adapter()
    settings = load_fix_settings()
    if not insecure_no_auth and not settings.has_credentials:
        raise ConfigError(
            "set EMP_FIX_USERNAME and EMP_FIX_PASSWORD (the credentials clients must log on "
            "with), or pass --insecure-no-auth for a throwaway local venue"
        )
    if liquidity not in ("generated", "bars"):
        raise ConfigError(f"--liquidity must be 'generated' or 'bars', was {liquidity!r}")
    credentials = None
    if not insecure_no_auth:
        assert settings.username is not None and settings.password is not None
        credentials = {settings.username: fq.Secret(settings.password.get_secret_value())}
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
    config = fq.VenueServerConfig(
        port=port,
        store_dir=root / "store",
        log_dir=root / "log",
        venue_comp_id=venue_comp_id,
        client_comp_ids=tuple(_names(clients, "--clients")),
        credentials=credentials,
        data_dictionary=settings.data_dictionary,
        liquidity_interval_ms=interval_ms,
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
            "bid": _num(bid_px), "bid_size": _num(bid_sz),
            "ask": _num(ask_px), "ask_size": _num(ask_sz),
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


@md_app.command("subscribe")
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
    from emp.adapters.clocks import SystemClock
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

    def tick() -> None:
        md.wait_events(0.1)
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
    summary = _live_summary(md, names, recording)
    if as_json:
        print(json.dumps(summary))
        return
    console.print(
        f"{summary['messages']} messages, {summary['entries']} entries; gaps {summary['gaps']}"
        f" (recovered {summary['recoveries']}), sessions lost {summary['sessions_lost']} "
        f"(books resynced {summary['resyncs']})"
        + (f"; recorded {summary['recorded']} messages to {record}" if record else "")
    )
