"""Shared pieces of the data commands: consoles, calendars and the common options."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from emp.domain.calendars import SessionCalendar, calendar_by_name

DbOption = Annotated[Path | None, typer.Option(help="DuckDB file [EMP_DB_PATH].")]
PgOption = Annotated[
    str | None,
    typer.Option("--pg-dsn", help="Use Postgres at this DSN instead of DuckDB."),
]
PgSchemaOption = Annotated[
    str, typer.Option("--pg-schema", help="Postgres schema holding EMP's tables.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")]
CalendarOption = Annotated[
    str, typer.Option(help="Session calendar for session rules and gaps: NYSE, FX24x5 or none.")
]


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def parse_calendar(name: str) -> SessionCalendar | None:
    return None if name.strip().lower() == "none" else calendar_by_name(name)


SymbolOption = Annotated[
    str | None, typer.Option(help="Symbol of a file without a symbol column (default: stem).")
]
VolumeOption = Annotated[
    bool, typer.Option("--volume/--no-volume", help="Zero volume on a session is suspect.")
]
MaxMoveOption = Annotated[
    float, typer.Option(help="Largest unexplained close-to-close move (0.5 = +50%/-33%).")
]
AdjustedOption = Annotated[
    bool, typer.Option("--adjusted/--raw", help="The prices are split/dividend adjusted.")
]
