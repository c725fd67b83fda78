"""The `emp demo` vertical slice: data → DuckDB → strategy → risk → simulated FIX venue →
portfolio → run store → report.

Everything is wired from the container; this module only sequences the steps and keeps
the run store consistent (a run ends ``completed`` with its orders and fills, or
``failed`` with the reason and nothing partial).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import emp
from emp.adapters.file_bars import CsvParquetBarSource
from emp.adapters.synthetic import RegimeSwitchingBarSource
from emp.app.containers import Container
from emp.app.engine import BarEventEngine, ProgressCallback, RunResult
from emp.app.errors import ConfigError
from emp.app.kill_signals import run_kill_signal
from emp.app.market_windows import MarketFeed
from emp.app.plugins import PluginCatalog
from emp.app.settings import (
    EmpSettings,
    parse_group_limits,
    parse_regime_scales,
    parse_symbol_map,
    parse_volatility_tiers,
)
from emp.domain.bars import bars_data_hash
from emp.domain.clock_time import ns_to_datetime
from emp.domain.errors import EmpError
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.performance import drawdown_series, infer_periods_per_year, summarize
from emp.domain.risk import RiskConfig, RiskRule, build_risk_manager
from emp.domain.strategy import coerce_parameters
from emp.ports.bar_source import BarSourcePort
from emp.ports.bar_store import BarStorePort
from emp.ports.clock import ClockPort
from emp.ports.report_sink import RunReport
from emp.ports.run_store import RunRecord, RunStorePort

DEFAULT_SYMBOLS: tuple[str, ...] = ("SYN_A", "SYN_B", "SYN_C")
DEFAULT_BARS = 756  # three years of business days


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoRequest:
    """What the user asked for (CLI options); the rest comes from :class:`EmpSettings`."""

    strategy: str = "sma_trend"
    params: Mapping[str, str] = field(default_factory=dict)
    data_file: Path | None = None
    symbols: Sequence[str] | None = None
    n_bars: int = DEFAULT_BARS
    #: Run on the bars already in the store (e.g. a restored snapshot): nothing is ingested.
    from_store: bool = False


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    run_id: str
    summary: Mapping[str, Any]
    artifacts: Mapping[str, Path]
    result: RunResult
    warnings: Sequence[str]


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def make_run_id(started_ns: int, config: Mapping[str, Any]) -> str:
    """``<UTC timestamp>-<8 hex of the config hash>``, e.g. ``20261121T101500Z-3f2a9c1d``."""
    stamp = ns_to_datetime(started_ns).strftime("%Y%m%dT%H%M%S%fZ")
    digest = hashlib.sha256(_canonical_json(config).encode()).hexdigest()[:8]
    return f"{stamp}-{digest}"


def start_run(
    container: Container,
    *,
    kind: str,
    strategy: str,
    config: Mapping[str, Any],
    seed: int | None,
    data_hash: str,
) -> tuple[RunStorePort, str, int]:
    """Record a run as started (its id from the clock and the config); returns the run
    store, the run id and the start time."""
    run_store = container.run_store()
    started_ns = container.clock().now_ns()
    run_id = make_run_id(started_ns, config)
    run_store.start_run(
        RunRecord(
            run_id=run_id,
            kind=kind,
            strategy=strategy,
            config=config,
            seed=seed,
            data_hash=data_hash,
            package_version=emp.__version__,
            started_ns=started_ns,
        )
    )
    return run_store, run_id, started_ns


_RISK_SETTINGS = (
    "max_position",
    "max_order_notional",
    "max_gross_exposure",
    "max_leverage",
    "max_open_orders",
    "price_collar",
    "reduce_drawdown",
    "halt_drawdown",
    "drawdown_hysteresis",
    "strategy_orders_per_second",
    "max_losing_adds",
    "max_var",
    "var_method",
    "var_confidence",
    "var_window",
    "max_beta_exposure",
    "vol_window",
    "regime_classifier",
)
# Settings parsed from compact strings (recorded as given).
_RISK_STRING_SETTINGS = (
    "volatility_tiers",
    "regime_scales",
    "group_limits",
    "symbol_sectors",
    "symbol_currencies",
    "beta_benchmark",
)


def risk_settings(settings: EmpSettings) -> dict[str, Any]:
    """The risk-related settings, for the run's recorded config."""
    values: dict[str, Any] = {name: getattr(settings, name) for name in _RISK_SETTINGS}
    for name in _RISK_STRING_SETTINGS:
        if getattr(settings, name):  # unset ones stay out: older runs' configs are unchanged
            values[name] = getattr(settings, name)
    values["resize"] = sorted(_resize_names(settings))
    return values


