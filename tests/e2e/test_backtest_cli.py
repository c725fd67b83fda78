"""`emp backtest` end to end: the installed `emp` script in a subprocess, real files.

Until the integrator registers the command in cli.py, the same `main()` runs from a
two-line shim that registers it first (same process model, same error handling); once
`emp backtest --help` works, the installed script itself is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BIN = Path(sys.executable).parent
EMP = BIN / "emp"
CONTRACT_KEYS = {"trades", "n_trades", "final_equity", "return_pct", "max_drawdown_pct", "sharpe"}


def _environment(env: dict[str, str] | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    environment.update(env or {})
    return environment


def emp_backtest(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [str(EMP), "backtest", *args],
        cwd=cwd,
        env=_environment(env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_ohlcv(path: Path, rows: int = 250) -> None:
    """Date/Open/High/Low/Close/Volume, capitalised as data vendors write them."""
    rng = np.random.default_rng(4)
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, rows))), 2)
    opens = np.round(close * (1 + rng.normal(0, 0.003, rows)), 2)
    frame = pd.DataFrame(
        {
            "Date": pd.bdate_range("2022-01-03", periods=rows).strftime("%Y-%m-%d"),
            "Open": opens,
            "High": np.maximum(opens, close) + 0.3,
            "Low": np.minimum(opens, close) - 0.3,
            "Close": close,
            "Volume": 1_000_000,
        }
    )
    frame.to_csv(path, index=False)


def test_a_vendor_csv_backtests_directly_and_json_is_the_last_line(tmp_path):
    write_ohlcv(tmp_path / "spy.csv")
    result = emp_backtest(
        *("--data", "spy.csv", "--strategy", "sma_cross", "--param", "fast=5"),
        *("--param", "slow=20", "--commission-fraction", "0.0005", "--cash", "25000"),
        *("--json", "--reports-dir", "reports", "--db", "emp.duckdb"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(payload) == CONTRACT_KEYS
    assert payload["n_trades"] == len(payload["trades"]) > 0
    assert payload["return_pct"] == (payload["final_equity"] / 25_000 - 1) * 100
    (folder,) = (tmp_path / "reports").iterdir()
    assert (folder / "report.md").is_file() and (folder / "trades.parquet").is_file()


def test_close_fills_are_accepted_and_flagged(tmp_path):
    write_ohlcv(tmp_path / "spy.csv")
    result = emp_backtest(
        *("--data", "spy.csv", "--strategy", "sma_cross", "--fill", "close", "--json"),
        *("--reports-dir", "reports", "--db", "emp.duckdb"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "reports").iterdir()
    assert "Close-of-bar fills" in (folder / "report.md").read_text()


def test_a_bad_option_is_one_line_error_and_exit_1(tmp_path):
    write_ohlcv(tmp_path / "spy.csv")
    result = emp_backtest(
        *("--data", "spy.csv", "--strategy", "sma_cross"),
        *("--commission-bps", "1", "--commission-fraction", "0.001"),
        *("--reports-dir", "reports", "--db", "emp.duckdb"),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: ConfigError: give --commission-bps or --commission-fraction, not both"]


def test_an_unknown_strategy_names_the_available_ones(tmp_path):
    write_ohlcv(tmp_path / "spy.csv")
    result = emp_backtest(
        *("--data", "spy.csv", "--strategy", "nope", "--json"),
        *("--reports-dir", "reports", "--db", "emp.duckdb"),
        cwd=tmp_path,
        env={"EMP_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert result.returncode == 1
    assert "sma_cross" in result.stderr and "buy_and_hold" in result.stderr


def test_a_var_cap_from_the_environment_binds_in_backtests(tmp_path):
    write_ohlcv(tmp_path / "spy.csv")
    args = (
        *("--data", "spy.csv", "--strategy", "sma_cross", "--param", "fast=5"),
        *("--param", "slow=20", "--cash", "25000", "--json"),
    )
    free = emp_backtest(*args, "--reports-dir", "a", "--db", "a.duckdb", cwd=tmp_path)
    capped = emp_backtest(
        *args, "--reports-dir", "b", "--db", "b.duckdb", cwd=tmp_path,
        env={"EMP_MAX_VAR": "50", "EMP_VAR_WINDOW": "20"},
    )  # fmt: skip
    assert free.returncode == 0 and capped.returncode == 0, free.stderr + capped.stderr
    assert json.loads(free.stdout.strip().splitlines()[-1])["n_trades"] > 0
    assert json.loads(capped.stdout.strip().splitlines()[-1])["n_trades"] == 0
    (folder,) = (tmp_path / "b").iterdir()
    assert "max_var_historical" in (folder / "report.json").read_text()


class TestWalkForward:
    def test_folds_and_the_stitched_out_of_sample_equity_join_the_json_and_the_report(
        self, tmp_path
    ):
        write_ohlcv(tmp_path / "spy.csv", rows=600)
        result = emp_backtest(
            *("--data", "spy.csv", "--strategy", "sma_cross", "--param", "fast=5"),
            *("--param", "slow=20", "--cash", "100000", "--json"),
            *("--walk-forward", "train=200,test=100"),
            *("--reports-dir", "reports", "--db", "emp.duckdb"),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        payload = json.loads(result.stdout.strip().splitlines()[-1])
        assert set(payload) == CONTRACT_KEYS | {"walk_forward"}
        walk = payload["walk_forward"]
        assert walk["spec"] == {
            "train_bars": 200,
            "test_bars": 100,
            "step_bars": 100,
            "gap_bars": 0,
            "anchored": False,
        }
        folds = walk["folds"]
        assert [f["fold"] for f in folds] == [0, 1, 2, 3]  # (600 - 200) / 100 folds
        assert all(f["train"]["end"] == f["test"]["start"] for f in folds)
        # tiled test windows: the stitched growth is the product of the folds' growths
        growth = np.prod([1 + f["out_of_sample"]["return_pct"] / 100 for f in folds])
        stitched = walk["out_of_sample"]
        assert stitched["bars"] == 400 == len(walk["out_of_sample_equity"]["equity"])
        assert stitched["final_equity"] == pytest.approx(100_000 * growth, rel=1e-12)
        (folder,) = (tmp_path / "reports").iterdir()
        report = (folder / "report.md").read_text()
        assert "## Walk-forward" in report
        assert report.count("\n| 3 | 20") == 1  # the last fold's row
        analysis = json.loads((folder / "report.json").read_text())["analysis"]
        assert analysis["walk_forward"]["out_of_sample"] == stitched

    def test_a_malformed_spec_is_a_one_line_error(self, tmp_path):
        write_ohlcv(tmp_path / "spy.csv")
        result = emp_backtest(
            *("--data", "spy.csv", "--strategy", "sma_cross"),
            *("--walk-forward", "train=200,tests=50"),
            *("--reports-dir", "reports", "--db", "emp.duckdb"),
            cwd=tmp_path,
        )
        assert result.returncode == 1
        (line,) = result.stderr.strip().splitlines()
        assert "--walk-forward" in line and "'tests=50'" in line

    def test_too_few_bars_for_one_fold_say_so(self, tmp_path):
        write_ohlcv(tmp_path / "spy.csv", rows=100)
        result = emp_backtest(
            *("--data", "spy.csv", "--strategy", "sma_cross"),
            *("--walk-forward", "train=80,test=50"),
            *("--reports-dir", "reports", "--db", "emp.duckdb"),
            cwd=tmp_path,
        )
        assert result.returncode == 1
        assert "too few for one fold" in result.stderr


class TestAccounts:
    def test_borrow_cost_and_a_margin_account_show_in_the_report(self, tmp_path):
        write_ohlcv(tmp_path / "spy.csv")
        result = emp_backtest(
            *("--data", "spy.csv", "--strategy", "sma_cross", "--param", "fast=5"),
            *("--param", "slow=20", "--param", "mode=reverse", "--cash", "100000"),
            *("--account", "margin", "--initial-margin", "0.5", "--borrow-bps", "300"),
            *("--json", "--reports-dir", "reports", "--db", "emp.duckdb"),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        payload = json.loads(result.stdout.strip().splitlines()[-1])
        assert set(payload) == CONTRACT_KEYS
        (folder,) = (tmp_path / "reports").iterdir()
        document = json.loads((folder / "report.json").read_text())
        assert document["summary"]["carry_paid"] > 0
        assert document["summary"]["account_rejections"] == 0
        assert "short borrow cost paid" in (folder / "report.md").read_text()

    def test_a_cash_account_refuses_the_short_leg_of_a_reversal(self, tmp_path):
        write_ohlcv(tmp_path / "spy.csv")
        result = emp_backtest(
            *("--data", "spy.csv", "--strategy", "sma_cross", "--param", "fast=5"),
            *("--param", "slow=20", "--param", "mode=reverse", "--account", "cash"),
            *("--json", "--reports-dir", "reports", "--db", "emp.duckdb"),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        (folder,) = (tmp_path / "reports").iterdir()
        summary = json.loads((folder / "report.json").read_text())["summary"]
        assert summary["account_rejections"] > 0


class TestCurrencies:
    def test_a_euro_instrument_in_a_dollar_account_converts_pnl_at_the_fx_rate(self, tmp_path):
        write_ohlcv(tmp_path / "sap.csv")
        dates = pd.read_csv(tmp_path / "sap.csv")["Date"]
        pd.DataFrame(
            {"Date": dates, "Open": 1.1, "High": 1.1, "Low": 1.1, "Close": 1.1, "Volume": 0}
        ).to_csv(tmp_path / "eurusd.csv", index=False)
        args = (
            *("--data", "sap.csv", "--strategy", "sma_cross", "--param", "fast=5"),
            *("--param", "slow=20", "--param", "units=10", "--cash", "100000", "--json"),
        )
        plain = emp_backtest(*args, "--reports-dir", "a", "--db", "a.duckdb", cwd=tmp_path)
        euro = emp_backtest(
            *args,
            *("--currency", "SAP=eur", "--fx", "EUR=eurusd.csv"),
            *("--reports-dir", "b", "--db", "b.duckdb"),
            cwd=tmp_path,
        )
        assert plain.returncode == 0 and euro.returncode == 0, plain.stderr + euro.stderr
        plain_line = json.loads(plain.stdout.strip().splitlines()[-1])
        euro_line = json.loads(euro.stdout.strip().splitlines()[-1])
        assert euro_line["n_trades"] == plain_line["n_trades"] > 0
        # the same trades in euros; the dollar account's PnL is 1.1 × the euro PnL
        assert euro_line["final_equity"] - 100_000 == pytest.approx(
            1.1 * (plain_line["final_equity"] - 100_000), rel=1e-9
        )
        (folder,) = (tmp_path / "b").iterdir()
        config = json.loads((folder / "report.json").read_text())["identity"]["config"]
        assert config["currencies"] == {"SAP": "EUR"} and set(config["fx"]) == {"EUR"}

    def test_a_malformed_currency_option_is_a_one_line_error(self, tmp_path):
        write_ohlcv(tmp_path / "sap.csv")
        result = emp_backtest(
            *("--data", "sap.csv", "--strategy", "sma_cross", "--currency", "SAP"),
            *("--reports-dir", "r", "--db", "r.duckdb"),
            cwd=tmp_path,
        )
        assert result.returncode == 1
        assert "--currency expects KEY=VALUE, was 'SAP'" in result.stderr
