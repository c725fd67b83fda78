"""`emp ingest` and `emp data` end to end, as a user runs them: subprocesses, no network.

These need the sub-apps registered in `emp` (``app.add_typer(ingest_app, name="ingest")``
and ``register_data_commands(data_app)`` in emp.app.cli).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emp.adapters.yahoo import YahooBarSource, YahooCache
from tests.integration.ingest_frames import bad_frame
from tests.unit.adapters import yahoo_fake

EMP = Path(sys.executable).parent / "emp"


def emp(*args: str, cwd: Path, env: dict[str, str] | None = None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    environment.update(env or {})
    return subprocess.run(
        [str(EMP), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=180
    )


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    return lines[-1]


class TestIngestFiles:
    def test_ingest_csv_then_data_ls_and_quarantine(self, tmp_path: Path) -> None:
        path = tmp_path / "bars.csv"
        bad_frame().to_csv(path, index=False)
        result = emp("ingest", "csv", str(path), "--calendar", "NYSE", "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.splitlines()[-1])
        assert (report["good"], report["quarantined"]) == (9, 5)
        listing = emp("data", "ls", "--json", cwd=tmp_path)
        [row] = json.loads(listing.stdout)
        assert (row["symbol"], row["rows"], row["quarantined"]) == ("AAA", 9, 5)
        quarantine = emp("data", "quarantine", "--json", cwd=tmp_path)
        assert len(json.loads(quarantine.stdout)) == 5

    def test_a_malformed_file_is_a_one_line_error(self, tmp_path: Path) -> None:
        path = tmp_path / "bars.csv"
        bad_frame().drop(columns=["close"]).to_csv(path, index=False)
        line = one_line_error(emp("ingest", "csv", str(path), cwd=tmp_path))
        assert line.startswith("error: MalformedBarFile: ") and "close" in line


class TestIngestYahoo:
    def test_offline_ingest_works_from_a_cache_filled_from_recorded_responses(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        yahoo_fake.install(monkeypatch)
        cache = YahooCache(tmp_path / "cache")
        for symbol in ("SPY", "QQQ", "TLT"):
            YahooBarSource(cache=cache).fetch(symbol, dt.date(2024, 1, 2), dt.date(2024, 3, 29))
        result = emp(
            "ingest", "yahoo", "SPY", "QQQ", "TLT", "--start", "2024-01-02", "--end",
            "2024-03-29", "--offline", "--cache-dir", str(tmp_path / "cache"), "--json",
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.splitlines()[-1])
        assert (report["good"], report["quarantined"]) == (183, 0)

    def test_with_networking_disabled_the_cli_fails_with_a_clear_message(
        self, tmp_path: Path
    ) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
        proxies = {name: dead for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")}
        proxies.update({name.lower(): dead for name in list(proxies)})
        result = emp(
            "ingest", "yahoo", "SPY", "--start", "2024-01-02", "--end", "2024-02-01",
            "--retries", "0", "--no-progress",
            cwd=tmp_path, env={**proxies, "HOME": str(tmp_path), "NO_PROXY": ""},
        )  # fmt: skip
        line = one_line_error(result)
        assert line.startswith("error: SourceUnreachable: ")
        assert "cannot reach Yahoo Finance" in line and "--offline" in line
