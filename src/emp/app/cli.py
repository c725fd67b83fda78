"""The `emp` command.

Every deliberate error (any :class:`~emp.domain.errors.EmpError`) prints one line,
``error: <Kind>: <what went wrong>``, and exits with status 1; ``--debug`` (or
``EMP_DEBUG=1``) shows the traceback instead. Usage errors exit with status 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import emp
from emp.adapters.clocks import SystemClock
from emp.app.backtest_commands import backtest
from emp.app.containers import build_container, close_stores
from emp.app.data_commands import ingest_app, register_data_commands
from emp.app.demo import DEFAULT_BARS, DemoRequest, run_demo
from emp.app.errors import ConfigError
from emp.app.md_commands import md_app
from emp.app.md_commands import replay as md_replay
from emp.app.model_commands import model_app
from emp.app.paper_commands import paper_app
from emp.app.params import parse_params
from emp.app.plugins import make_plugin_manager
from emp.app.replay_commands import replay
from emp.app.settings import EmpSettings, load_settings
from emp.app.snapshot_commands import snapshot_app
from emp.app.venue_commands import venue_app
from emp.domain.clock_time import ns_to_iso
from emp.domain.errors import EmpError

app = typer.Typer(
    name="emp",
    help=(
        "EMP — Evolving Market Predator: FIX-native algorithmic-trading research.\n\n"
        "Start with `emp demo`: it generates seeded bars (or reads --data FILE), stores them "
        "in DuckDB, runs a strategy from a plugin through pre-trade risk and the simulated "
        "FIX venue, and writes a report to docs/reports/<run-id>/.\n\n"
        "Settings come from EMP_* environment variables (the README's Configuration "
        "section lists them); options given here override them. Errors print one line "
        "and exit 1; --debug shows the traceback."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
plugins_app = typer.Typer(help="Inspect installed plugins (entry-point group emp.plugins).")
runs_app = typer.Typer(help="Inspect stored runs (the run store).")
data_app = typer.Typer(help="Inspect stored market data (the bar store).")
app.add_typer(plugins_app, name="plugins")
app.add_typer(runs_app, name="runs")
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")
app.add_typer(md_app, name="md")
app.add_typer(ingest_app, name="ingest")
app.add_typer(snapshot_app, name="snapshot")
register_data_commands(data_app)
data_app.command("replay")(replay)
app.command()(backtest)
# `emp replay FILE` is `emp md replay FILE` (the name the market-data issue gives it)
app.command(
    "replay",
    help="Replay a FIX market-data recording into order books; print book statistics and "
    "depth features, --png plots the BBO and a depth heatmap (same as `emp md replay`).",
)(md_replay)
app.add_typer(venue_app, name="venue")
app.add_typer(paper_app, name="paper")


def _console(stderr: bool = False) -> Console:
    """A console; when piped, wide enough that tables keep ids and numbers whole."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
) -> None:
    """Global options (read by :func:`main`)."""


def _catalog(settings: EmpSettings):
    return make_plugin_manager(load_entrypoints=not settings.disable_plugin_autoload)


