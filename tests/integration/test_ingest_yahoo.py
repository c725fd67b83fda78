"""`emp ingest yahoo` without a network: the command's own checks, and a dead network.

Ingests over the real yfinance on recorded Yahoo answers are in
tests/integration/test_yahoo_real_library.py. Here, the checks that fail before any
request use the fake yfinance module (tests/unit/adapters/yahoo_fake.py) through typer's
CliRunner, and the no-network runs use the real yfinance in a subprocess whose HTTPS
traffic goes to a proxy that refuses or never answers, so nothing reaches Yahoo on any
machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emp.app.data_commands import data_app_ext, ingest_app
from emp.app.errors import ConfigError
from emp.ports.bar_source import BarSourceError
from tests.unit.adapters import yahoo_fake

runner = CliRunner()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> yahoo_fake.FakeState:
    monkeypatch.delenv("EMP_DB_PATH", raising=False)
    return yahoo_fake.install(monkeypatch)


def ingest(tmp_path: Path, *args: str) -> dict:
    result = runner.invoke(
        ingest_app,
        [
            "yahoo",
            *args,
            "--db",
            str(tmp_path / "emp.duckdb"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
            "--no-progress",
        ],
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def stored(tmp_path: Path) -> list[dict]:
    listing = runner.invoke(data_app_ext, ["ls", "--db", str(tmp_path / "emp.duckdb"), "--json"])
    return json.loads(listing.stdout)


class TestChecksBeforeAnyRequest:
    def test_a_symbol_never_stored_needs_a_start(self, fake, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="give --start"):
            ingest(tmp_path, "SPY", "--end", "2024-03-01")

    def test_offline_without_the_data_names_the_missing_range(self, fake, tmp_path: Path) -> None:
        with pytest.raises(BarSourceError, match="lacks SPY 1d bars for 2024-01-02 to 2024-03-01"):
            ingest(tmp_path, "SPY", "--start", "2024-01-02", "--end", "2024-03-01", "--offline")
        assert fake.calls == []


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_without_network(tmp_path: Path, proxy_port: int, *args: str):
    """The ingest sub-app with the real yfinance, all HTTP(S) sent to a dead proxy."""
    proxy = f"http://127.0.0.1:{proxy_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    env.update(
        HOME=str(tmp_path),
        HTTPS_PROXY=proxy,
        HTTP_PROXY=proxy,
        ALL_PROXY=proxy,
        https_proxy=proxy,
        http_proxy=proxy,
        all_proxy=proxy,
        NO_PROXY="",
        _TYPER_STANDARD_TRACEBACK="1",
        no_proxy="",
    )
    code = "from emp.app.data_commands import ingest_app; ingest_app(prog_name='emp ingest')"
    command = [
        sys.executable,
        "-c",
        code,
        "yahoo",
        "SPY",
        "--start",
        "2024-01-02",
        "--end",
        "2024-02-01",
        "--db",
        str(tmp_path / "emp.duckdb"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-progress",
        *args,
    ]
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    return result, " ".join(result.stderr.split()), time.monotonic() - started


class TestNoNetwork:
    def test_a_refused_connection_fails_fast_with_a_clear_message(self, tmp_path: Path) -> None:
        result, stderr, elapsed = run_without_network(tmp_path, closed_port(), "--retries", "1")
        assert result.returncode != 0
        assert "SourceUnreachable" in stderr and "cannot reach Yahoo Finance" in stderr, stderr
        assert "use --offline to read the cache only" in stderr
        assert elapsed < 60

    def test_a_network_that_never_answers_fails_at_the_timeout(
        self, tmp_path: Path, black_hole: int
    ) -> None:
        result, stderr, elapsed = run_without_network(
            tmp_path, black_hole, "--timeout", "2", "--retries", "0"
        )
        assert result.returncode != 0
        assert "did not answer within 2 s" in stderr, stderr[-3000:]
        assert elapsed < 30
