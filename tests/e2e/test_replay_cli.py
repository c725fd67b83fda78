"""`emp data replay` end to end, as a user runs it: the installed `emp`, a real DuckDB file.

These need the command registered in `emp` (``data_app.command("replay")(replay)`` in
emp.app.cli, with ``from emp.app.replay_commands import replay``); until then they fail
with "No such command 'replay'".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tests.e2e.alertmanager import free_port, post_kill_alert
from tests.integration.ingest_frames import good_frame

EMP = Path(sys.executable).parent / "emp"


def emp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    return subprocess.run(
        [str(EMP), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=180
    )


def ingest_two_symbols(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    pd.concat([good_frame(symbol="AAA"), good_frame(symbol="BBB")]).to_csv(path, index=False)
    result = emp("ingest", "csv", str(path), "--calendar", "NYSE", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


class TestReplay:
    def test_stored_bars_stream_through_the_runtime_and_the_summary_is_json(
        self, tmp_path: Path
    ) -> None:
        ingest_two_symbols(tmp_path)
        result = emp(
            "data", "replay", "--json", "--param", "fast=2", "--param", "slow=4", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert (summary["bars"], summary["timestamps"]) == (24, 12)
        assert summary["symbols"] == ["AAA", "BBB"]
        assert summary["orders"] > 0 and summary["fills"] > 0
        assert "emp data replay" in result.stderr  # the progress bar

    def test_a_paced_replay_holds_to_the_bar_clock(self, tmp_path: Path) -> None:
        ingest_two_symbols(tmp_path)
        span_s = 16 * 86_400  # 2024-01-02 → 2024-01-18: twelve NYSE sessions
        result = emp(
            "data", "replay", "--json", "--no-progress", "--speed", str(span_s / 0.3), cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["span_s"] == span_s
        assert summary["wall_s"] >= 0.25

    def test_an_empty_store_is_a_one_line_error(self, tmp_path: Path) -> None:
        result = emp("data", "replay", "--db", str(tmp_path / "empty.duckdb"), cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert (
            result.stderr.strip()
            .splitlines()[-1]
            .startswith("error: ConfigError: the store holds no bars")
        )


def ingest_long(tmp_path: Path, rows: int = 120) -> None:
    path = tmp_path / "bars.csv"
    frame = good_frame(rows=rows, symbol="AAA")
    wave = 50.0 + 5.0 * np.sin(np.arange(rows) / 4.0)  # crosses up and down: the strategy trades
    frame["open"] = frame["close"] = wave
    frame["high"], frame["low"] = wave + 0.25, wave - 0.25
    frame.to_csv(path, index=False)
    result = emp("ingest", "csv", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


class TestAlertmanagerKill:
    def test_a_firing_alert_posted_mid_replay_halts_it(self, tmp_path: Path) -> None:
        ingest_long(tmp_path)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
        env["EMP_KILL_WEBHOOK_PORT"] = str(port)
        span_s = 170 * 86_400  # about 120 business days
        replay = subprocess.Popen(
            [str(EMP), "data", "replay", "--json", "--no-progress", "--param", "fast=2",
             "--param", "slow=5", "--speed", str(span_s / 6.0)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            post_kill_alert(port)
            out, err = replay.communicate(timeout=120)
        finally:
            replay.kill()
        assert replay.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["risk_final_state"] == "HALTED"
        assert summary["wall_s"] < 6.0 + 5.0

    def test_without_an_alert_the_replay_ends_active(self, tmp_path: Path) -> None:
        ingest_long(tmp_path, rows=30)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
        env["EMP_KILL_WEBHOOK_PORT"] = str(free_port())
        result = subprocess.run(
            [str(EMP), "data", "replay", "--json", "--no-progress"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1])["risk_final_state"] == "ACTIVE"


class TestHotStateInRedis:
    def test_a_replay_publishes_its_positions_and_heartbeat(self, tmp_path: Path) -> None:
        from emp.adapters.redis_state import RedisStateStore
        from tests.integration.stores.services import redis_server

        ingest_long(tmp_path, rows=60)
        with redis_server() as server:
            env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
            env |= {"EMP_REDIS_URL": server.url, "EMP_STATE_NAMESPACE": "e2e"}
            result = subprocess.run(
                [str(EMP), "data", "replay", "--json", "--no-progress", "--param", "fast=2",
                 "--param", "slow=5"],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            summary = json.loads(result.stdout.strip().splitlines()[-1])
            state = RedisStateStore(server.url, namespace="e2e")
            try:
                beat = state.last_heartbeat("emp-data-replay.sma_trend")
                positions = state.get_positions("replay-sma_trend")
            finally:
                state.close()
        assert summary["hot_state"]["failed_writes"] == 0
        assert summary["hot_state"]["writes"] >= 2
        assert beat is not None
        assert positions is not None and summary["fills"] > 0

    def test_an_unreachable_redis_is_a_one_line_error_naming_it(self, tmp_path: Path) -> None:
        ingest_long(tmp_path, rows=30)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
        env["EMP_REDIS_URL"] = f"redis://:secret@127.0.0.1:{free_port()}/0"
        result = subprocess.run(
            [str(EMP), "data", "replay", "--json", "--no-progress"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 1
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("error: StoreUnavailable: ") and "127.0.0.1" in line
        assert "secret" not in result.stderr + result.stdout