@app.command()
def demo(
    data: Annotated[
        Path | None,
        typer.Option(help="CSV or parquet bars (timestamp, [symbol,] OHLCV). Default: generated."),
    ] = None,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols (default SYN_A,SYN_B,SYN_C).")
    ] = None,
    bars: Annotated[int, typer.Option(min=2, help="Generated bars per symbol.")] = DEFAULT_BARS,
    seed: Annotated[int | None, typer.Option(help="Generator seed [EMP_SEED, 42].")] = None,
    strategy: Annotated[str, typer.Option(help="Strategy name (emp plugins list).")] = (
        "sma_trend"
    ),
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Strategy parameter key=value; repeat.")
    ] = None,
    cash: Annotated[float | None, typer.Option(help="Initial cash [EMP_INITIAL_CASH].")] = None,
    venue: Annotated[
        str | None, typer.Option(help="sim_fix (orders as FIX messages) or sim_direct [EMP_VENUE].")
    ] = None,
    commission_bps: Annotated[
        float | None, typer.Option(help="Commission in bps of notional [EMP_COMMISSION_BPS].")
    ] = None,
    max_position: Annotated[
        float | None, typer.Option(help="Risk cap on |position| per symbol [EMP_MAX_POSITION].")
    ] = None,
    max_notional: Annotated[
        float | None,
        typer.Option(help="Risk cap on one order's notional [EMP_MAX_ORDER_NOTIONAL]."),
    ] = None,
    reports_dir: Annotated[
        Path | None, typer.Option(help="Report folder [EMP_REPORTS_DIR, docs/reports].")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="DuckDB file [EMP_DB_PATH, .emp/emp.duckdb].")
    ] = None,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="Run on the bars already in the store (--db), e.g. a restored snapshot; "
            "nothing is ingested. --symbols picks among them (default: all).",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
) -> None:
    """Run the vertical slice end to end and write a report. Needs no network."""
    settings = load_settings(
        seed=seed,
        initial_cash=cash,
        venue=venue,
        commission_bps=commission_bps,
        max_position=max_position,
        max_order_notional=max_notional,
        reports_dir=reports_dir,
        db_path=db,
    )
    request = DemoRequest(
        strategy=strategy,
        params=parse_params(param or []),
        data_file=data,
        symbols=[s.strip() for s in symbols.split(",") if s.strip()] if symbols else None,
        n_bars=bars,
        from_store=from_store,
    )
    container = build_container(settings)
    try:
        with Progress(
            TextColumn("[bold]emp demo[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("bars"),
            TimeElapsedColumn(),
            console=_console(stderr=True),
            disable=not progress,
            transient=False,
        ) as bar:
            task = bar.add_task("run", total=None)

            def on_progress(done: int, total: int) -> None:
                if done == 1 or done == total or done % 50 == 0:
                    bar.update(task, completed=done, total=total)

            outcome = run_demo(settings, container, _catalog(settings), request, on_progress)
    finally:
        close_stores(container, settings)
    for warning in outcome.warnings:
        _console(stderr=True).print(f"warning: {warning}")
    if json_output:
        print(json.dumps({"run_id": outcome.run_id, **outcome.summary}, sort_keys=True))
        return
    _print_summary(outcome.run_id, outcome.summary, outcome.artifacts)


def _fmt(value: object, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2%}" if percent else f"{value:,.2f}"
    return str(value)


def _print_summary(run_id: str, summary: dict, artifacts: dict) -> None:
    table = Table(title=f"run {run_id}", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    percents = {"total_return", "cagr", "volatility", "max_drawdown", "exposure", "win_rate"}
    for key in (
        "total_return",
        "cagr",
        "sharpe",
        "max_drawdown",
        "exposure",
        "trades",
        "win_rate",
        "final_equity",
        "fees",
        "risk_rejections",
    ):
        table.add_row(key, _fmt(summary.get(key), key in percents))
    _console().print(table)
    report = artifacts.get("report.md")
    if report is not None:
        _console().print(f"report: {report.parent}")


@plugins_app.command("list")
def plugins_list() -> None:
    """Installed plugins, the strategies and features they register, and load failures."""
    settings = load_settings()
    catalog = _catalog(settings)
    table = Table(title="plugins (entry-point group emp.plugins)")
    for column in ("plugin", "distribution", "version", "status"):
        table.add_column(column)
    table.add_row("emp.builtin", "emp-framework", emp.__version__, "loaded (built in)")
    for info in catalog.infos:
        status = "loaded" if info.loaded else f"FAILED: {info.error}"
        table.add_row(info.name, info.distribution, info.version, status)
    if settings.disable_plugin_autoload:
        _console().print("plugin autoload disabled (EMP_DISABLE_PLUGIN_AUTOLOAD)")
    _console().print(table)
    strategies = Table(title="strategies")
    for column in ("name", "parameters (defaults)", "description"):
        strategies.add_column(column)
    for name, spec in catalog.strategies().items():
        defaults = ", ".join(f"{k}={v}" for k, v in spec.parameters.items())
        strategies.add_row(name, defaults, spec.description)
    _console().print(strategies)
    features = catalog.features()
    if features:
        table = Table(title="features")
        for column in ("name", "family", "lookback", "description"):
            table.add_column(column)
        for feature in features:
            table.add_row(feature.name, feature.family, str(feature.lookback), feature.description)
        _console().print(table)


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    db: Annotated[Path | None, typer.Option(help="DuckDB file [EMP_DB_PATH].")] = None,
) -> None:
    """Stored runs, newest first, with status and headline numbers."""
    settings = load_settings(db_path=db)
    container = build_container(settings)
    try:
        runs = container.run_store().list_runs(limit)
    finally:
        close_stores(container, settings)
    table = Table(title="runs")
    table.add_column(
        "run id", no_wrap=True, min_width=max((len(r.run_id) for r in runs), default=6)
    )
    for column in ("strategy", "status", "total return", "sharpe", "error"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run.run_id,
            run.strategy,
            run.status,
            _fmt(run.summary.get("total_return"), percent=True),
            _fmt(run.summary.get("sharpe")),
            run.error or "",
        )
    _console().print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id from `emp runs list`.")],
    db: Annotated[Path | None, typer.Option(help="DuckDB file [EMP_DB_PATH].")] = None,
) -> None:
    """One run as JSON: identity, status, summary, order and fill counts."""
    settings = load_settings(db_path=db)
    container = build_container(settings)
    try:
        store = container.run_store()
        run = store.get_run(run_id)
        if run is None:
            raise ConfigError(f"no run with id {run_id!r} (see `emp runs list`)")
        payload = {
            "run_id": run.run_id,
            "kind": run.kind,
            "strategy": run.strategy,
            "status": run.status,
            "error": run.error,
            "started_utc": ns_to_iso(run.started_ns),
            "finished_utc": ns_to_iso(run.finished_ns) if run.finished_ns else None,
            "seed": run.seed,
            "data_hash": run.data_hash,
            "package_version": run.package_version,
            "config": dict(run.config),
            "summary": dict(run.summary),
            "orders": len(store.orders(run_id)),
            "fills": len(store.fills(run_id)),
        }
    finally:
        close_stores(container, settings)
    print(json.dumps(payload, indent=2, sort_keys=True, default=str))


