"""`emp ingest ...` and `emp data ...`: load market data, validate it, see what is stored.

``ingest_app`` holds ``emp ingest csv|parquet|yahoo|openbb``; :func:`register_data_commands`
adds ``ls`` (coverage, gaps and quarantine), ``quarantine``, ``export`` and ``import`` to
the ``emp data`` sub-app. Every ingest prints its report (rows in, good, quarantined, by
reason, missing sessions) or, with ``--json``, the report as one JSON object.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from emp.app.containers import build_container
from emp.app.data_cli import (
    AdjustedOption,
    CalendarOption,
    DbOption,
    JsonOption,
    MaxMoveOption,
    PgOption,
    PgSchemaOption,
    SymbolOption,
    VolumeOption,
    console,
    parse_calendar,
)
from emp.app.data_stores import open_stores
from emp.app.data_view_commands import data_app_ext, register_data_commands
from emp.app.ingest import IngestReport, ingest_raw, read_raw_file
from emp.app.settings import load_settings
from emp.app.vendor_ingest import (
    fetch_all,
    openbb_source,
    parse_day,
    plan_ranges,
    rules_for,
    yahoo_source,
)
from emp.domain.bar_validation import ValidationRules
from emp.domain.clock_time import ns_to_iso

ingest_app = typer.Typer(
    help="Load market data into the bar store: validated, bad rows quarantined, never fixed.",
    no_args_is_help=True,
)


def file_rules(calendar: str, volume: bool, max_move: float, adjusted: bool) -> ValidationRules:
    return ValidationRules(
        calendar=parse_calendar(calendar),
        require_volume=volume,
        max_move=max_move,
        adjusted=adjusted,
    )


def print_report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), sort_keys=True))
        return
    table = Table(title=f"ingest {report.source}")
    for column in ("symbol", "rows in", "good", "quarantined", "reasons", "missing sessions"):
        table.add_column(column)
    for item in report.symbols:
        reasons = ", ".join(f"{code} {count}" for code, count in item.by_reason.items())
        missing = ", ".join(item.missing_sessions[:3])
        if len(item.missing_sessions) > 3:
            missing += f" (+{len(item.missing_sessions) - 3} more)"
        table.add_row(
            item.symbol,
            str(item.rows_in),
            str(item.good),
            str(item.quarantined),
            reasons,
            missing or "none",
        )
    console().print(table)
    console().print(
        f"{report.good} good rows stored, {report.quarantined} rows quarantined "
        f"(see `emp data quarantine`), {report.rows_in} rows read"
    )


def ingest_file(
    file: Annotated[
        Path, typer.Argument(help="Bar file (read by its extension): timestamp, [symbol,] OHLCV.")
    ],
    symbol: SymbolOption = None,
    calendar: CalendarOption = "none",
    volume: VolumeOption = True,
    max_move: MaxMoveOption = 0.5,
    adjusted: AdjustedOption = True,
    db: DbOption = None,
    pg_dsn: PgOption = None,
    pg_schema: PgSchemaOption = "emp",
    json_output: JsonOption = False,
) -> None:
    """Ingest a bar file: good rows stored, bad rows quarantined with the reason."""
    rules = file_rules(calendar, volume, max_move, adjusted)
    source, raw = read_raw_file(file, default_symbol=symbol)
    with open_stores(db, pg_dsn, pg_schema) as stores:
        report = ingest_raw(
            raw, rules=rules, source=source, bars=stores.bars, quarantine=stores.quarantine
        )
    print_report(report, json_output)


# `emp ingest csv FILE` and `emp ingest parquet FILE`: one command under both names
ingest_app.command(
    "csv", help="Ingest a CSV bar file: good rows stored, bad rows quarantined with the reason."
)(ingest_file)
ingest_app.command(
    "parquet",
    help="Ingest a Parquet bar file: good rows stored, bad rows quarantined with the reason.",
)(ingest_file)


def _ingest_vendor(
    source,
    symbols: list[str],
    start: str | None,
    end: str | None,
    calendar: str,
    adjusted: bool,
    max_move: float,
    db: Path | None,
    pg_dsn: str | None,
    pg_schema: str,
    as_json: bool,
    progress: bool,
    asset: str | None = None,
) -> None:
    first = parse_day(start, "--start")
    with open_stores(db, pg_dsn, pg_schema) as stores:
        last = parse_day(end, "--end") or today_utc(db)
        plan = plan_ranges(symbols, first, last, stores.bars)
        with Progress(
            TextColumn("[bold]emp ingest[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("symbols"),
            TimeElapsedColumn(),
            console=console(stderr=True),
            disable=not progress,
        ) as bar:
            task = bar.add_task(source.describe(), total=len(plan))
            raw = fetch_all(source, plan, lambda symbol: bar.advance(task))
        report = ingest_raw(
            raw,
            rules=lambda symbol: rules_for(
                symbol, calendar=calendar, adjusted=adjusted, max_move=max_move, asset=asset
            ),
            source=source.describe(),
            bars=stores.bars,
            quarantine=stores.quarantine,
        )
    up_to_date = [symbol for symbol, window in plan.items() if window is None]
    if up_to_date and not as_json:
        console(stderr=True).print(f"already up to date: {', '.join(up_to_date)}")
    print_report(report, as_json)


def today_utc(db: Path | None) -> dt.date:
    """Today's UTC date, from the clock adapter."""
    clock = build_container(load_settings(db_path=db)).clock()
    return dt.date.fromisoformat(ns_to_iso(clock.now_ns())[:10])


