"""`emp data replay` (emp.app.replay_commands.replay) through a tiny Typer app.

The command is registered here exactly as the `emp` CLI registers it
(``data_app.command("replay")(replay)``); the bars live in a real DuckDB file.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner, Result

from emp.adapters.duckdb_store import DuckDBBarStore, DuckDBDatabase
from emp.app.errors import ConfigError
from emp.app.replay_commands import Pacer, limit_timestamps, parse_time, replay
from emp.domain.bars import BarSeries
from emp.ports.bar_source import SymbolNotFound

MINUTE_NS = 60 * 10**9
T0 = 1_704_186_000_000_000_000  # 2024-01-02T09:00:00Z

app = typer.Typer()


@app.callback()
def _root() -> None:
    """A stand-in for `emp data`."""


app.command("replay")(replay)
runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # the kill file and default store land here


def make_series(symbol: str, n: int, *, start_ns: int = T0, seed: int = 7) -> BarSeries:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    return BarSeries.from_arrays(
        symbol,
        start_ns + np.arange(n, dtype=np.int64) * MINUTE_NS,
        close,
        close * 1.01,
        close * 0.99,
        close,
        np.full(n, 1_000.0),
    )


def store_bars(path: Path, *series: BarSeries) -> Path:
    with DuckDBDatabase(path) as database:
        DuckDBBarStore(database).write_bars({s.symbol: s for s in series}, "test")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    # BBB starts 10 minutes later: 60 timestamps, 110 bars
    return store_bars(
        tmp_path / "emp.duckdb",
        make_series("AAA", 60),
        make_series("BBB", 50, start_ns=T0 + 10 * MINUTE_NS, seed=8),
    )


def invoke(*args: str) -> Result:
    result = runner.invoke(app, ["replay", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def replay_json(*args: str) -> dict:
    result = invoke(*args, "--json", "--no-progress")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


TRADING = ("--param", "fast=2", "--param", "slow=4")


class TestSummary:
    def test_every_stored_bar_goes_through_the_runtime(self, db: Path) -> None:
        summary = replay_json("--db", str(db), *TRADING)
        assert (summary["bars"], summary["timestamps"]) == (110, 60)
        assert summary["symbols"] == ["AAA", "BBB"]
        assert summary["first"] == "2024-01-02T09:00:00Z"
        assert summary["last"] == "2024-01-02T09:59:00Z"
        assert summary["orders"] > 0 and summary["fills"] > 0
        assert math.isfinite(summary["final_equity"]) and summary["final_equity"] > 0
        assert summary["final_equity"] != 1_000_000.0  # it traded
        assert summary["store"] == f"duckdb:{db}"
        assert summary["speed"] == 0 and summary["max_lag_s"] == 0

    def test_the_summary_table_names_the_figures(self, db: Path) -> None:
        result = invoke("--db", str(db), "--no-progress", *TRADING)
        assert result.exit_code == 0, result.output
        for label in ("bars", "orders", "fills", "final equity", "wall time", "effective speed"):
            assert label in result.stdout
        assert "as fast as possible" in result.stdout

    def test_a_progress_bar_is_drawn_on_stderr(self, db: Path) -> None:
        result = invoke("--db", str(db), "--json", *TRADING)
        assert result.exit_code == 0, result.output
        assert "emp data replay" in result.stderr and "60/60" in result.stderr
        json.loads(result.stdout.strip().splitlines()[-1])  # stdout stays one JSON line

    def test_the_same_bars_give_the_same_run_whatever_the_speed(self, db: Path) -> None:
        fast = replay_json("--db", str(db), *TRADING)
        paced = replay_json("--db", str(db), "--speed", str(59 * 60 / 0.05), *TRADING)
        for key in ("bars", "timestamps", "orders", "fills", "final_equity", "risk_rejections"):
            assert fast[key] == paced[key], key


class TestSelection:
    def test_symbols_start_end_and_limit_choose_the_bars(self, db: Path) -> None:
        only_bbb = replay_json("--db", str(db), "BBB")
        assert (only_bbb["symbols"], only_bbb["bars"]) == (["BBB"], 50)
        window = replay_json(
            "--db", str(db), "--start", "2024-01-02T09:05:00Z", "--end", "2024-01-02T09:15"
        )
        assert (window["timestamps"], window["bars"]) == (10, 15)  # AAA 10, BBB 5
        limited = replay_json("--db", str(db), "--limit", "12")
        assert (limited["timestamps"], limited["bars"]) == (12, 14)

    def test_limit_keeps_the_first_timestamps_of_every_symbol(self) -> None:
        bars = {"A": make_series("A", 5), "B": make_series("B", 5, start_ns=T0 + 3 * MINUTE_NS)}
        cut = limit_timestamps(bars, 4)
        assert len(cut["A"]) == 4 and len(cut["B"]) == 1
        assert limit_timestamps(bars, 3).keys() == {"A"}

    def test_times_are_iso_dates_or_times_in_utc(self) -> None:
        assert parse_time("2024-01-02", "--start") == 1_704_153_600_000_000_000
        assert parse_time("2024-01-02T09:00:00Z", "--start") == T0
        assert parse_time("2024-01-02T10:00:00+01:00", "--start") == T0
        assert parse_time(None, "--start") is None


class TestRefusals:
    def test_an_empty_store_is_a_config_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="holds no bars: nothing to replay"):
            invoke("--db", str(tmp_path / "empty.duckdb"))

    def test_an_unknown_symbol_names_the_stored_ones(self, db: Path) -> None:
        with pytest.raises(SymbolNotFound, match="symbols with bars: AAA, BBB"):
            invoke("--db", str(db), "QQQ")

    def test_a_time_that_is_not_iso_is_a_config_error(self, db: Path) -> None:
        with pytest.raises(ConfigError, match="--start expected an ISO date"):
            invoke("--db", str(db), "--start", "yesterday")

    def test_a_malformed_param_is_a_config_error(self, db: Path) -> None:
        with pytest.raises(ConfigError, match="--param expects key=value"):
            invoke("--db", str(db), "--param", "fast")

    def test_a_negative_speed_is_a_usage_error(self, db: Path) -> None:
        assert invoke("--db", str(db), "--speed", "-1").exit_code == 2


class TestPacing:
    def test_a_paced_replay_takes_at_least_the_scheduled_time(self, tmp_path: Path) -> None:
        db = store_bars(tmp_path / "paced.duckdb", make_series("AAA", 20))
        speed = 19 * 60 / 0.25  # 19 minutes of bars in 0.25 s
        started = time.monotonic()
        summary = replay_json("--db", str(db), "--speed", str(speed))
        elapsed = time.monotonic() - started
        assert summary["timestamps"] == 20
        assert elapsed >= 0.2
        assert summary["wall_s"] >= 0.2
        assert summary["effective_speed"] <= speed * 1.01

    def test_as_fast_as_possible_is_faster_than_the_schedule(self, tmp_path: Path) -> None:
        db = store_bars(tmp_path / "fast.duckdb", make_series("AAA", 20))
        slow = replay_json("--db", str(db), "--speed", str(19 * 60 / 0.3))
        fast = replay_json("--db", str(db), "--speed", "0")
        assert slow["wall_s"] >= 0.25
        assert fast["wall_s"] < slow["wall_s"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class TestPacer:
    timeline = (np.array([0.0, 1.0, 3.0, 3.5]) * 1e9).astype(np.int64)

    def test_each_timestamp_waits_for_its_place_on_the_bar_clock(self) -> None:
        clock = FakeClock()
        pacer = Pacer(self.timeline, 2.0, monotonic=clock.monotonic, sleep=clock.sleep)
        pacer.start()
        for done in range(1, 5):
            pacer(done, 4)
        assert clock.sleeps == pytest.approx([0.5, 1.0, 0.25])
        assert clock.now == pytest.approx(101.75)
        assert pacer.max_lag_s == 0

    def test_time_spent_processing_is_taken_off_the_wait(self) -> None:
        clock = FakeClock()
        pacer = Pacer(self.timeline, 1.0, monotonic=clock.monotonic, sleep=clock.sleep)
        pacer.start()
        clock.now += 0.4  # bar 0 took 0.4 s
        pacer(1, 4)
        assert clock.sleeps == pytest.approx([0.6])

    def test_a_run_behind_schedule_does_not_sleep_and_records_its_lag(self) -> None:
        clock = FakeClock()
        pacer = Pacer(self.timeline, 1.0, monotonic=clock.monotonic, sleep=clock.sleep)
        pacer.start()
        clock.now += 2.5  # bar 0 took longer than the 1 s to bar 1
        pacer(1, 4)
        assert clock.sleeps == []
        assert pacer.max_lag_s == pytest.approx(1.5)

    def test_speed_zero_never_sleeps_but_reports_progress(self) -> None:
        clock = FakeClock()
        seen: list[tuple[int, int]] = []
        pacer = Pacer(
            self.timeline,
            0.0,
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            on_progress=lambda done, total: seen.append((done, total)),
        )
        pacer.start()
        for done in range(1, 5):
            pacer(done, 4)
        assert clock.sleeps == [] and seen == [(1, 4), (2, 4), (3, 4), (4, 4)]

    def test_a_pacer_must_be_started(self) -> None:
        pacer = Pacer(self.timeline, 1.0)
        with pytest.raises(RuntimeError, match="start"):
            pacer(1, 4)
