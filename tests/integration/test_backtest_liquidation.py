"""`emp backtest --account margin`: a leveraged long breached by a down bar is liquidated,
and the report lists it.

The data: flat at 100, a close of 102 (``sma_cross`` fast=2 slow=5 goes long 900 units,
filled at the next open, 104, with 10,000 of cash at 10× leverage), then that bar closes
at 101.5 — still long, but equity is below 9% of gross — and the trend resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from emp.app.backtest_commands import backtest

CLOSES = [100.0] * 6 + [102.0, 101.5, 104.0, 106.0, 108.0, 110.0, 112.0]
OPENS = [100.0] * 6 + [100.0, 104.0, 102.0, 105.0, 107.0, 109.0, 111.0]
LEVERED = (
    *("--strategy", "sma_cross", "--param", "fast=2", "--param", "slow=5"),
    *("--param", "units=900", "--cash", "10000", "--account", "margin"),
    *("--initial-margin", "0.1", "--maintenance-margin", "0.09", "--json"),
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("EMP_DISABLE_PLUGIN_AUTOLOAD", "1")


def write_csv(path: Path) -> None:
    dates = pd.date_range("2024-01-01", periods=len(CLOSES), freq="D").strftime("%Y-%m-%d")
    pd.DataFrame(
        {
            "Date": dates,
            "Open": OPENS,
            "High": [max(o, c) + 0.5 for o, c in zip(OPENS, CLOSES, strict=True)],
            "Low": [min(o, c) - 0.5 for o, c in zip(OPENS, CLOSES, strict=True)],
            "Close": CLOSES,
            "Adj Close": CLOSES,
            "Volume": 1_000_000,
        }
    ).to_csv(path, index=False)


def report_of(tmp: Path, *args: str) -> tuple[dict, str]:
    app = typer.Typer()
    app.command()(backtest)

    @app.command()
    def version() -> None:  # a second command, so `backtest` is a subcommand as in `emp`
        print("test")

    write_csv(tmp / "x.csv")
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            *("--data", str(tmp / "x.csv"), *args),
            *("--reports-dir", str(tmp / "reports"), "--db", str(tmp / "x.db")),
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    (folder,) = (tmp / "reports").iterdir()
    return json.loads((folder / "report.json").read_text()), (folder / "report.md").read_text()


class TestLiquidationInTheReport:
    def test_a_breached_margin_account_is_liquidated_and_the_report_lists_it(self, tmp_path):
        document, markdown = report_of(tmp_path, *LEVERED)
        assert document["summary"]["margin_breaches"] == 1
        assert document["summary"]["liquidations"] == 1
        (row,) = document["analysis"]["liquidations"]
        assert (row["time"], row["symbol"], row["side"]) == ("2024-01-08T00:00:00Z", "X", "sell")
        assert row["quantity"] < 0 and row["reason"].startswith("margin: equity")
        assert "- liquidation at 2024-01-08T00:00:00Z: sell" in markdown

    def test_policy_none_only_records_the_breach(self, tmp_path):
        document, _ = report_of(tmp_path, *LEVERED, "--liquidation", "none")
        assert document["summary"]["margin_breaches"] == 1
        assert document["summary"]["liquidations"] == 0
        assert "liquidations" not in document["analysis"]

    def test_a_cushion_liquidates_more_and_is_in_the_run_config(self, tmp_path):
        (tmp_path / "plain").mkdir()
        (tmp_path / "cushion").mkdir()
        plain, _ = report_of(tmp_path / "plain", *LEVERED)
        cushioned, _ = report_of(tmp_path / "cushion", *LEVERED, "--liquidation-cushion", "0.5")
        assert cushioned["identity"]["config"]["account"]["liquidation_cushion"] == 0.5
        sold = [-row["quantity"] for row in plain["analysis"]["liquidations"]]
        sold_more = [-row["quantity"] for row in cushioned["analysis"]["liquidations"]]
        assert sold_more[0] > sold[0]
