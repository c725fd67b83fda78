"""benchmarks/ssd.py runs and ends with one JSON object (figures are never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[4] / "benchmarks" / "ssd.py"
KEYS = {
    "chunked_vs_naive_fwd",
    "chunked_vs_naive_fwdbwd",
    "block_vs_lstm_fwd_L1024",
    "stream_step_us_p50",
    "lstm_step_us_p50",
    "stream_step_general_us_p50",
    "stream_step_all_options_us_p50",
    "block_vs_lstm_fwd_L1024_chunked",
    "device",
    "threads",
}


def test_a_tiny_run_prints_a_table_then_one_json_object_with_the_issue_keys():
    result = subprocess.run(
        [
            sys.executable, str(SCRIPT), "--json", "--batch", "1", "--length", "40",
            "--d-model", "64", "--steps", "5", "--repeats", "1",
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith("figure") and len(lines) > 2
    figures = json.loads(lines[-1])
    assert set(figures) >= KEYS
    assert figures["device"] == "cpu" and figures["threads"] == 1
    assert figures["stream_step_path"] == "fused"  # on CPU the step is the fused kernel
    assert figures["ssd_forward_path"] == "scan"  # and the inference forward the scan
    assert all(figures[key] > 0 for key in KEYS - {"device", "threads"})
