"""`emp paper --connect` against an `emp venue serve` running as its own process.

Two installed `emp` processes over 127.0.0.1: the venue serves FIX 4.4 (plain, or mutual
TLS with certificates made for the test), the paper session logs on with credentials from
the environment and trades generated bars. Both must exit cleanly, the venue's log must show
the session's orders, and the password must appear in no file or output of either side.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.fix.tls_lab import Pki, make_pki

EMP = Path(sys.executable).parent / "emp"
PASSWORD = "e2e-Pa55word-never-written"
SYMBOLS = "SYN_A,SYN_B"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any EMP_* setting of the caller's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    return {**env, "EMP_FIX_USERNAME": "emp", "EMP_FIX_PASSWORD": PASSWORD, **extra}


@dataclass
class VenueProcess:
    process: subprocess.Popen[str]
    banner: str

    def stop(self, timeout_s: float = 20.0) -> tuple[str, str]:
        """SIGTERM, then wait; killed (and the test failed) if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, err = self.process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate(timeout=10)
            raise AssertionError(f"the venue did not stop within {timeout_s} s: {err}") from None
        return out, err


def start_venue(cwd: Path, port: int, data_dir: Path, *tls_args: str) -> VenueProcess:
    """`emp venue serve` in the background; returns once it prints its banner (<= 60 s)."""
    process = subprocess.Popen(
        [
            *(str(EMP), "venue", "serve", "--port", str(port), "--symbols", SYMBOLS),
            *("--data-dir", str(data_dir), "--duration-s", "180", *tls_args),
        ],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if "serving FIX 4.4 venue" in line:
                return VenueProcess(process, line)
        if process.poll() is not None:
            break
    process.kill()
    _, err = process.communicate(timeout=10)
    raise AssertionError(f"`emp venue serve` did not start: {err}")


def run_paper(cwd: Path, port: int, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            *(str(EMP), "paper", "--connect", f"127.0.0.1:{port}", "--symbols", SYMBOLS),
            *("--bars", "30", "--bar-interval-ms", "50", "--data-dir", str(data_dir), "--json"),
        ],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def files_holding(folder: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_options(pki: Pki, mode: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """(venue serve options, paper environment) for ``mode``."""
    if mode == "plain":
        return (), {}
    serve = ("--tls-certificate", str(pki.server_cert), "--tls-key", str(pki.server_key))
    serve += ("--tls-client-ca", str(pki.ca))
    env = {
        "EMP_FIX_TLS_CA_FILE": str(pki.ca),
        "EMP_FIX_TLS_CERTIFICATE_FILE": str(pki.client_cert),
        "EMP_FIX_TLS_KEY_FILE": str(pki.client_key),
    }
    return serve, env


class TestPaperConnect:
    @pytest.mark.parametrize("mode", ["plain", "mutual-tls"])
    def test_a_paper_session_trades_against_a_separately_served_venue(self, tmp_path, pki, mode):
        port = free_port()
        venue_dir, paper_dir = tmp_path / "venue", tmp_path / "paper"
        serve_options, paper_env = tls_options(pki, mode)
        venue = start_venue(tmp_path, port, venue_dir, *serve_options)
        try:
            if mode == "mutual-tls":
                assert "mutual TLS: client certificates required" in venue.banner
            paper = run_paper(tmp_path, port, paper_dir, **paper_env)
        finally:
            venue_out, venue_err = venue.stop()
        assert paper.returncode == 0, paper.stderr
        assert venue.process.returncode == 0, venue_err
        assert "venue stopped" in venue_err

        summary = json.loads(paper.stdout.strip().splitlines()[-1])
        assert summary["venue"] == f"127.0.0.1:{port}"
        assert summary["mode"] == "paper"
        assert summary["orders"] >= 1 and summary["fills"] >= 1

        venue_log = (venue_dir / "log" / "venue-EMPSIM.messages.log").read_text()
        orders_seen = [line for line in venue_log.splitlines() if "|35=D|" in line]
        fills_sent = [line for line in venue_log.splitlines() if "|150=F|" in line]
        assert len(orders_seen) == summary["orders"]
        assert len(fills_sent) >= summary["fills"]
        assert "|553=emp|" in venue_log  # the Logon was seen, its password redacted
        if mode == "mutual-tls":
            events = (venue_dir / "log" / "venue-EMPSIM.events.log").read_text()
            assert "client certificate commonName=EMP" in events

        assert files_holding(tmp_path, PASSWORD) == []
        for output in (paper.stdout, paper.stderr, venue_out, venue_err):
            assert PASSWORD not in output

    def test_a_second_session_against_the_same_venue_trades_under_new_order_ids(self, tmp_path):
        port = free_port()
        venue = start_venue(tmp_path, port, tmp_path / "venue")
        try:
            runs = [run_paper(tmp_path, port, tmp_path / "paper") for _ in range(2)]
        finally:
            venue.stop()
        for run in runs:
            assert run.returncode == 0, run.stderr
        summaries = [json.loads(run.stdout.strip().splitlines()[-1]) for run in runs]
        assert all(s["orders"] >= 1 and s["fills"] >= 1 for s in summaries)
        venue_log = (tmp_path / "venue" / "log" / "venue-EMPSIM.messages.log").read_text()
        ids = [
            field[3:]
            for line in venue_log.splitlines()
            if "|35=D|" in line
            for field in line.split("|")
            if field.startswith("11=")
        ]
        # each order's own ClOrdID (one lost to a gap fill after the second Logon is asked
        # after and sent again under the same id), none refused as a duplicate
        assert len(set(ids)) == sum(s["orders"] for s in summaries)
        assert "|150=8|" not in venue_log

    def test_a_session_without_a_client_certificate_is_refused_by_a_mutual_tls_venue(
        self, tmp_path, pki
    ):
        port = free_port()
        serve_options, _ = tls_options(pki, "mutual-tls")
        venue = start_venue(tmp_path, port, tmp_path / "venue", *serve_options)
        try:
            started = time.monotonic()
            paper = run_paper(tmp_path, port, tmp_path / "paper", EMP_FIX_TLS_CA_FILE=str(pki.ca))
            elapsed = time.monotonic() - started
        finally:
            _, venue_err = venue.stop()
        assert paper.returncode != 0
        assert "no Logon from 127.0.0.1" in paper.stderr + paper.stdout
        assert elapsed < 60
        assert "no client certificate" in venue_err
        assert venue.process.returncode == 0, venue_err
