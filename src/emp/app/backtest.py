"""The backtest service behind `emp backtest`: the demo's spine with backtest options.

bar source → bar store → (streamed back in chunks) → :class:`BarEventEngine` with the
strategy, the risk manager and the simulated venue that `emp paper` uses → statistics →
report (``docs/reports/<run-id>/``) → run store. The pieces are the demo's
(:mod:`emp.app.demo`); this module adds the fill model, the extra costs, streaming input,
regimes, the extended report and the ``--json`` contract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emp.adapters.book_sim import BookSimulatedVenue, BookVenueConfig
from emp.adapters.file_bars import CsvParquetBarSource
from emp.adapters.fix_sim import FillModel, SimulatedVenueConfig
from emp.adapters.synthetic import RegimeSwitchingBarSource
from emp.app.backtest_data import BarsHasher, BarStream, StoredRange, store_chunks
from emp.app.backtest_report import trades_json, write_report
from emp.app.backtest_walk_forward import json_summary as walk_forward_json
from emp.app.backtest_walk_forward import markdown as walk_forward_markdown
from emp.app.backtest_walk_forward import run_walk_forward, spec_dict
from emp.app.containers import Container
from emp.app.demo import (
    DEFAULT_BARS,
    DEFAULT_SYMBOLS,
    failed_runs_recorded,
    market_feed_from,
    risk_config_from,
    risk_settings,
    start_run,
)
from emp.app.engine import BarEventEngine, ProgressCallback, RunResult
from emp.app.kill_signals import run_kill_signal
from emp.app.plugins import PluginCatalog
from emp.app.settings import EmpSettings
from emp.domain.accounts import AccountTerms, FxSeries
from emp.domain.bars import BarSeries
from emp.domain.errors import EmpError, InvalidConfiguration
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.risk import RiskConfig, build_risk_manager
from emp.domain.splits import WalkForward
from emp.domain.strategy import coerce_parameters
from emp.ports.settable_clock import SettableClockPort
from emp.ports.simulated_venue import SimulatedVenuePort

DEFAULT_CHUNK_BARS = 50_000
#: The fill model that runs orders through the venue simulator's book matching engine.
BOOK_FILL = "book"
BOOK_NOTE = (
    "book fills: orders reach the venue simulator's matching engine after the latency "
    "and walk a displayed book rebuilt from each bar (levels around the open, trades "
    "through the range); passive orders queue behind displayed size"
)
#: Risk caps in absolute units and money that only apply to backtests when set explicitly.
_SCALE_CAPS = ("max_position", "max_order_notional")


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestRequest:
    """What to backtest and how; account, costs and risk limits come from :class:`EmpSettings`.

    Attributes:
        strategy, params: the strategy's registered name and parameter overrides (text or
            typed values).
        data_file: a CSV or Parquet bar file; ``None`` generates seeded synthetic bars.
        symbols, n_bars: which symbols (of the file, or to generate) and how many bars.
        from_store: read ``symbols`` straight from the bar store (no ingest).
        start_ns, end_ns: restrict the run to ``start_ns <= ts < end_ns``.
        fill_model: ``next_open`` (default), ``close`` or ``book`` (the book matching
            engine, :mod:`emp.adapters.book_sim`).
        latency_us, latency_sigma, book_levels, book_size, book_spread_ticks: the book
            fill model's one-way latency (microseconds, each way), its log-normal jitter
            (0: fixed; drawn under the settings' seed), displayed levels per side, size
            per level (``None``: a tenth of each bar's volume) and spread in ticks.
        commission_per_share, commission_fixed, min_commission, spread_bps,
            max_volume_participation: simulated venue costs beyond the settings' bps.
        chunk_bars: bars per symbol read from the store at a time.
        walk_forward: also run every fold of this walk-forward on its train and test
            windows (:mod:`emp.app.backtest_walk_forward`); ``None``: no folds.
        account: cash or margin account, short borrow cost and base currency
            (:class:`~emp.domain.accounts.AccountTerms`); ``None``: an unchecked account
            in the settings' currency with no borrow cost (the default path).
        currencies: symbol → the currency its prices are in (others: the base currency).
        fx_files: currency → a bar file (CSV/parquet, as ``data_file``) whose closes are
            the base currency per unit of it, each from its bar's time on.
        book_file: a recorded FIX market-data file: the run is on its book updates, with
            the book venue, instead of bars (:mod:`emp.app.backtest_book`; ``book_levels``
            levels per side).
    """

    strategy: str
    params: Mapping[str, Any] = field(default_factory=dict)
    data_file: Path | None = None
    symbols: Sequence[str] | None = None
    n_bars: int = DEFAULT_BARS
    from_store: bool = False
    start_ns: int | None = None
    end_ns: int | None = None
    fill_model: str = FillModel.NEXT_OPEN.value
    commission_per_share: float = 0.0
    commission_fixed: float = 0.0
    min_commission: float = 0.0
    spread_bps: float = 0.0
    max_volume_participation: float | None = None
    chunk_bars: int = DEFAULT_CHUNK_BARS
    walk_forward: WalkForward | None = None
    account: AccountTerms | None = None
    currencies: Mapping[str, str] = field(default_factory=dict)
    fx_files: Mapping[str, Path] = field(default_factory=dict)
    latency_us: float = 0.0
    latency_sigma: float = 0.0
    book_levels: int = 5
    book_size: float | None = None
    book_spread_ticks: int = 1
    book_file: Path | None = None


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    run_id: str
    summary: Mapping[str, Any]
    artifacts: Mapping[str, Path]
    result: RunResult
    warnings: Sequence[str]
    analysis: Mapping[str, Any]

    def json_line(self) -> dict[str, Any]:
        """The ``--json`` object: the keys of the CLI contract (plus ``walk_forward``).

        The six contract keys always describe the whole run; a walk-forward run adds
        ``walk_forward`` (spec, per-fold table, stitched out-of-sample equity).
        """
        line = {
            "trades": trades_json(self.result.trades),
            "n_trades": len(self.result.trades),
            "final_equity": self.summary["final_equity"],
            "return_pct": self.summary["total_return"] * 100.0,
            "max_drawdown_pct": self.summary["max_drawdown"] * 100.0,
            "sharpe": self.summary["sharpe"],
        }
        if "walk_forward" in self.analysis:
            line["walk_forward"] = walk_forward_json(self.analysis["walk_forward"])
        return line


def backtest_risk_config(settings: EmpSettings, catalog: PluginCatalog) -> RiskConfig:
    """The demo's risk configuration, without the unit/notional caps unless set explicitly.

    ``max_position`` and ``max_order_notional`` default to absolute sizes fitted to the
    demo's account; a backtest's scale is its ``--cash``, so they apply only when the user
    set them (``EMP_MAX_POSITION``, ``EMP_MAX_ORDER_NOTIONAL``) or resize by them.
    """
    config = risk_config_from(settings, catalog.risk_checks(settings.model_dump(mode="json")))
    dropped = {
        name: None
        for name in _SCALE_CAPS
        if name not in settings.model_fields_set and name not in config.resize
    }
    return dataclasses.replace(config, **dropped)


def venue_config(settings: EmpSettings, request: BacktestRequest) -> SimulatedVenueConfig:
    if request.fill_model == BOOK_FILL:  # only the commissions apply to book fills
        return SimulatedVenueConfig(
            commission_bps=settings.commission_bps,
            commission_per_share=request.commission_per_share,
            commission_fixed=request.commission_fixed,
            min_commission=request.min_commission,
        )
    return SimulatedVenueConfig(
        commission_bps=settings.commission_bps,
        commission_per_share=request.commission_per_share,
        commission_fixed=request.commission_fixed,
        min_commission=request.min_commission,
        slippage_bps=settings.slippage_bps,
        spread_bps=request.spread_bps,
        max_volume_participation=request.max_volume_participation,
        fill_model=request.fill_model,  # validated (InvalidConfiguration) by the config
    )


def book_config(settings: EmpSettings, request: BacktestRequest) -> BookVenueConfig:
    """The book fill model's venue settings (``--fill book``)."""
    if request.spread_bps or request.max_volume_participation is not None:
        raise InvalidConfiguration(
            "spread_bps and max_volume_participation apply to the bar fill models; the "
            "book fill model takes its spread in ticks and its depth from the bars"
        )
    latency_ns = round(request.latency_us * 1_000)
    return BookVenueConfig(
        levels=request.book_levels,
        size_per_level=request.book_size,
        spread_ticks=request.book_spread_ticks,
        entry_latency_ns=latency_ns,
        report_latency_ns=latency_ns,
        latency_sigma=request.latency_sigma,
        seed=settings.seed,
        commission_bps=settings.commission_bps,
        commission_per_share=request.commission_per_share,
        commission_fixed=request.commission_fixed,
        min_commission=request.min_commission,
    )


def _book_dict(book: BookVenueConfig) -> dict[str, Any]:
    return {
        "levels": book.levels,
        "size_per_level": book.size_per_level,
        "volume_fraction_per_level": book.volume_fraction_per_level,
        "spread_ticks": book.spread_ticks,
        "queue_model": book.queue_model.value,
        "entry_latency_ns": book.entry_latency_ns,
        "report_latency_ns": book.report_latency_ns,
        "latency_sigma": book.latency_sigma,
        "seed": book.seed,
    }


def _venue_factory(
    container: Container,
    instruments: InstrumentRegistry,
    venue_settings: SimulatedVenueConfig,
    book: BookVenueConfig | None,
) -> Callable[[SettableClockPort], SimulatedVenuePort]:
    """A new venue per run: the book venue, or the container's bar venue."""

    def make(clock: SettableClockPort) -> SimulatedVenuePort:
        if book is not None:
            return BookSimulatedVenue(instruments, clock, book)
        return container.venue(instruments=instruments, clock=clock, config=venue_settings)

    return make


@dataclass(slots=True)
class _Data:
    stored: StoredRange
    source: str
    data_hash: str
    seed: int | None
    regimes: tuple[np.ndarray, list[str]] | None  # (ts_ns, label) from the generator


def _prepare_data(settings: EmpSettings, container: Container, request: BacktestRequest) -> _Data:
    store = container.bar_store()
    hasher = BarsHasher()
    if request.from_store:
        if not request.symbols:
            raise InvalidConfiguration("a backtest from the store needs symbols")
        stored = _restricted(StoredRange.from_store(store, list(request.symbols)), request)
        for chunk in store_chunks(store, stored, request.chunk_bars):
            hasher.update(chunk)
        return _Data(stored, "store", hasher.hexdigest(), None, None)
    regimes = None
    if request.data_file is not None:
        source = CsvParquetBarSource(request.data_file)
        seed = None
        described = f"file:{request.data_file.name}"
    else:
        source = RegimeSwitchingBarSource(
            list(request.symbols or DEFAULT_SYMBOLS),
            n_bars=request.n_bars,
            seed=settings.seed,
            tick_size=settings.tick_size,
        )
        seed = settings.seed
        described = source.describe()
        regimes = source.regime_labels()
    loaded = source.load(list(request.symbols) if request.symbols else None)
    store.write_bars(loaded, source=source.describe())
    stored = _restricted(StoredRange.of(loaded), request)
    hasher.update(_window(loaded, stored))
    return _Data(stored, described, hasher.hexdigest(), seed, regimes)


@dataclass(frozen=True, slots=True)
class FxFile:
    """One currency's rates (from a bar file's closes) and the file's data hash."""

    series: FxSeries
    data_hash: str


def load_fx(files: Mapping[str, Path]) -> dict[str, FxFile]:
    """Each currency's rates from the closes of its bar file (one symbol per file)."""
    table: dict[str, FxFile] = {}
    for currency, path in sorted(files.items()):
        loaded = CsvParquetBarSource(path, default_symbol=currency).load()
        if len(loaded) != 1:
            raise InvalidConfiguration(
                f"an FX file holds one series, {path.name} has {len(loaded)}: "
                f"{', '.join(sorted(loaded))}"
            )
        (series,) = loaded.values()
        hasher = BarsHasher()
        hasher.update(loaded)
        table[currency] = FxFile(
            FxSeries.of(currency, series.ts_ns, series.close), hasher.hexdigest()
        )
    return table


def _restricted(stored: StoredRange, request: BacktestRequest) -> StoredRange:
    start = stored.start_ns if request.start_ns is None else max(stored.start_ns, request.start_ns)
    end = stored.end_ns if request.end_ns is None else min(stored.end_ns, request.end_ns)
    if end <= start:
        raise InvalidConfiguration(
            f"expected bars in [{request.start_ns}, {request.end_ns}), the data covers "
            f"[{stored.start_ns}, {stored.end_ns})"
        )
    return dataclasses.replace(stored, start_ns=start, end_ns=end)


def _window(bars: Mapping[str, BarSeries], stored: StoredRange) -> dict[str, BarSeries]:
    out = {}
    for symbol, series in bars.items():
        lo, hi = np.searchsorted(series.ts_ns, [stored.start_ns, stored.end_ns])
        if hi > lo:
            out[symbol] = BarSeries.from_arrays(
                symbol,
                series.ts_ns[lo:hi],
                series.open[lo:hi],
                series.high[lo:hi],
                series.low[lo:hi],
                series.close[lo:hi],
                series.volume[lo:hi],
            )
    return out


def run_backtest(
    settings: EmpSettings,
    container: Container,
    catalog: PluginCatalog,
    request: BacktestRequest,
    progress: ProgressCallback | None = None,
) -> BacktestOutcome:
    """Run one backtest end to end; the run is recorded ``completed`` or ``failed``."""
    if request.book_file is not None:  # book data, no bars (imported here: it imports us)
        from emp.app.backtest_book import run_book_backtest

        return run_book_backtest(settings, container, catalog, request, progress)
    catalog.raise_on_failures()
    spec = catalog.strategy(request.strategy)
    params = {**spec.parameters, **coerce_parameters(spec, request.params)}
    strategy = spec.build(params)  # parameters are validated before any I/O
    venue_settings = venue_config(settings, request)
    book = book_config(settings, request) if request.fill_model == BOOK_FILL else None
    if request.chunk_bars < 1:
        raise InvalidConfiguration(f"chunk_bars must be >= 1, was {request.chunk_bars!r}")
    data = _prepare_data(settings, container, request)
    symbols = list(data.stored.symbols)
    account = request.account
    if request.fx_files and account is None:
        account = AccountTerms()
    base = account.base_currency if account is not None else "USD"
    unknown = sorted(set(request.currencies) - set(symbols))
    if unknown:
        raise InvalidConfiguration(
            f"currencies given for {', '.join(unknown)}, which the data does not have; "
            f"symbols: {', '.join(symbols)}"
        )
    instruments = InstrumentRegistry(
        Instrument(
            symbol=s,
            tick_size=settings.tick_size,
            lot_size=settings.lot_size,
            currency=request.currencies.get(s, base),
        )
        for s in symbols
    )
    fx_files = load_fx(request.fx_files)
    fx = [entry.series for entry in fx_files.values()] if fx_files else None
    risk_config = backtest_risk_config(settings, catalog)
    risk = build_risk_manager(risk_config)
    market = market_feed_from(settings, risk_config, symbols)
    config = {
        "strategy": spec.name,
        "params": params,
        "symbols": symbols,
        "data_source": data.source,
        "data_hash": data.data_hash,
        "range_ns": [data.stored.start_ns, data.stored.end_ns],
        "seed": data.seed,
        "venue": "book_sim" if book is not None else settings.venue,
        "fill_model": BOOK_FILL if book is not None else venue_settings.fill_model.value,
        "initial_cash": settings.initial_cash,
        "costs": {
            "commission_bps": venue_settings.commission_bps,
            "commission_per_share": venue_settings.commission_per_share,
            "commission_fixed": venue_settings.commission_fixed,
            "min_commission": venue_settings.min_commission,
            "slippage_bps": venue_settings.slippage_bps,
            "spread_bps": venue_settings.spread_bps,
            "max_volume_participation": venue_settings.max_volume_participation,
        },
        "risk": {
            **risk_settings(settings),
            **{name: getattr(risk_config, name) for name in _SCALE_CAPS},
            "rules": [rule.name for rule in risk.rules],
        },
        "instruments": {"tick_size": settings.tick_size, "lot_size": settings.lot_size},
        "chunk_bars": request.chunk_bars,
    }
    if book is not None:
        config["book"] = _book_dict(book)  # costs: commissions; the walk is in the prices
    if request.walk_forward is not None:
        config["walk_forward"] = spec_dict(request.walk_forward)
    if account is not None:
        config["account"] = dataclasses.asdict(account)
    if request.currencies or request.fx_files:
        config["currencies"] = dict(sorted(request.currencies.items()))
        config["fx"] = {c: entry.data_hash for c, entry in fx_files.items()}
    make_venue = _venue_factory(container, instruments, venue_settings, book)
    run_store, run_id, started_ns = start_run(
        container,
        kind="backtest",
        strategy=spec.name,
        config=config,
        seed=data.seed,
        data_hash=data.data_hash,
    )
    with (
        failed_runs_recorded(run_store, run_id, container.clock()),
        run_kill_signal(settings, container.kill_signal()) as kill_signal,
    ):
        sim_clock = container.sim_clock()
        venue = make_venue(sim_clock)
        engine = BarEventEngine(
            bars={},
            instruments=instruments,
            strategy=strategy,
            risk=risk,
            venue=venue,
            clock=sim_clock,
            initial_cash=settings.initial_cash,
            metrics=container.metrics(),
            kill_signal=kill_signal,
            market=market,
            account=account,
            fx=fx,
        )
        stream = BarStream(
            store_chunks(container.bar_store(), data.stored, request.chunk_bars), symbols[0]
        )
        result = engine.run_chunks(stream, progress)
        if stream.hasher.hexdigest() != data.data_hash:
            raise EmpError(
                "the bars changed in the store during the run: expected data hash "
                f"{data.data_hash}, was {stream.hasher.hexdigest()}"
            )
        if book is not None:
            result.notes.insert(0, BOOK_NOTE)
        extra: dict[str, Any] = {}
        if request.walk_forward is not None:

            def run_window(start_ns: int, end_ns: int) -> RunResult:
                window = dataclasses.replace(data.stored, start_ns=start_ns, end_ns=end_ns)
                clock = container.sim_clock()
                return BarEventEngine(
                    bars={},
                    instruments=instruments,
                    strategy=spec.build(params),
                    risk=build_risk_manager(risk_config),
                    venue=make_venue(clock),
                    clock=clock,
                    initial_cash=settings.initial_cash,
                    market=market,
                    account=account,
                    fx=fx,
                ).run_chunks(store_chunks(container.bar_store(), window, request.chunk_bars))

            extra["walk_forward"] = run_walk_forward(
                request.walk_forward, result.ts_ns, settings.initial_cash, run_window
            )
        summary, artifacts, analysis = write_report(
            container.report_sink(),
            run_id=run_id,
            started_ns=started_ns,
            config=config,
            regimes=data.regimes,
            stream=stream,
            result=result,
            extra_analysis=extra,
            fill_liquidity=getattr(venue, "fill_liquidity", None),
        )
        if "walk_forward" in analysis and "report.md" in artifacts:
            with artifacts["report.md"].open("a", encoding="utf-8") as report_md:
                report_md.write(walk_forward_markdown(analysis["walk_forward"]))
        run_store.complete_run(
            run_id, result.orders, result.fills, summary, container.clock().now_ns()
        )
    warnings = catalog.notify_run_finished(run_id, summary)
    return BacktestOutcome(run_id, summary, artifacts, result, warnings, analysis)