def _resize_names(settings: EmpSettings) -> frozenset[str]:
    return frozenset(n.strip() for n in settings.risk_resize.split(",") if n.strip())


def risk_config_from(settings: EmpSettings, extra_rules: Sequence[RiskRule] = ()) -> RiskConfig:
    """Map settings onto the domain's risk configuration (one place, used by every run)."""
    group_limits, group_defaults = parse_group_limits(settings.group_limits)
    sectors = parse_symbol_map(settings.symbol_sectors)
    return RiskConfig(
        **{name: getattr(settings, name) for name in _RISK_SETTINGS},
        volatility_tiers=parse_volatility_tiers(settings.volatility_tiers),
        regime_scales=parse_regime_scales(settings.regime_scales),
        groupings={"sector": sectors} if sectors else {},
        currencies=parse_symbol_map(settings.symbol_currencies),
        group_limits=group_limits,
        group_default_limits=group_defaults,
        resize=_resize_names(settings),
        extra_rules=tuple(extra_rules),
    )


def market_feed_from(
    settings: EmpSettings, config: RiskConfig, symbols: Sequence[str]
) -> MarketFeed | None:
    """The rolling windows the run must feed the risk manager; ``None`` when no rule reads
    them (no VaR or beta cap, no volatility tiers, no regime classifier)."""
    wants_returns = config.max_var is not None or config.max_beta_exposure is not None
    reference_window = 0
    if config.volatility_tiers:
        reference_window = config.vol_window + 1
    if config.regime_classifier or config.regime_scales or config.strategy_regime_scales:
        reference_window = max(reference_window, config.regime_window + 1)
    if not (wants_returns or reference_window) or not symbols:
        return None
    ordered = tuple(sorted(symbols))
    benchmark = settings.beta_benchmark or ordered[0]
    if benchmark not in ordered:
        raise ConfigError(
            f"EMP_BETA_BENCHMARK: expected a symbol of the run ({', '.join(ordered)}), "
            f"was {benchmark!r}"
        )
    return MarketFeed(
        symbols=ordered,
        return_window=config.var_window if wants_returns else 0,
        benchmark=benchmark if config.max_beta_exposure is not None else None,
        reference_window=reference_window,
        reference=benchmark if reference_window else None,
    )


@contextmanager
def failed_runs_recorded(run_store: RunStorePort, run_id: str, clock: ClockPort) -> Iterator[None]:
    """Inside: any exception marks the run ``failed`` with the reason, then propagates.

    A run store that cannot record the failure adds a note to the original exception
    instead of replacing it.
    """
    try:
        yield
    except BaseException as error:
        reason = f"{type(error).__name__}: {error}"
        try:
            run_store.fail_run(run_id, reason, clock.now_ns())
        except EmpError as store_error:
            error.add_note(f"could not mark run {run_id} failed: {store_error}")
        raise


def _bar_source(settings: EmpSettings, request: DemoRequest) -> BarSourcePort:
    if request.data_file is not None:
        return CsvParquetBarSource(request.data_file)
    return RegimeSwitchingBarSource(
        list(request.symbols or DEFAULT_SYMBOLS),
        n_bars=request.n_bars,
        seed=settings.seed,
        tick_size=settings.tick_size,
    )


def _stored_symbols(bar_store: BarStorePort, requested: Sequence[str] | None) -> list[str]:
    """The symbols a ``--from-store`` run uses: those asked for (each must be stored), or
    every stored symbol."""
    stored = sorted({c.symbol for c in bar_store.coverage()})
    if not stored:
        raise ConfigError("--from-store: the store holds no bars (emp ingest ... first)")
    if not requested:
        return stored
    missing = sorted(set(requested) - set(stored))
    if missing:
        raise ConfigError(
            f"--from-store: no stored bars for {', '.join(missing)}; stored: {', '.join(stored)}"
        )
    return sorted(set(requested))


