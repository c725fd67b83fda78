"""`emp backtest --book FILE`: a strategy on recorded book data, through the book venue.

A recording (one raw FIX market-data message per line, 35=W/X, as ``emp md serve`` /
``write_raw_messages`` write it) is replayed through :class:`FileReplayMarketData` and the
:class:`~emp.domain.books.BookSynchronizer`; after each message, every instrument whose
book is live and whose best ``levels`` levels changed gives a
:class:`~emp.domain.matching.BookSnapshot` of those levels, and every trade entry a
:class:`~emp.domain.matching.TradePrint` (its aggressor: BUY at or above the best ask
shown before it, SELL at or below the best bid, else the side nearer its price), both at
the message's SendingTime. A stale book (a gap, before its snapshot) gives nothing until
it recovers. The updates are parsed once into a :class:`~emp.app.book_spool.BookSpool`
(chunks in a temporary file, removed after the run; the symbols, counts, time range and
marks the run needs beforehand kept as small numpy arrays) and streamed back, a chunk at a
time, to :class:`~emp.app.engine.BarEventEngine` (no bars) with the book venue
(:class:`~emp.adapters.book_sim.BookSimulatedVenue`: orders walk the recorded depth after
the latency), the run's risk manager and the strategy's ``on_book``; the report and the
``--json`` line are those of a bar backtest (the equity curve has one point per update
time; regimes and regret read the first symbol's mids).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emp.adapters.book_sim import BookSimulatedVenue, BookVenueConfig
from emp.adapters.md_replay import FileReplayMarketData
from emp.app.backtest import (
    BOOK_FILL,
    BacktestOutcome,
    BacktestRequest,
    backtest_risk_config,
    book_config,
)
from emp.app.backtest_data import BarStream
from emp.app.backtest_report import write_report
from emp.app.book_spool import BookSpool
from emp.app.containers import Container
from emp.app.demo import failed_runs_recorded, risk_settings, start_run
from emp.app.engine import BarEventEngine, ProgressCallback
from emp.app.kill_signals import run_kill_signal
from emp.app.plugins import PluginCatalog
from emp.app.settings import EmpSettings
from emp.domain.books import BookSynchronizer
from emp.domain.errors import InvalidConfiguration
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.market_data import (
    EntryType,
    MdIncrement,
    MdSnapshot,
    SnapshotRequested,
    TradeReported,
)
from emp.domain.matching import BookSnapshot, MarketUpdate, TradePrint
from emp.domain.orders import OrderSide
from emp.domain.risk import build_risk_manager
from emp.domain.strategy import Strategy, coerce_parameters

BOOK_DATA_NOTE = (
    "book data: a recorded FIX book replayed through the venue simulator's matching "
    "engine; orders decided on an update leave at its time and walk the recorded depth "
    "in force when they arrive, after the latency"
)


class _Instruments(dict[str, Instrument]):
    """Every symbol a recording names, on the run's tick and lot size (created on sight)."""

    def __init__(self, tick_size: float, lot_size: float) -> None:
        super().__init__()
        self._tick_size = tick_size
        self._lot_size = lot_size

    def get(self, symbol: str, default: Instrument | None = None) -> Instrument | None:  # type: ignore[override]
        if symbol not in self:
            self[symbol] = Instrument(
                symbol=symbol, tick_size=self._tick_size, lot_size=self._lot_size
            )
        return self[symbol]


