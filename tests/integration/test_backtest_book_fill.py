"""`emp backtest --fill book` through the installed `emp` script: the book fill model.

Orders go through the venue simulator's matching engine (:mod:`emp.adapters.book_sim`),
so buys pay the spread, large orders walk a thin book, and runs repeat exactly under a
seed even with random latency.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from emp.adapters.synthetic import RegimeSwitchingBarSource

EMP = Path(sys.executable).parent / "emp"
CONTRACT_KEYS = {"trades", "n_trades", "final_equity", "return_pct", "max_drawdown_pct", "sharpe"}
TICK = 0.01


def write_csv(path: Path, n_bars: int = 300, seed: int = 3) -> None:
    series = RegimeSwitchingBarSource(["X"], n_bars=n_bars, seed=seed).load()["X"]
    pd.DataFrame(
        {
            "Date": pd.to_datetime(series.ts_ns, utc=True).strftime("%Y-%m-%d"),
            "Open": series.open,
            "High": series.high,
            "Low": series.low,
            "Close": series.close,
            "Volume": series.volume.astype(int),
        }
    ).to_csv(path, index=False)


class Runner:
    """Runs `emp backtest` on one CSV, each run with its own store and report folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "bars.csv"
        write_csv(self.data)
        self.runs = 0

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        run = self.folder / f"run{self.runs}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
        environment["EMP_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        return subprocess.run(
            [
                str(EMP),
                "backtest",
                "--data",
                str(self.data),
                "--strategy",
                "sma_cross",
                "--json",
                "--reports-dir",
                str(run / "reports"),
                "--db",
                str(run / "emp.duckdb"),
                *args,
            ],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def result(self, *args: str) -> tuple[dict, Path]:
        """The JSON object and the report folder of a run that must succeed."""
        done = self(*args)
        assert done.returncode == 0, done.stderr
        folder = re.search(r"report (\S+)", done.stderr)
        assert folder is not None, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1]), Path(folder.group(1))


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> Runner:
    return Runner(tmp_path_factory.mktemp("book_fill"))


@pytest.fixture(scope="module")
def next_open(runner) -> dict:
    return runner.result("--fill", "next_open")[0]


@pytest.fixture(scope="module")
def book(runner) -> tuple[dict, Path]:
    return runner.result("--fill", "book")


@pytest.fixture(scope="module")
def thin_book(runner) -> dict:
    return runner.result("--fill", "book", "--book-size", "2500")[0]


class TestTheJsonContract:
    def test_a_book_run_prints_exactly_the_contract_keys(self, book):
        line, _ = book
        assert set(line) == CONTRACT_KEYS
        assert line["n_trades"] == len(line["trades"]) > 0

    def test_the_report_flags_the_book_fill_model(self, book):
        _, folder = book
        report = json.loads((folder / "report.json").read_text())
        assert "book fills" in (folder / "report.md").read_text()
        text = json.dumps(report)
        assert '"fill_model": "book"' in text
        assert '"venue": "book_sim"' in text

    def test_the_attribution_charges_the_spread_paid_against_the_books_mid(self, book):
        _, folder = book
        parts = json.loads((folder / "report.json").read_text())["analysis"]["attribution"]
        # every fill is a market order walking the book: half a tick or more per unit away
        # from the displayed mid, never zero as the bar cost model would say (no spread_bps)
        assert parts["cross"] < 0 and parts["post"] == 0.0
        assert parts["cross"] + parts["post"] + parts["hold"] + parts["fees"] == pytest.approx(
            parts["total"]
        )


class TestFillsAgainstNextOpen:
    def test_the_same_signals_trade_at_the_same_bars(self, book, next_open):
        line, _ = book
        assert [t["entry_time"] for t in line["trades"]] == [
            t["entry_time"] for t in next_open["trades"]
        ]

    def test_buys_pay_the_spread_over_the_next_open(self, book, next_open):
        line, _ = book
        for ours, theirs in zip(line["trades"], next_open["trades"], strict=True):
            assert ours["side"] == "long"
            assert ours["entry_price"] == pytest.approx(theirs["entry_price"] + TICK)
            assert ours["exit_price"] == pytest.approx(theirs["exit_price"])  # at the bid

    def test_a_thin_book_makes_large_orders_walk_the_levels(self, thin_book, book):
        line, _ = book
        for thin, deep in zip(thin_book["trades"], line["trades"], strict=True):
            assert thin["entry_price"] > deep["entry_price"] + TICK / 2
            assert thin["exit_price"] < deep["exit_price"] - TICK / 2
        assert thin_book["final_equity"] < line["final_equity"]


class TestDeterminism:
    def test_a_seeded_run_with_random_latency_repeats_exactly(self, runner):
        options = ("--fill", "book", "--latency-us", "250", "--latency-sigma", "0.7")
        first, _ = runner.result(*options, "--seed", "5")
        second, _ = runner.result(*options, "--seed", "5")
        assert first == second
        assert first["n_trades"] > 0


class TestRefusals:
    def test_a_bar_spread_is_refused_with_the_book_fill_model(self, runner):
        done = runner("--fill", "book", "--spread-bps", "5")
        assert done.returncode != 0
        assert "spread" in done.stderr

    def test_slippage_is_refused_with_the_book_fill_model(self, runner):
        done = runner("--fill", "book", "--slippage-bps", "3")
        assert done.returncode != 0
        assert "--slippage-bps" in done.stderr

    def test_an_unknown_fill_model_names_the_choices(self, runner):
        done = runner("--fill", "books")
        assert done.returncode != 0
        assert "next_open, close, book" in done.stderr
