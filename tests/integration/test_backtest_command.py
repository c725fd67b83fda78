"""`emp backtest` through the CLI framework (a tiny Typer app registering the command).

The same contract runs through the installed `emp` script in tests/e2e/test_backtest_cli.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from emp.adapters.synthetic import RegimeSwitchingBarSource
from emp.app.backtest_commands import backtest
from emp.app.errors import ConfigError

CONTRACT_KEYS = {"trades", "n_trades", "final_equity", "return_pct", "max_drawdown_pct", "sharpe"}
TRADE_KEYS = {"symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "size"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("EMP_DISABLE_PLUGIN_AUTOLOAD", "1")


def write_csv(path: Path, n_bars: int = 400, seed: int = 3) -> pd.DataFrame:
    """Bars as a Yahoo-style CSV: Date, Open, High, Low, Close, Adj Close, Volume."""
    series = RegimeSwitchingBarSource(["X"], n_bars=n_bars, seed=seed).load()["X"]
    frame = pd.DataFrame(
        {
            "Date": pd.to_datetime(series.ts_ns, utc=True).strftime("%Y-%m-%d"),
            "Open": series.open,
            "High": series.high,
            "Low": series.low,
            "Close": series.close,
            "Adj Close": series.close,
            "Volume": series.volume.astype(int),
        }
    )
    frame.to_csv(path, index=False)
    return frame


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(backtest)

    @app.command()
    def version() -> None:  # a second command, so `backtest` is a subcommand as in `emp`
        print("test")

    return app


def invoke(tmp: Path, *args: str) -> object:
    result = CliRunner().invoke(
        cli(),
        ["backtest", *args, "--reports-dir", str(tmp / "reports"), "--db", str(tmp / "x.db")],
    )
    return result


def json_line(result) -> dict:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "spy.csv"
    write_csv(path)
    return path


class TestJsonContract:
    def test_the_last_line_is_one_object_with_exactly_the_contract_keys(self, tmp_path, data_file):
        payload = json_line(
            invoke(tmp_path, "--data", str(data_file), "--strategy", "sma_cross", "--json")
        )
        assert set(payload) == CONTRACT_KEYS
        assert payload["n_trades"] == len(payload["trades"]) > 0
        assert math.isfinite(payload["final_equity"]) and math.isfinite(payload["sharpe"])
        assert payload["max_drawdown_pct"] <= 0

    def test_each_trade_has_entry_and_exit_times_side_prices_and_size(self, tmp_path, data_file):
        payload = json_line(
            invoke(tmp_path, "--data", str(data_file), "--strategy", "sma_cross", "--json")
        )
        frame = pd.read_csv(data_file)
        opens = dict(zip(frame["Date"], frame["Open"], strict=True))
        for trade in payload["trades"]:
            assert set(trade) >= TRADE_KEYS
            assert trade["side"] == "long"  # the default mode is long-only
            assert trade["entry_time"] < trade["exit_time"]
            assert trade["size"] == int(trade["size"]) > 0  # whole units
            # next-bar-open fills: every price is some bar's open
            assert trade["entry_price"] == opens[trade["entry_time"][:10]]
            assert trade["exit_price"] == opens[trade["exit_time"][:10]]

    def test_return_pct_matches_final_equity_and_cash(self, tmp_path, data_file):
        payload = json_line(
            invoke(
                tmp_path,
                *("--data", str(data_file), "--strategy", "sma_cross", "--json"),
                *("--cash", "50000"),
            )
        )
        assert payload["return_pct"] == pytest.approx((payload["final_equity"] / 50_000 - 1) * 100)

    def test_the_first_entry_invests_all_cash_in_whole_units(self, tmp_path, data_file):
        payload = json_line(
            invoke(
                tmp_path,
                *("--data", str(data_file), "--strategy", "sma_cross", "--json"),
                *("--cash", "10000", "--commission-bps", "0"),
            )
        )
        frame = pd.read_csv(data_file)
        first = payload["trades"][0]
        position = frame.index[frame["Date"] == first["entry_time"][:10]][0]
        decision_close = frame["Close"][position - 1]  # decided on the previous close
        assert first["size"] == math.floor(10_000 / decision_close)


class TestOptions:
    def test_commission_fraction_is_commission_bps_over_ten_thousand(self, tmp_path, data_file):
        common = ("--data", str(data_file), "--strategy", "sma_cross", "--json")
        by_bps = json_line(invoke(tmp_path / "a", *common, "--commission-bps", "10"))
        by_fraction = json_line(invoke(tmp_path / "b", *common, "--commission-fraction", "0.001"))
        free = json_line(invoke(tmp_path / "c", *common, "--commission-bps", "0"))
        assert by_bps == by_fraction
        assert by_bps["final_equity"] < free["final_equity"]

    def test_both_commission_options_together_are_refused(self, tmp_path, data_file):
        result = invoke(
            tmp_path,
            *("--data", str(data_file), "--strategy", "sma_cross"),
            *("--commission-bps", "1", "--commission-fraction", "0.001"),
        )
        assert result.exit_code != 0
        assert isinstance(result.exception, ConfigError)

    def test_an_unknown_fill_model_is_refused(self, tmp_path, data_file):
        result = invoke(
            tmp_path, "--data", str(data_file), "--strategy", "sma_cross", "--fill", "vwap"
        )
        assert isinstance(result.exception, ConfigError)
        assert "next_open" in str(result.exception)

    def test_params_reach_the_strategy(self, tmp_path, data_file):
        common = ("--data", str(data_file), "--strategy", "sma_cross", "--json")
        slow = json_line(
            invoke(tmp_path / "a", *common, "--param", "fast=20", "--param", "slow=60")
        )
        fast = json_line(invoke(tmp_path / "b", *common, "--param", "fast=3", "--param", "slow=8"))
        assert fast["n_trades"] > slow["n_trades"]

    def test_reverse_mode_trades_both_sides(self, tmp_path, data_file):
        payload = json_line(
            invoke(
                tmp_path,
                *("--data", str(data_file), "--strategy", "sma_cross", "--json"),
                *("--param", "mode=reverse"),
            )
        )
        assert {t["side"] for t in payload["trades"]} == {"long", "short"}
        # always in the market: each trade starts where the previous one ended
        for before, after in zip(payload["trades"], payload["trades"][1:], strict=False):
            assert after["entry_time"] == before["exit_time"]

    def test_without_json_a_table_and_the_report_folder_are_printed(self, tmp_path, data_file):
        result = invoke(tmp_path, "--data", str(data_file), "--strategy", "sma_cross")
        assert result.exit_code == 0, result.output
        assert "sharpe" in result.stdout and "report:" in result.stdout


class TestCloseFills:
    def test_close_fills_trade_at_the_decision_bars_close_and_are_flagged(
        self, tmp_path, data_file
    ):
        result = invoke(
            tmp_path,
            *("--data", str(data_file), "--strategy", "sma_cross", "--json"),
            *("--fill", "close"),
        )
        payload = json_line(result)
        frame = pd.read_csv(data_file)
        closes = dict(zip(frame["Date"], frame["Close"], strict=True))
        for trade in payload["trades"]:
            assert trade["entry_price"] == closes[trade["entry_time"][:10]]
            assert trade["exit_price"] == closes[trade["exit_time"][:10]]
        (folder,) = (tmp_path / "reports").iterdir()
        assert "Close-of-bar fills" in (folder / "report.md").read_text()
        report = json.loads((folder / "report.json").read_text())
        assert report["identity"]["fill_model"] == "close"
        assert report["notes"][0].startswith("close-of-bar fills")

    def test_close_fills_enter_one_bar_earlier_than_next_open_fills(self, tmp_path, data_file):
        common = ("--data", str(data_file), "--strategy", "sma_cross", "--json")
        at_open = json_line(invoke(tmp_path / "a", *common))["trades"]
        at_close = json_line(invoke(tmp_path / "b", *common, "--fill", "close"))["trades"]
        dates = list(pd.read_csv(data_file)["Date"])
        first_open = dates.index(at_open[0]["entry_time"][:10])
        first_close = dates.index(at_close[0]["entry_time"][:10])
        assert first_close == first_open - 1


class TestReportFiles:
    def test_a_backtest_writes_every_report_file(self, tmp_path, data_file):
        result = invoke(tmp_path, "--data", str(data_file), "--strategy", "sma_cross", "--json")
        assert result.exit_code == 0
        (folder,) = (tmp_path / "reports").iterdir()
        names = {p.name for p in folder.iterdir()}
        assert names == {
            "report.json",
            "report.md",
            "equity.png",
            "drawdown.png",
            "rolling_sharpe.png",
            "monthly_returns.png",
            "exposure.png",
            "regimes.png",
            "trades.csv",
            "trades.parquet",
        }
        trades = pd.read_parquet(folder / "trades.parquet")
        assert len(trades) == json_line(result)["n_trades"]
        assert np.all(trades["exit_ns"] > trades["entry_ns"])

    def test_the_report_records_config_seed_data_hash_version_and_revision(
        self, tmp_path, data_file
    ):
        invoke(tmp_path, "--data", str(data_file), "--strategy", "sma_cross", "--json")
        (folder,) = (tmp_path / "reports").iterdir()
        identity = json.loads((folder / "report.json").read_text())["identity"]
        assert identity["kind"] == "backtest"
        assert len(identity["data_hash"]) == 64
        assert identity["package_version"]
        assert identity["git_revision"] is None or len(identity["git_revision"]) == 40
        assert identity["config"]["params"] == {
            "fast": 10,
            "slow": 30,
            "mode": "long_only",
            "units": 0.0,
        }
        assert identity["seed"] is None  # file data has no seed