class RecordedBookUpdates:
    """The recording's book updates (the module doc), parsed as they are iterated.

    ``symbols``: every symbol the recording named so far, sorted (all of them once the
    iteration has ended), with or without live book data.
    """

    def __init__(self, path: Path, *, levels: int, tick_size: float, lot_size: float) -> None:
        self._path = path
        self._levels = levels
        self._instruments = _Instruments(tick_size, lot_size)

    @property
    def symbols(self) -> list[str]:
        return sorted(self._instruments)

    def __iter__(self) -> Iterator[MarketUpdate]:
        levels = self._levels
        sync = BookSynchronizer(self._instruments)
        port = FileReplayMarketData(self._path)
        shown: dict[str, BookSnapshot] = {}
        while not port.exhausted:
            for message in port.drain_events(limit=4096):
                sync.on_message(message)
                if isinstance(message, MdSnapshot):
                    touched = [message.symbol]
                elif isinstance(message, MdIncrement):
                    touched = list(dict.fromkeys(message.entries.symbols))
                else:
                    touched = []
                for event in sync.drain_events():
                    if isinstance(event, SnapshotRequested):
                        port.request_snapshot(event.symbol)
                    elif isinstance(event, TradeReported) and event.size > 0:
                        yield _trade(event, shown.get(event.symbol), message.ts_ns)
                for symbol in touched:
                    if symbol not in sync.symbols or sync.is_stale(symbol):
                        continue
                    book = sync.book(symbol)
                    snapshot = BookSnapshot(
                        symbol=symbol,
                        ts_ns=message.ts_ns,
                        bids=tuple((lv.price, lv.size) for lv in book.depth(EntryType.BID, levels)),
                        asks=tuple(
                            (lv.price, lv.size) for lv in book.depth(EntryType.OFFER, levels)
                        ),
                    )
                    before = shown.get(symbol)
                    if before is None or (before.bids, before.asks) != (
                        snapshot.bids,
                        snapshot.asks,
                    ):
                        shown[symbol] = snapshot
                        yield snapshot


def recorded_book_updates(
    path: Path, *, levels: int, tick_size: float, lot_size: float
) -> tuple[list[MarketUpdate], list[str]]:
    """The recording as a list of book updates and the symbols it names, sorted (for tests
    and small recordings: a run streams them through a :class:`BookSpool`)."""
    recorded = RecordedBookUpdates(path, levels=levels, tick_size=tick_size, lot_size=lot_size)
    updates = list(recorded)
    return updates, recorded.symbols


def _trade(event: TradeReported, before: BookSnapshot | None, ts_ns: int) -> TradePrint:
    aggressor = OrderSide.BUY
    if before is not None:
        ask = before.asks[0][0] if before.asks else None
        bid = before.bids[0][0] if before.bids else None
        if ask is not None and event.price >= ask:
            aggressor = OrderSide.BUY
        elif bid is not None and event.price <= bid:
            aggressor = OrderSide.SELL
        elif ask is not None and bid is not None:
            aggressor = OrderSide.BUY if ask - event.price <= event.price - bid else OrderSide.SELL
    return TradePrint(
        symbol=event.symbol,
        ts_ns=ts_ns,
        price=event.price,
        quantity=event.size,
        aggressor=aggressor,
    )


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _reference_stream(spool: BookSpool, symbol: str) -> BarStream:
    """The first symbol's marks as the report's reference series (regimes, regret)."""
    stream = BarStream(iter(()), symbol)
    ts, closes = spool.marks(symbol)
    if ts.size:
        stream.ts.append(ts)
        stream.closes.append(closes)
    return stream


def run_book_backtest(
    settings: EmpSettings,
    container: Container,
    catalog: PluginCatalog,
    request: BacktestRequest,
    progress: ProgressCallback | None = None,
) -> BacktestOutcome:
    """Run one backtest on ``request.book_file``; recorded ``completed`` or ``failed``."""
    path = request.book_file
    if path is None:  # pragma: no cover - the caller dispatches on it
        raise InvalidConfiguration("a book backtest needs a recording (book_file)")
    if request.data_file is not None or request.from_store or request.walk_forward is not None:
        raise InvalidConfiguration(
            "a book backtest runs on its recording only: give no bar data and no walk-forward"
        )
    if request.currencies or request.fx_files:
        raise InvalidConfiguration("a book backtest trades in the base currency only")
    if not Path(path).is_file():
        raise InvalidConfiguration(f"expected a market-data recording at {path}, found none")
    catalog.raise_on_failures()
    spec = catalog.strategy(request.strategy)
    params = {**spec.parameters, **coerce_parameters(spec, request.params)}
    strategy = spec.build(params)
    book = book_config(settings, request)
    with BookSpool() as spool:
        recorded = RecordedBookUpdates(
            Path(path), levels=request.book_levels, tick_size=settings.tick_size,
            lot_size=settings.lot_size,
        )  # fmt: skip
        spool.write(recorded)
        symbols = recorded.symbols
        if not spool.count():
            raise InvalidConfiguration(f"the recording {path} holds no live book data")
        wanted: set[str] | None = None
        if request.symbols:
            wanted = set(request.symbols)
            symbols = [s for s in symbols if s in wanted]
            if not spool.count(wanted):
                raise InvalidConfiguration(
                    f"the recording {path} has no book data for {', '.join(sorted(wanted))}"
                )
        return _run_spooled(
            settings, container, catalog, request, progress, path=Path(path), spool=spool,
            wanted=wanted, symbols=symbols, strategy_name=spec.name, params=params,
            strategy=strategy, book=book,
        )  # fmt: skip


