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