@ingest_app.command("yahoo")
def ingest_yahoo(
    symbols: Annotated[list[str], typer.Argument(help="Yahoo symbols: SPY, EURUSD=X, ^TNX.")],
    start: Annotated[
        str | None, typer.Option(help="First session date (default: after the last stored bar).")
    ] = None,
    end: Annotated[str | None, typer.Option(help="End date, exclusive (default: today).")] = None,
    interval: Annotated[str, typer.Option(help="1d, 1wk, 1h, 5m, ... (yfinance's).")] = "1d",
    adjusted: AdjustedOption = True,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the cache only; never touch the network.")
    ] = False,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Yahoo cache folder [<data_dir>/cache/yahoo].")
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds before a request fails.")] = 20.0,
    retries: Annotated[int, typer.Option(min=0, help="Retries of a failed request.")] = 2,
    calendar: Annotated[str, typer.Option(help="auto (by symbol), NYSE, FX24x5 or none.")] = "auto",
    max_move: MaxMoveOption = 0.5,
    db: DbOption = None,
    pg_dsn: PgOption = None,
    pg_schema: PgSchemaOption = "emp",
    json_output: JsonOption = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Ingest Yahoo Finance bars: cached, rate limited, validated, bad rows quarantined."""
    settings = load_settings(db_path=db)
    source = yahoo_source(
        interval=interval,
        adjusted=adjusted,
        offline=offline,
        cache_dir=cache_dir or settings.data_dir / "cache" / "yahoo",
        timeout_s=timeout,
        retries=retries,
    )
    _ingest_vendor(
        source,
        symbols,
        start,
        end,
        calendar,
        adjusted,
        max_move,
        db,
        pg_dsn,
        pg_schema,
        json_output,
        progress,
    )


@ingest_app.command("openbb")
def ingest_openbb(
    symbols: Annotated[list[str], typer.Argument(help="Symbols as the provider spells them.")],
    asset: Annotated[
        str, typer.Option(help="equity, etf, index, currency, crypto or economy (FRED).")
    ] = "equity",
    provider: Annotated[str, typer.Option(help="OpenBB provider: yfinance, fmp, fred...")] = (
        "yfinance"
    ),
    start: Annotated[
        str | None, typer.Option(help="First date (default: after the last stored bar).")
    ] = None,
    end: Annotated[str | None, typer.Option(help="End date, exclusive (default: today).")] = None,
    interval: Annotated[str, typer.Option(help="The provider's interval.")] = "1d",
    adjusted: AdjustedOption = True,
    retries: Annotated[int, typer.Option(min=0, help="Retries of a failed request.")] = 2,
    calendar: Annotated[
        str, typer.Option(help="auto (by --asset, then symbol), NYSE, FX24x5 or none.")
    ] = "auto",
    max_move: MaxMoveOption = 0.5,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="IANA zone of naive intraday times (yfinance gives the exchange's, e.g. "
            "America/New_York); without it such bars are refused, never shifted."
        ),
    ] = None,
    db: DbOption = None,
    pg_dsn: PgOption = None,
    pg_schema: PgSchemaOption = "emp",
    json_output: JsonOption = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Ingest bars or macro series through the OpenBB Platform (the openbb extra)."""
    source = openbb_source(
        asset=asset,
        provider=provider,
        interval=interval,
        adjusted=adjusted,
        retries=retries,
        timezone=timezone,
    )
    if asset == "economy" and calendar == "auto":
        calendar = "none"  # macro series are not session data
    _ingest_vendor(
        source,
        symbols,
        start,
        end,
        calendar,
        adjusted,
        max_move,
        db,
        pg_dsn,
        pg_schema,
        json_output,
        progress,
        asset=asset,
    )


__all__ = ["data_app_ext", "ingest_app", "register_data_commands"]