def _run_spooled(
    settings: EmpSettings,
    container: Container,
    catalog: PluginCatalog,
    request: BacktestRequest,
    progress: ProgressCallback | None,
    *,
    path: Path,
    spool: BookSpool,
    wanted: set[str] | None,
    symbols: list[str],
    strategy_name: str,
    params: dict[str, Any],
    strategy: Strategy,
    book: BookVenueConfig,
) -> BacktestOutcome:
    """The run itself, on the spooled updates (of ``wanted`` symbols; ``None``: all)."""
    instruments = InstrumentRegistry(
        Instrument(symbol=s, tick_size=settings.tick_size, lot_size=settings.lot_size)
        for s in symbols
    )
    risk_config = backtest_risk_config(settings, catalog)
    risk = build_risk_manager(risk_config)
    data_hash = file_hash(Path(path))
    config: dict[str, Any] = {
        "strategy": strategy_name,
        "params": params,
        "symbols": symbols,
        "data_source": f"book:{Path(path).name}",
        "data_hash": data_hash,
        "range_ns": list(spool.time_range(wanted) or ()),
        "seed": None,
        "venue": "book_sim",
        "fill_model": BOOK_FILL,
        "initial_cash": settings.initial_cash,
        "costs": {
            "commission_bps": book.commission_bps,
            "commission_per_share": book.commission_per_share,
            "commission_fixed": book.commission_fixed,
            "min_commission": book.min_commission,
            "slippage_bps": 0.0,
            "spread_bps": 0.0,
            "max_volume_participation": None,
        },
        "risk": {**risk_settings(settings), "rules": [rule.name for rule in risk.rules]},
        "instruments": {"tick_size": settings.tick_size, "lot_size": settings.lot_size},
        "book": {
            "levels": request.book_levels,
            "updates": spool.count(wanted),
            "queue_model": book.queue_model.value,
            "entry_latency_ns": book.entry_latency_ns,
            "report_latency_ns": book.report_latency_ns,
            "latency_sigma": book.latency_sigma,
            "seed": book.seed,
        },
    }
    if request.account is not None:
        config["account"] = dataclasses.asdict(request.account)
    run_store, run_id, started_ns = start_run(
        container,
        kind="backtest",
        strategy=strategy_name,
        config=config,
        seed=None,
        data_hash=data_hash,
    )
    with (
        failed_runs_recorded(run_store, run_id, container.clock()),
        run_kill_signal(settings, container.kill_signal()) as kill_signal,
    ):
        sim_clock = container.sim_clock()
        venue = BookSimulatedVenue(instruments, sim_clock, book)
        result = BarEventEngine(
            bars={},
            instruments=instruments,
            strategy=strategy,
            risk=risk,
            venue=venue,
            clock=sim_clock,
            initial_cash=settings.initial_cash,
            metrics=container.metrics(),
            kill_signal=kill_signal,
            account=request.account,
            book_updates=spool.read(wanted),
        ).run(progress)
        result.notes.insert(0, BOOK_DATA_NOTE)
        summary, artifacts, analysis = write_report(
            container.report_sink(),
            run_id=run_id,
            started_ns=started_ns,
            config=config,
            regimes=None,
            stream=_reference_stream(spool, symbols[0]),
            result=result,
            fill_liquidity=venue.fill_liquidity,
        )
        run_store.complete_run(
            run_id, result.orders, result.fills, summary, container.clock().now_ns()
        )
    warnings = catalog.notify_run_finished(run_id, summary)
    return BacktestOutcome(run_id, summary, artifacts, result, warnings, analysis)