@app.command()
def kill(
    reason: Annotated[
        str | None, typer.Option(help="Why trading must stop (recorded in every run's audit).")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Withdraw the request (halted runs stay halted).")
    ] = False,
    kill_file: Annotated[
        Path | None, typer.Option(help="The kill file [EMP_KILL_FILE, <data_dir>/KILL].")
    ] = None,
) -> None:
    """Halt every running session: cancel working orders, flatten positions, refuse new risk.

    Writes the kill file that runs poll at every bar (the same file for every session that
    shares the data directory). `emp kill --clear` removes it before the next run.
    """
    settings = load_settings(kill_file=kill_file)
    signal = build_container(settings).kill_signal()
    if clear:
        removed = signal.clear()
        print(f"kill request {'withdrawn' if removed else 'was not present'}: {signal.path}")
        return
    if not reason:
        raise ConfigError("emp kill needs --reason (or --clear)")
    signal.request(reason, SystemClock().now_ns())
    print(f"kill requested: {signal.path} ({reason})")


@app.command()
def version() -> None:
    """Print EMP's version."""
    print(emp.__version__)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `emp` script: one-line errors, exit codes 1 (error) / 2 (usage)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("EMP_DEBUG", "") not in ("", "0")
    command = typer.main.get_command(app)
    try:
        # standalone mode: the CLI framework prints usage errors itself (exit 2) and exits
        command.main(args=args, prog_name="emp", standalone_mode=True)
    except EmpError as error:
        if debug:
            raise
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:
        if debug:
            raise
        print(
            f"error: unexpected {type(error).__name__}: {error} (run with --debug for the "
            "traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
