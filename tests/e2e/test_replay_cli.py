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

import pandas as pd

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
