"""benchmarks/fix_roundtrip.py runs end to end over real quickfix sessions and ends with one
JSON object holding the issue's figures (the figures themselves are never asserted here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "fix_roundtrip.py"
ISSUE_KEYS = {"rtt_p50_ms", "rtt_p99_ms", "orders_per_s", "flatten_ms_p99"}
MORE_KEYS = {
    "venue_cpu_us_per_order",
    "client_cpu_us_per_order",
    "flatten_positions_only_ms_p99",
    "echo_orders_per_s",
    "cpu_ceiling_orders_per_s",
    "echo_cpu_ceiling_orders_per_s",
    "breakdown_us",
}


def test_a_tiny_run_prints_a_table_then_one_json_object_with_the_issue_keys(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    result = subprocess.run(
        [
            sys.executable, str(SCRIPT), "--json", "--orders", "300", "--rtt", "50",
            "--flattens", "2",
        ],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("rtt_p50_ms") and len(lines) > 10  # the table first
    figures = json.loads(lines[-1])
    assert set(figures) >= ISSUE_KEYS | MORE_KEYS
    assert all(figures[key] > 0 for key in ISSUE_KEYS)
    pinnable = hasattr(os, "sched_setaffinity") and {0, 1} <= os.sched_getaffinity(0)
    if pinnable:  # the second run, each process on a core of its own
        assert {f"pinned_{key}" for key in ISSUE_KEYS} <= set(figures)
        assert figures["pinned_orders_per_s"] > 0
