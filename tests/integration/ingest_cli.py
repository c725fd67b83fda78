"""``emp ingest <source>`` and ``emp data ls`` run in process on a database under a test's
temporary folder, their ``--json`` answers parsed: shared by the real-library tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from typer.testing import CliRunner

from emp.app.data_commands import data_app_ext, ingest_app

_runner = CliRunner()


def run_ingest(
    tmp_path: Path, source: str, args: Sequence[str], options: Sequence[str] = ()
) -> dict:
    """The JSON report of ``emp ingest source args --db tmp_path/emp.duckdb options``;
    an exception the command raised is raised again, a nonzero exit fails the test."""
    result = _runner.invoke(
        ingest_app,
        [source, *args, "--db", str(tmp_path / "emp.duckdb"), *options, "--json", "--no-progress"],
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def listing(tmp_path: Path) -> list[dict]:
    """``emp data ls --json`` of the database under ``tmp_path``."""
    answer = _runner.invoke(data_app_ext, ["ls", "--db", str(tmp_path / "emp.duckdb"), "--json"])
    return json.loads(answer.stdout)
