"""`emp venue serve` and `emp paper` as a user runs them (needs the sub-apps registered in
cli.py: `app.add_typer(venue_app, name="venue")`, `app.add_typer(paper_app, name="paper")`)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.alertmanager import free_port, post_kill_alert

EMP = Path(sys.executable).parent / "emp"


def emp(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 120):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    environment.update(env or {})
    return subprocess.run(
        [str(EMP), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class TestFixCommands:
    def test_venue_serve_is_documented_in_the_help(self, tmp_path):
        result = emp("venue", "serve", "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "--port" in result.stdout

    def test_paper_trades_over_fix_and_prints_a_json_summary(self, tmp_path):
        result = emp(
            "paper",
            "--bars",
            "120",
            "--strategy",
            "sma_trend",
            "--param",
            "fast=5",
            "--param",
            "slow=20",
            "--json",
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["mode"] == "paper" and summary["fills"] > 0
        assert (tmp_path / ".emp" / "fix" / "paper" / "client" / "audit.duckdb").exists()

    def test_live_mode_is_refused_with_one_line_that_says_why(self, tmp_path):
        result = emp("paper", "--live-mode", cwd=tmp_path)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ConfigError: live mode refused")

    def test_venue_serve_without_credentials_is_refused(self, tmp_path):
        result = emp("venue", "serve", "--port", "19999", "--duration-s", "0", cwd=tmp_path)
        assert result.returncode == 1
        assert "EMP_FIX_PASSWORD" in result.stderr


@contextlib.contextmanager
def paced_paper_session(tmp_path: Path, **env: str) -> Iterator[subprocess.Popen[str]]:
    """`emp paper` of buy_and_hold over 400 bars 25 ms apart (10 s) in another process,
    with no EMP_ settings but ``env``; killed on the way out if it still runs."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    environment.update(env)
    session = subprocess.Popen(
        [str(EMP), "paper", "--strategy", "buy_and_hold", "--bars", "400",
         "--bar-interval-ms", "25", "--json"],
        cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        yield session
    finally:
        if session.poll() is None:
            session.kill()


class TestKillDuringPaper:
    def test_emp_kill_mid_session_flattens_everything_over_fix(self, tmp_path):
        """A paced paper session over real FIX; `emp kill` from another process halts it:
        every position is flattened by filled orders and the state ends HALTED."""
        with paced_paper_session(tmp_path) as session:
            time.sleep(4.0)  # logged on and holding positions, well before bar 400 (10 s)
            assert session.poll() is None, session.communicate()
            killed = emp("kill", "--reason", "risk desk says stop", cwd=tmp_path)
            assert killed.returncode == 0, killed.stderr
            out, err = session.communicate(timeout=120)
        assert session.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["risk_final_state"] == "HALTED"
        assert summary["open_positions"] == 0
        assert summary["kill_switch_orders_filled"] >= 1
        assert [step["state"] for step in summary["risk_timeline"]][-1] == "HALTED"

    def test_a_firing_alertmanager_alert_flattens_a_paper_session(self, tmp_path):
        """The same session halted by a metrics alert posted to its webhook."""
        port = free_port()
        with paced_paper_session(tmp_path, EMP_KILL_WEBHOOK_PORT=str(port)) as session:
            post_kill_alert(port)  # as soon as the session listens: during its first bars
            out, err = session.communicate(timeout=120)
        assert session.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["risk_final_state"] == "HALTED"
        assert summary["open_positions"] == 0


class TestPaperHotState:
    def test_a_paper_session_publishes_its_positions_and_heartbeat_to_redis(self, tmp_path):
        from emp.adapters.redis_state import RedisStateStore
        from tests.integration.stores.services import redis_server

        with redis_server() as server:
            result = emp(
                "paper", "--bars", "120", "--strategy", "buy_and_hold", "--json", cwd=tmp_path,
                env={"EMP_REDIS_URL": server.url, "EMP_STATE_NAMESPACE": "paper"},
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            summary = json.loads(result.stdout.strip().splitlines()[-1])
            state = RedisStateStore(server.url, namespace="paper")
            try:
                positions = state.get_positions("paper-EMP")
                beat = state.last_heartbeat("emp-paper.buy_and_hold")
            finally:
                state.close()
        assert summary["hot_state"]["failed_writes"] == 0 and beat is not None
        assert positions is not None and sum(abs(q) for q in positions.positions.values()) > 0
        assert summary["open_positions"] == len(positions.positions)
