"""`emp data ls|quarantine|export|import`: what is stored, what was refused, parquet copies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from emp.app.data_cli import (
    CalendarOption,
    DbOption,
    JsonOption,
    PgOption,
    PgSchemaOption,
    console,
    parse_calendar,
)
from emp.app.data_stores import DataStores, open_stores
from emp.app.errors import ConfigError
from emp.domain.calendars import SessionCalendar
from emp.domain.clock_time import ns_to_iso

_NS_PER_DAY = 86_400_000_000_000


def session_days(ts_ns: np.ndarray, calendar: SessionCalendar) -> np.ndarray:
    """Session dates: the UTC date for daily bars (stamped at 00:00 UTC), else local."""
    if ts_ns.size and not np.any(ts_ns % _NS_PER_DAY):
        return (ts_ns // _NS_PER_DAY).astype("datetime64[D]")
    local = pd.to_datetime(ts_ns, utc=True).tz_convert(calendar.timezone)
    return np.asarray(local.tz_localize(None).normalize().to_numpy(), dtype="datetime64[D]")


def coverage_rows(stores: DataStores, calendar: SessionCalendar | None) -> list[dict]:
    """One dict per stored symbol: first, last, rows, gaps, quarantined, source."""
    counts = stores.quarantine.quarantine_counts()
    rows = []
    for item in stores.bars.coverage():
        gaps: list[str] = []
        if calendar is not None:
            series = stores.bars.read_bars([item.symbol])[item.symbol]
            gaps = [
                str(day) for day in calendar.missing_sessions(session_days(series.ts_ns, calendar))
            ]
        rows.append(
            {
                "symbol": item.symbol,
                "first": ns_to_iso(item.first_ns),
                "last": ns_to_iso(item.last_ns),
                "rows": item.rows,
                "gaps": gaps,
                "quarantined": counts.get(item.symbol, 0),
                "source": item.source,
            }
        )
    known = {row["symbol"] for row in rows}
    for symbol, count in counts.items():
        if symbol not in known:
            rows.append(
                {
                    "symbol": symbol,
                    "first": None,
                    "last": None,
                    "rows": 0,
                    "gaps": [],
                    "quarantined": count,
                    "source": "",
                }
            )
    return sorted(rows, key=lambda row: row["symbol"])


def data_ls(
    db: DbOption = None,
    pg_dsn: PgOption = None,
    pg_schema: PgSchemaOption = "emp",
    calendar: CalendarOption = "NYSE",
    json_output: JsonOption = False,
) -> None:
    """Stored bars per symbol: coverage, missing sessions (gaps), quarantined rows, source."""
    with open_stores(db, pg_dsn, pg_schema) as stores:
        rows = coverage_rows(stores, parse_calendar(calendar))
    if json_output:
        print(json.dumps(rows, sort_keys=True))
        return
    table = Table(title=f"bars (gaps by the {calendar} calendar)")
    for column in ("symbol", "first", "last", "rows", "gaps", "quarantined", "source"):
        table.add_column(column)
    for row in rows:
        gaps = row["gaps"]
        shown = f"{len(gaps)}" + (f": {', '.join(gaps[:3])}" if gaps else "")
        if len(gaps) > 3:
            shown += ", ..."
        table.add_row(
            row["symbol"],
            row["first"] or "-",
            row["last"] or "-",
            str(row["rows"]),
            shown,
            str(row["quarantined"]),
            row["source"],
        )
    console().print(table)


def data_quarantine(
    symbols: Annotated[list[str] | None, typer.Argument(help="Symbols (default: all).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 100,
    db: DbOption = None,
    pg_dsn: PgOption = None,
    pg_schema: PgSchemaOption = "emp",
    json_output: JsonOption = False,
) -> None:
    """Quarantined rows with the rules they broke, by symbol and time."""
    with open_stores(db, pg_dsn, pg_schema) as stores:
        entries = stores.quarantine.read_quarantine(symbols or None, limit=limit)
    if json_output:
        payload = [
            {
                "source": e.source,
                "symbol": e.bar.symbol,
                "ts_ns": e.bar.ts_ns,
                "source_row": e.bar.source_row,
                "reasons": [str(r) for r in e.bar.reasons],
                "detail": e.bar.detail,
            }
            for e in entries
        ]
        print(json.dumps(payload, sort_keys=True))
        return
    table = Table(title="quarantine")
    for column in ("symbol", "time", "row", "reasons", "detail", "source"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.bar.symbol,
            ns_to_iso(e.bar.ts_ns) if abs(e.bar.ts_ns) < 2**62 else str(e.bar.ts_ns),
            str(e.bar.source_row),
            ", ".join(str(r) for r in e.bar.reasons),
            e.bar.detail,
            e.source,
        )
    console().print(table)


def _parquet_io(stores: DataStores):
    if stores.parquet is None:
        raise ConfigError(
            f"parquet export/import works on the DuckDB store, not {stores.description}"
        )
    return stores.parquet


def data_export(
    table: Annotated[str, typer.Argument(help="bars, quarantine, features, runs, orders, fills")],
    file: Annotated[Path, typer.Argument(help="The Parquet file to write.")],
    symbol: Annotated[str | None, typer.Option(help="Only this symbol's rows.")] = None,
    db: DbOption = None,
) -> None:
    """Export a table of the DuckDB store to a Parquet file."""
    with open_stores(db) as stores:
        rows = _parquet_io(stores).export_table(table, file, symbol=symbol)
    console().print(f"exported {rows} rows of {table} to {file}")


def data_import(
    table: Annotated[str, typer.Argument(help="bars, quarantine, features, runs, orders, fills")],
    file: Annotated[Path, typer.Argument(help="A Parquet file exported from that table.")],
    db: DbOption = None,
) -> None:
    """Append a Parquet file's rows to a table of the DuckDB store, all or nothing."""
    with open_stores(db) as stores:
        rows = _parquet_io(stores).import_table(table, file)
    console().print(f"imported {rows} rows of {table} from {file}")


def data_status(
    db: DbOption = None,
    pg_dsn: PgOption = None,
    pg_schema: PgSchemaOption = "emp",
) -> None:
    """The store in use as JSON: its kind, schema version and how time series are partitioned."""
    with open_stores(db, pg_dsn, pg_schema) as stores:
        status = stores.status()
    print(json.dumps(status, indent=2, sort_keys=True, default=str))


def register_data_commands(data_app: typer.Typer) -> None:
    """Add ``ls``, ``quarantine``, ``status``, ``export``, ``import`` to ``emp data``."""
    data_app.command("ls")(data_ls)
    data_app.command("status")(data_status)
    data_app.command("quarantine")(data_quarantine)
    data_app.command("export")(data_export)
    data_app.command("import")(data_import)


#: A standalone ``emp data`` app with the commands above (for tests and registration).
data_app_ext = typer.Typer(help="Inspect stored market data.", no_args_is_help=True)
register_data_commands(data_app_ext)