def run_demo(
    settings: EmpSettings,
    container: Container,
    catalog: PluginCatalog,
    request: DemoRequest,
    progress: ProgressCallback | None = None,
) -> DemoOutcome:
    catalog.raise_on_failures()
    spec = catalog.strategy(request.strategy)
    params = {**spec.parameters, **coerce_parameters(spec, request.params)}
    strategy = spec.build(params)  # parameters are validated before any I/O

    bar_store = container.bar_store()
    if request.from_store:
        if request.data_file is not None:
            raise ConfigError("--from-store runs on stored bars: drop --data (or --from-store)")
        symbols = _stored_symbols(bar_store, request.symbols)
        data_source = "store"
        # the store's location stays out: a restored snapshot elsewhere reports identically
        data_detail = f"stored bars of {', '.join(symbols)}"
    else:
        source = _bar_source(settings, request)
        loaded = source.load(list(request.symbols) if request.symbols else None)
        symbols = sorted(loaded)
        data_detail = source.describe()
        bar_store.write_bars(loaded, source=data_detail)
        data_source = data_detail if request.data_file is None else f"file:{request.data_file.name}"
    bars = bar_store.read_bars(symbols)  # the run reads what the store holds
    data_hash = bars_data_hash(bars)

    instruments = InstrumentRegistry(
        Instrument(symbol=s, tick_size=settings.tick_size, lot_size=settings.lot_size)
        for s in symbols
    )
    risk_config = risk_config_from(settings, catalog.risk_checks(settings.model_dump(mode="json")))
    risk = build_risk_manager(risk_config)
    market = market_feed_from(settings, risk_config, symbols)
    config = {
        "strategy": spec.name,
        "params": params,
        "symbols": symbols,
        "data_source": data_source,
        "data_hash": data_hash,
        "seed": settings.seed if data_source.startswith("synthetic") else None,
        "venue": settings.venue,
        "fill_model": "next_bar_open",
        "initial_cash": settings.initial_cash,
        "commission_bps": settings.commission_bps,
        "slippage_bps": settings.slippage_bps,
        "risk": {**risk_settings(settings), "rules": [rule.name for rule in risk.rules]},
        "instruments": {"tick_size": settings.tick_size, "lot_size": settings.lot_size},
    }
    run_store, run_id, started_ns = start_run(
        container,
        kind="demo",
        strategy=spec.name,
        config=config,
        seed=config["seed"],
        data_hash=data_hash,
    )
    with (
        failed_runs_recorded(run_store, run_id, container.clock()),
        run_kill_signal(settings, container.kill_signal()) as kill_signal,
    ):
        sim_clock = container.sim_clock()
        engine = BarEventEngine(
            bars=bars,
            instruments=instruments,
            strategy=strategy,
            risk=risk,
            venue=container.venue(instruments=instruments, clock=sim_clock),
            clock=sim_clock,
            initial_cash=settings.initial_cash,
            metrics=container.metrics(),
            kill_signal=kill_signal,
            market=market,
        )
        result = engine.run(progress)
        performance = summarize(
            result.equity,
            result.gross_exposure,
            result.trades,
            result.portfolio.fees_paid,
            periods_per_year=infer_periods_per_year(result.ts_ns),
        )
        summary = {
            **performance.to_dict(),
            "orders": len(result.orders),
            "fills": len(result.fills),
            "risk_rejections": result.risk_rejections,
            "risk_resizes": result.risk_resizes,
            "risk_final_state": result.risk_state.get("trading_state"),
            "risk_state_changes": len(result.risk_state.get("timeline", [])),
            "venue_rejections": result.venue_rejections,
        }
        identity = {
            "run_id": run_id,
            "kind": "demo",
            "strategy": spec.name,
            "seed": config["seed"],
            "data_hash": data_hash,
            "created_utc": ns_to_datetime(started_ns).isoformat(),
            "package_version": emp.__version__,
            "config": config,
            "data_source_detail": data_detail,
        }
        artifacts = container.report_sink().write(
            RunReport(
                run_id=run_id,
                identity=identity,
                summary=summary,
                ts_ns=result.ts_ns,
                equity=result.equity,
                drawdown=drawdown_series(result.equity),
                trades=result.trades,
                notes=result.notes,
                risk=result.risk_state,
            )
        )
        run_store.complete_run(
            run_id, result.orders, result.fills, summary, container.clock().now_ns()
        )
    warnings = catalog.notify_run_finished(run_id, summary)
    return DemoOutcome(run_id, summary, artifacts, result, warnings)
