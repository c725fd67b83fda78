"""`emp data replay`: stream stored bars through the runtime at N× speed, for smoke tests.

The bars are read from the configured store (DuckDB, ``--db``, or Postgres, ``--pg-dsn`` /
``EMP_STORE=postgres``) and driven through the same :class:`BarEventEngine` as every run:
strategy from a plugin, pre-trade risk from the settings, the simulated venue. With
``--speed N`` the wall clock is held to the bars' clock: timestamp ``k`` is not processed
before ``start + (ts_k − ts_0) / N`` seconds (``--speed 60`` plays an hour of bars in a
minute); ``--speed 0`` (the default) runs as fast as possible. Nothing is written to the
run store: a replay is a smoke test of the runtime on real data, not a recorded run.

Register with ``data_app.command("replay")(replay)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from emp.app.containers import build_container, close_stores
from emp.app.data_cli import DbOption, JsonOption, PgOption, console
from emp.app.data_stores import open_stores
from emp.app.demo import market_feed_from, risk_config_from
from emp.app.engine import BarEventEngine, ProgressCallback
from emp.app.errors import ConfigError
from emp.app.hot_state import hot_state_summary, publishing_positions, session_hot_state
from emp.app.kill_signals import run_kill_signal
from emp.app.plugins import make_plugin_manager
from emp.app.settings import EmpSettings, load_settings
from emp.domain.bars import BarSeries
from emp.domain.clock_time import NS_PER_SECOND, datetime_to_ns, ns_to_iso
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.risk import build_risk_manager
from emp.domain.strategy import coerce_parameters
from emp.ports.bar_store import BarStorePort


@dataclass(slots=True)
class Pacer:
    """A progress callback that holds a run to the bars' clock at ``speed``× real time.

    Called by the engine after each timestamp with the number done; before timestamp
    ``k`` may start it sleeps until ``started + (ts_k − ts_0) / speed`` seconds. With
    ``speed`` 0 it never sleeps. ``max_lag_s`` records how far behind schedule the run
    fell at worst (processing slower than the requested speed). The clock and the sleep
    are injected so the schedule can be tested without waiting.
    """

    timeline_ns: np.ndarray
    speed: float
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    on_progress: ProgressCallback | None = None
    started: float | None = None
    max_lag_s: float = 0.0

    def start(self) -> None:
        """Start the schedule now (call right before the run)."""
        self.started = self.monotonic()

    def due(self, k: int) -> float:
        """The monotonic time before which timestamp ``k`` must not be processed."""
        if self.started is None:
            raise RuntimeError("Pacer.start() must be called before the run")
        offset_s = int(self.timeline_ns[k] - self.timeline_ns[0]) / NS_PER_SECOND
        return self.started + offset_s / self.speed

    def __call__(self, done: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(done, total)
        if self.speed <= 0 or done >= self.timeline_ns.shape[0]:
            return
        delay = self.due(done) - self.monotonic()
        if delay > 0:
            self.sleep(delay)
        else:
            self.max_lag_s = max(self.max_lag_s, -delay)


def parse_time(text: str | None, option: str) -> int | None:
    """UTC nanoseconds of an ISO date or date-time (naive means UTC)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option} expected an ISO date or time like 2024-01-31 or 2024-01-31T14:30:00Z, "
            f"was {text!r}"
        ) from None
    return datetime_to_ns(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def parse_params(values: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param expects key=value, was {item!r}")
        params[key.strip()] = value.strip()
    return params


def limit_timestamps(bars: dict[str, BarSeries], limit: int) -> dict[str, BarSeries]:
    """The bars of the first ``limit`` distinct timestamps."""
    timeline = np.unique(np.concatenate([series.ts_ns for series in bars.values()]))
    if timeline.shape[0] <= limit:
        return bars
    end = int(timeline[limit])
    cut = {}
    for symbol, series in bars.items():
        n = int(np.searchsorted(series.ts_ns, end, side="left"))
        if n:
            cut[symbol] = BarSeries.from_arrays(
                symbol,
                series.ts_ns[:n],
                series.open[:n],
                series.high[:n],
                series.low[:n],
                series.close[:n],
                series.volume[:n],
            )
    return cut


def replay_bars(
    settings: EmpSettings,
    bars: dict[str, BarSeries],
    *,
    strategy: str,
    params: dict[str, str],
    speed: float,
    on_progress: ProgressCallback | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Run the bars through the engine at ``speed``; return the summary."""
    catalog = make_plugin_manager(load_entrypoints=not settings.disable_plugin_autoload)
    catalog.raise_on_failures()
    spec = catalog.strategy(strategy)
    chosen = {**spec.parameters, **coerce_parameters(spec, params)}
    symbols = sorted(bars)
    instruments = InstrumentRegistry(
        Instrument(symbol=s, tick_size=settings.tick_size, lot_size=settings.lot_size)
        for s in symbols
    )
    risk_config = risk_config_from(settings, catalog.risk_checks(settings.model_dump(mode="json")))
    risk = build_risk_manager(risk_config)
    container = build_container(settings)
    sim_clock = container.sim_clock()
    timeline = np.unique(np.concatenate([series.ts_ns for series in bars.values()]))
    pacer = Pacer(timeline, speed, monotonic=monotonic, sleep=sleep, on_progress=on_progress)
    with run_kill_signal(settings, container.kill_signal()) as kill_signal:
        engine = BarEventEngine(
            bars=bars,
            instruments=instruments,
            strategy=spec.build(chosen),
            risk=risk,
            venue=container.venue(instruments=instruments, clock=sim_clock),
            clock=sim_clock,
            initial_cash=settings.initial_cash,
            metrics=container.metrics(),
            kill_signal=kill_signal,
            market=market_feed_from(settings, risk_config, symbols),
            fast_forward=speed == 0,  # paced: every bar on the bars' clock
        )
        with session_hot_state(
            settings,
            container,
            account=f"replay-{spec.name}",
            component=f"emp-data-replay.{spec.name}",
        ) as hot:
            step = publishing_positions(pacer, hot, lambda: engine.portfolio.open_quantities())
            pacer.start()
            result = engine.run(step)
    wall_s = monotonic() - (pacer.started or 0.0)
    span_s = int(timeline[-1] - timeline[0]) / NS_PER_SECOND
    return {
        "strategy": spec.name,
        "params": chosen,
        "symbols": symbols,
        "first": ns_to_iso(int(timeline[0])),
        "last": ns_to_iso(int(timeline[-1])),
        "timestamps": int(timeline.shape[0]),
        "bars": sum(len(series) for series in bars.values()),
        "orders": len(result.orders),
        "fills": len(result.fills),
        "risk_rejections": result.risk_rejections,
        "venue_rejections": result.venue_rejections,
        "final_equity": float(result.portfolio.equity),
        "speed": speed,
        "span_s": span_s,
        "wall_s": wall_s,
        "effective_speed": span_s / wall_s if wall_s > 0 else None,
        "bars_per_s": sum(len(s) for s in bars.values()) / wall_s if wall_s > 0 else None,
        "max_lag_s": pacer.max_lag_s,
        "risk_final_state": result.risk_state.get("trading_state"),
        "hot_state": hot_state_summary(hot),
    }


def _read_bars(
    store: BarStorePort,
    symbols: list[str] | None,
    start_ns: int | None,
    end_ns: int | None,
) -> dict[str, BarSeries]:
    chosen = list(dict.fromkeys(symbols)) if symbols else [c.symbol for c in store.coverage()]
    if not chosen:
        raise ConfigError("the store holds no bars: nothing to replay (load some: emp ingest)")
    return store.read_bars(chosen, start_ns, end_ns)


def replay(
    symbols: Annotated[
        list[str] | None, typer.Argument(help="Symbols to replay [every stored symbol].")
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0,
            help="Bar-clock seconds per wall second (60: an hour of bars in a minute); "
            "0 = as fast as possible.",
        ),
    ] = 0.0,
    start: Annotated[str | None, typer.Option(help="First bar time, ISO, UTC (inclusive).")] = None,
    end: Annotated[str | None, typer.Option(help="End time, ISO, UTC (exclusive).")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Replay at most this many timestamps.")
    ] = None,
    strategy: Annotated[str, typer.Option(help="Strategy name (emp plugins list).")] = "sma_trend",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Strategy parameter key=value; repeat.")
    ] = None,
    cash: Annotated[float | None, typer.Option(help="Initial cash [EMP_INITIAL_CASH].")] = None,
    venue: Annotated[str | None, typer.Option(help="sim_fix or sim_direct [EMP_VENUE].")] = None,
    db: DbOption = None,
    pg_dsn: PgOption = None,
    pg_schema: Annotated[
        str | None, typer.Option("--pg-schema", help="Postgres schema [EMP_PG_SCHEMA, emp].")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    json_output: JsonOption = False,
) -> None:
    """Stream stored bars through the runtime (strategy, risk, simulated venue) at N× speed."""
    settings = load_settings(initial_cash=cash, venue=venue, db_path=db)
    start_ns, end_ns = parse_time(start, "--start"), parse_time(end, "--end")
    params = parse_params(param or [])
    if pg_dsn:
        stores = open_stores(pg_dsn=pg_dsn, pg_schema=pg_schema or settings.pg_schema)
        try:
            bars = _read_bars(stores.bars, symbols, start_ns, end_ns)
        finally:
            stores.close()
        where = stores.description
    else:
        container = build_container(settings)
        try:
            bars = _read_bars(container.bar_store(), symbols, start_ns, end_ns)
        finally:
            close_stores(container, settings)
        where = (
            f"postgres schema {settings.pg_schema}"
            if settings.store == "postgres"
            else f"duckdb:{settings.database_path}"
        )
    if limit is not None:
        bars = limit_timestamps(bars, limit)
    with Progress(
        TextColumn("[bold]emp data replay[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("timestamps"),
        TimeElapsedColumn(),
        console=console(stderr=True),
        disable=not progress,
    ) as bar:
        task = bar.add_task("replay", total=None)

        def on_progress(done: int, total: int) -> None:
            if done == 1 or done == total or done % 50 == 0 or speed > 0:
                bar.update(task, completed=done, total=total)

        summary = replay_bars(
            settings, bars, strategy=strategy, params=params, speed=speed, on_progress=on_progress
        )
    summary["store"] = where
    if json_output:
        print(json.dumps(summary, sort_keys=True))
        return
    _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"replay of {', '.join(summary['symbols'])}", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    speed = summary["speed"]
    rows = [
        ("bars", f"{summary['bars']:,}"),
        ("timestamps", f"{summary['timestamps']:,} ({summary['first']} → {summary['last']})"),
        ("orders", str(summary["orders"])),
        ("fills", str(summary["fills"])),
        ("final equity", f"{summary['final_equity']:,.2f}"),
        ("wall time", f"{summary['wall_s']:.3f} s"),
        ("requested speed", "as fast as possible" if speed == 0 else f"{speed:g}×"),
        ("effective speed", _speed(summary["effective_speed"])),
        ("bars per second", _speed(summary["bars_per_s"], suffix="")),
        ("worst lag", f"{summary['max_lag_s']:.3f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console().print(table)


def _speed(value: float | None, suffix: str = "×") -> str:
    return "n/a" if value is None else f"{value:,.0f}{suffix}"


__all__ = ["Pacer", "replay", "replay_bars"]
