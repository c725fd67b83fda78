"""`emp backtest --book FILE` through the installed `emp` script: a strategy on book data.

A seeded L2 session (FIX 35=W then 35=X) is recorded with the FIX codec, as the market
replay smoke test does, then backtested with the built-in ``book_imbalance`` strategy:
the recording's books drive the strategy's ``on_book`` and the book venue, whose matching
engine fills market orders by walking the recorded depth.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.md_replay import write_raw_messages
from tests.unit.domain.books.streams import T0, increment_of, l2_stream, snapshot_of

EMP = Path(sys.executable).parent / "emp"
CONTRACT_KEYS = {"trades", "n_trades", "final_equity", "return_pct", "max_drawdown_pct", "sharpe"}
MESSAGES = 1_500
STEP_NS = 50_000_000  # 50 ms between messages


def record_session(path: Path, seed: int = 2026) -> None:
    """A snapshot of an empty book, then the session's increments, one message per line."""
    messages, _ = l2_stream(np.random.default_rng(seed), MESSAGES)
    raws = [
        encode_md(
            snapshot_of(((), ()), seq_num=1, ts_ns=T0, rpt_seq=0),
            sender_comp_id="V",
            target_comp_id="E",
        )
    ]
    rpt = 1
    for i, message in enumerate(messages):
        increment = increment_of(
            message, seq_num=i + 2, ts_ns=T0 + (i + 1) * STEP_NS, first_rpt=rpt
        )
        raws.append(encode_md(increment, sender_comp_id="V", target_comp_id="E"))
        rpt += len(message[0])
    write_raw_messages(path, raws)


def emp_backtest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    environment["EMP_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [
            str(EMP),
            "backtest",
            "--json",
            "--reports-dir",
            str(folder / "reports"),
            "--db",
            str(folder / "emp.duckdb"),
            *args,
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def last_json(run: subprocess.CompletedProcess[str]) -> dict:
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


class TestBookImbalanceOnARecording:
    def test_the_recording_drives_the_strategy_and_the_book_venue(self, tmp_path):
        recording = tmp_path / "abc.fix"
        record_session(recording)
        run = emp_backtest(
            tmp_path / "a",
            "--book", str(recording), "--strategy", "book_imbalance",
            "--param", "units=50", "--param", "every=5", "--commission-bps", "1",
        )  # fmt: skip
        line = last_json(run)
        assert set(line) == CONTRACT_KEYS
        assert line["n_trades"] >= 2 and line["n_trades"] == len(line["trades"])
        assert math.isfinite(line["final_equity"]) and line["final_equity"] != 1_000_000.0
        # every trade is of the recording's instrument, sized by the strategy's units
        assert {t["symbol"] for t in line["trades"]} == {"ABC"}
        assert all(t["size"] == 50.0 for t in line["trades"])
        report = next((tmp_path / "a" / "reports").rglob("report.json"))
        body = json.loads(report.read_text())
        assert body["identity"]["config"]["venue"] == "book_sim"
        assert body["identity"]["config"]["data_source"] == "book:abc.fix"

    def test_a_run_repeats_exactly_with_latency(self, tmp_path):
        recording = tmp_path / "abc.fix"
        record_session(recording)
        args = (
            "--book", str(recording), "--strategy", "book_imbalance",
            "--latency-us", "20000", "--latency-sigma", "0.5", "--seed", "5",
        )  # fmt: skip
        first = last_json(emp_backtest(tmp_path / "a", *args))
        second = last_json(emp_backtest(tmp_path / "b", *args))
        assert first == second and first["n_trades"] >= 1

    def test_book_data_with_bars_is_refused_with_a_message(self, tmp_path):
        recording = tmp_path / "abc.fix"
        record_session(recording)
        run = emp_backtest(
            tmp_path / "a",
            "--book", str(recording), "--data", str(recording), "--strategy", "book_imbalance",
        )  # fmt: skip
        assert run.returncode != 0
        assert "--book" in run.stderr + run.stdout
