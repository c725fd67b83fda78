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
import sys
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
from emp.app.md_live_commands import serve, subscribe
from emp.domain.books import BookSynchronizer, synthesize_increments, verify_replay
from emp.domain.errors import EmpError
from emp.domain.features.how import DEPTH_FEATURES, BookFrames, depth_features
from emp.domain.instruments import Instrument
from emp.domain.market_data import (
    MdIncrement,
    MdMessageQuarantined,
    MdSnapshot,
    SnapshotRequested,
)
from emp.ports.market_data import MarketDataPort

md_app = typer.Typer(
    help="FIX market data: replay recordings into order books, backfill snapshots into streams, "
    "serve a venue's books over FIX and subscribe to them.",
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
    progress = Progress(
        TextColumn("replay"), BarColumn(), TextColumn("{task.completed} messages"),
        TimeElapsedColumn(), console=_console(stderr=True), disable=as_json,
    )  # fmt: skip
    with progress:
        task = progress.add_task("replay", total=None)
        # the compiled kernel (docs/market_data.md); what it cannot take goes through Python
        run = port.replay_into(sync, depth=depth)
        sync.drain_events()  # snapshot requests are kept by the port (no venue to ask)
        count = len(run)
        progress.update(task, completed=count)
    frames = {name: run.book_frames(sync, name) for name in run.symbols if name in sync.symbols}
    summary = _summary(sync, frames, depth, count, len(port.quarantined))
    if png is not None:
        _plot(frames, png)
        summary["png"] = str(png)
    if as_json:
        print(json.dumps(summary))
        return
    _print(summary)


def _summary(
    sync: BookSynchronizer,
    frames_by_book: dict[str, BookFrames],
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
        frames = frames_by_book.get(name)
        if frames is not None and len(frames):
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


def _plot(frames_by_book: dict[str, BookFrames], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(frames_by_book) or ["-"]
    fig, axes = plt.subplots(2, len(names), figsize=(7 * len(names), 7), squeeze=False)
    for col, name in enumerate(names):
        if name not in frames_by_book:
            continue
        frames = frames_by_book[name]
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


# live sessions (quickfix): emp.app.md_live_commands
md_app.command("serve")(serve)
md_app.command("subscribe")(subscribe)
