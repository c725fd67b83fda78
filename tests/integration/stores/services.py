"""Real Postgres and Redis servers for tests: started in a temp dir, stopped afterwards.

Nothing is skipped when a server is missing: the fixture fails and says what to install.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_POSTGRES = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found: install them with "
    "`apt-get install -y postgresql-15` (or put their directory on PATH)"
)
INSTALL_REDIS = (
    "redis-server was not found: install it with "
    "`DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server`"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pytest.fail(INSTALL_POSTGRES)


@dataclass
class PostgresServer:
    """A throwaway cluster: trust authentication on 127.0.0.1:``port``."""

    directory: Path
    port: int
    bin_dir: Path
    as_postgres_user: bool

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_with_password(self, password: str) -> str:
        """Trust authentication ignores the password, so this DSN works too."""
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/postgres"

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres_user:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", subprocess.list2cmdline(command)]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        result = self.run(
            "pg_ctl",
            "-D",
            str(self.directory / "data"),
            "-l",
            str(self.directory / "pg.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        if result.returncode != 0:
            log = (self.directory / "pg.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"postgres did not start: {result.stderr}{result.stdout}\n{log}")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _postgres_bin()
    as_postgres_user = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="emp-pg-"))
    try:
        if as_postgres_user:
            shutil.chown(directory, "postgres", "postgres")
        server = PostgresServer(directory, free_port(), bin_dir, as_postgres_user)
        init = server.run(
            "initdb",
            "-D",
            str(directory / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stderr}{init.stdout}")
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class RedisServer:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(INSTALL_REDIS)
    directory = Path(tempfile.mkdtemp(prefix="emp-redis-"))
    port = free_port()
    pidfile = directory / "redis.pid"
    result = subprocess.run(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        pytest.fail(f"redis-server did not start: {result.stderr}{result.stdout}")
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not listen on port {port} within 10 s")
            time.sleep(0.02)
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        yield RedisServer(directory, port)
    finally:
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(directory, ignore_errors=True)
