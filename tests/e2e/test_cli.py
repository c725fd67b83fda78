"""The `emp` command end to end, as a user runs it: subprocesses, real files, no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EMP = BIN / "emp"
REPORT_FILES = {"report.md", "report.json", "equity.png", "drawdown.png", "trades.csv"}


def emp(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 180):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    environment.update(env or {})
    return subprocess.run(
        [str(EMP), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result, kind: str, fragment: str = "") -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {kind}: "), lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def write_bars_csv(path: Path, rows: int = 80, **edits) -> Path:
    rng = np.random.default_rng(11)
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.01, rows))), 2)
    frame = pd.DataFrame(
        {
            "timestamp": pd.bdate_range("2024-01-02", periods=rows).strftime("%Y-%m-%d"),
            "symbol": "AAA",
            "open": close,
            "high": close + 0.25,
            "low": close - 0.25,
            "close": close,
            "volume": 500_000,
        }
    )
    for column, (row, value) in edits.items():
        frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return path


class TestHelp:
    def test_help_lists_every_command(self, tmp_path):
        result = emp("--help", cwd=tmp_path)
        assert result.returncode == 0
        for command in ("demo", "plugins", "runs", "data", "version"):
            assert command in result.stdout

    def test_demo_help_teaches_the_options_and_their_environment_variables(self, tmp_path):
        result = emp("demo", "--help", cwd=tmp_path)
        assert result.returncode == 0
        assert "--param" in result.stdout and "EMP_SEED" in result.stdout

    def test_an_unknown_option_is_a_usage_error_with_exit_code_2(self, tmp_path):
        result = emp("demo", "--no-such-option", cwd=tmp_path)
        assert result.returncode == 2
        assert "No such option" in result.stderr


class TestPlugins:
    def test_plugins_list_shows_the_installed_example_plugin_and_its_strategy(self, tmp_path):
        result = emp("plugins", "list", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "emp-sma-cross" in result.stdout
        assert "sma_trend" in result.stdout and "buy_and_hold" in result.stdout
        assert "sma_spread_20_50" in result.stdout

    def test_the_plugin_pip_installs_and_runs_through_the_cli(self, tmp_path):
        site = tmp_path / "site"
        install = subprocess.run(
            [
                str(BIN / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                "--no-build-isolation", "--target", str(site),
                str(ROOT / "plugins" / "emp-sma-cross"),
            ],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert install.returncode == 0, install.stderr
        assert (site / "emp_sma_cross" / "plugin.py").is_file()
        env = {"PYTHONPATH": str(site)}
        where = subprocess.run(
            [str(BIN / "python"), "-c", "import emp_sma_cross; print(emp_sma_cross.__file__)"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert where.stdout.strip().startswith(str(site))
        result = emp(
            "demo", "--bars", "150", "--no-progress", "--json", "--param", "fast=5",
            "--param", "slow=20", "--reports-dir", "reports", "--db", "emp.duckdb",
            cwd=tmp_path, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["fills"] > 0

    def test_a_plugin_that_fails_to_import_is_listed_and_stops_runs_with_one_line(self, tmp_path):
        site = tmp_path / "site"
        dist = site / "emp_broken-0.1.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: emp-broken\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text("[emp.plugins]\nbroken = emp_broken_plugin\n")
        (site / "emp_broken_plugin.py").write_text("raise ImportError('needs libfoo')\n")
        env = {"PYTHONPATH": str(site)}
        listed = emp("plugins", "list", cwd=tmp_path, env=env)
        assert listed.returncode == 0, listed.stderr
        assert "FAILED" in listed.stdout and "needs libfoo" in listed.stdout
        run = emp("demo", "--no-progress", "--db", "x.duckdb", cwd=tmp_path, env=env)
        assert_one_line_error(run, "PluginLoadError", "'broken'")
        switched_off = emp(
            "demo", "--no-progress", "--strategy", "buy_and_hold", "--bars", "30",
            "--db", "x.duckdb", "--reports-dir", "r", cwd=tmp_path,
            env={**env, "EMP_DISABLE_PLUGIN_AUTOLOAD": "1"},
        )  # fmt: skip
        assert switched_off.returncode == 0, switched_off.stderr

    def test_a_strategy_plugin_that_raises_fails_the_run_with_one_line(self, tmp_path):
        site = tmp_path / "site"
        dist = site / "emp_raiser-0.1.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: emp-raiser\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text("[emp.plugins]\nraiser = emp_raiser_plugin\n")
        (site / "emp_raiser_plugin.py").write_text(
            textwrap.dedent(
                """
                from emp.app.hookspecs import hookimpl
                from emp.domain.strategy import Strategy, StrategySpec

                class Raiser(Strategy):
                    name = "raiser"
                    def on_bar(self, bar, ctx):
                        raise KeyError("lookback")

                @hookimpl
                def emp_register_strategies():
                    return [StrategySpec(name="raiser", factory=lambda p: Raiser())]
                """
            )
        )
        env = {"PYTHONPATH": str(site)}
        result = emp(
            "demo", "--strategy", "raiser", "--no-progress", "--db", "x.duckdb",
            cwd=tmp_path, env=env,
        )  # fmt: skip
        assert_one_line_error(result, "StrategyError", "'raiser' raised KeyError")
        runs = emp("runs", "list", "--db", "x.duckdb", cwd=tmp_path)
        assert "failed" in runs.stdout


class TestDemo:
    def test_demo_writes_the_report_and_the_run_is_listed(self, tmp_path):
        result = emp(
            "demo", "--bars", "200", "--reports-dir", "reports", "--db", "emp.duckdb",
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (folder,) = (tmp_path / "reports").iterdir()
        assert {p.name for p in folder.iterdir()} >= REPORT_FILES
        assert "bars" in result.stderr  # the progress bar
        runs = emp("runs", "list", "--db", "emp.duckdb", cwd=tmp_path)
        assert folder.name in runs.stdout and "completed" in runs.stdout
        shown = json.loads(
            emp("runs", "show", folder.name, "--db", "emp.duckdb", cwd=tmp_path).stdout
        )
        assert shown["status"] == "completed" and shown["fills"] > 0
        data = emp("data", "ls", "--db", "emp.duckdb", cwd=tmp_path)
        assert "SYN_A" in data.stdout and "synthetic" in data.stdout

    def test_demo_defaults_write_under_docs_reports_and_dot_emp(self, tmp_path):
        result = emp("demo", "--bars", "60", "--no-progress", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / ".emp" / "emp.duckdb").is_file()
        (folder,) = (tmp_path / "docs" / "reports").iterdir()
        assert (folder / "report.json").is_file()

    def test_same_seed_same_report_json_through_the_cli(self, tmp_path):
        outputs = []
        for name in ("a", "b"):
            result = emp(
                "demo", "--bars", "120", "--seed", "5", "--no-progress", "--reports-dir",
                f"{name}/reports", "--db", f"{name}/emp.duckdb", cwd=tmp_path,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            (folder,) = (tmp_path / name / "reports").iterdir()
            report = json.loads((folder / "report.json").read_text())
            report.pop("run_id")
            report["identity"].pop("run_id")
            report["identity"].pop("created_utc")
            outputs.append(report)
        assert outputs[0] == outputs[1]

    def test_the_debug_flag_shows_the_traceback(self, tmp_path):
        result = emp("--debug", "demo", "--strategy", "nope", "--no-progress", cwd=tmp_path)
        assert result.returncode != 0
        assert "Traceback" in result.stderr and "UnknownStrategy" in result.stderr


class TestBadInput:
    @pytest.mark.parametrize(
        ("edits", "kind", "fragment"),
        [
            ({"close": (3, float("nan"))}, "InvalidBars", "row 3: close is NaN"),
            ({"low": (4, -1.0)}, "InvalidBars", "row 4: low must be > 0"),
            ({"timestamp": (6, "2024-01-02")}, "InvalidBars", "strictly increasing"),
        ],
    )
    def test_bad_bars_give_a_named_one_line_error(self, tmp_path, edits, kind, fragment):
        data = write_bars_csv(tmp_path / "bars.csv", **edits)
        result = emp("demo", "--data", str(data), "--no-progress", "--db", "x.duckdb", cwd=tmp_path)
        assert_one_line_error(result, kind, fragment)
        assert "bars.csv" in result.stderr

    def test_a_csv_with_missing_columns_names_them(self, tmp_path):
        data = tmp_path / "bars.csv"
        data.write_text("timestamp,open,close\n2024-01-02,1,1\n")
        result = emp("demo", "--data", str(data), "--no-progress", "--db", "x.duckdb", cwd=tmp_path)
        assert_one_line_error(result, "MalformedBarFile", "high")
        assert "low" in result.stderr and "volume" in result.stderr

    def test_an_unknown_symbol_is_named(self, tmp_path):
        data = write_bars_csv(tmp_path / "bars.csv")
        result = emp(
            "demo", "--data", str(data), "--symbols", "MSFT", "--no-progress", "--db", "x.duckdb",
            cwd=tmp_path,
        )  # fmt: skip
        assert_one_line_error(result, "SymbolNotFound", "MSFT")

    def test_a_bad_strategy_parameter_is_named(self, tmp_path):
        result = emp("demo", "--param", "fast=quick", "--no-progress", cwd=tmp_path)
        assert_one_line_error(result, "InvalidConfiguration", "'fast'")

    def test_a_bad_environment_setting_is_named(self, tmp_path):
        result = emp("demo", "--no-progress", cwd=tmp_path, env={"EMP_VENUE": "nyse"})
        assert_one_line_error(result, "ConfigError", "EMP_VENUE")

    def test_an_off_grid_order_from_a_strategy_is_an_invalid_order_error(self, tmp_path):
        # a lot size of 1000 makes the example strategy's sizing produce valid lots, but a
        # tick of 0.3 does not divide the generated prices: the generator refuses instead
        result = emp(
            "demo", "--no-progress", "--bars", "60", cwd=tmp_path, env={"EMP_LOT_SIZE": "0"}
        )
        assert_one_line_error(result, "ConfigError", "EMP_LOT_SIZE")

    def test_a_dead_database_path_is_a_one_line_store_error(self, tmp_path):
        (tmp_path / "db").mkdir()
        result = emp("demo", "--no-progress", "--db", "db", cwd=tmp_path)
        assert_one_line_error(result, "StoreUnavailable", "db")

    def test_from_store_on_an_empty_store_says_what_to_do(self, tmp_path):
        result = emp("demo", "--from-store", "--no-progress", "--db", "x.duckdb", cwd=tmp_path)
        assert_one_line_error(result, "ConfigError", "holds no bars")

    def test_from_store_names_a_symbol_that_is_not_stored(self, tmp_path):
        data = write_bars_csv(tmp_path / "bars.csv")
        assert emp("ingest", "csv", str(data), "--db", "x.duckdb", cwd=tmp_path).returncode == 0
        result = emp(
            "demo", "--from-store", "--symbols", "MSFT", "--no-progress", "--db", "x.duckdb",
            cwd=tmp_path,
        )  # fmt: skip
        assert_one_line_error(result, "ConfigError", "MSFT")


class TestKill:
    def test_emp_kill_halts_the_next_run_and_clear_withdraws_it(self, tmp_path):
        requested = emp("kill", "--reason", "exchange outage", cwd=tmp_path)
        assert requested.returncode == 0, requested.stderr
        assert (tmp_path / ".emp" / "KILL").is_file()
        halted = emp("demo", "--bars", "120", "--no-progress", "--json", cwd=tmp_path)
        assert halted.returncode == 0, halted.stderr
        summary = json.loads(halted.stdout.strip().splitlines()[-1])
        assert summary["risk_final_state"] == "HALTED" and summary["fills"] == 0
        cleared = emp("kill", "--clear", cwd=tmp_path)
        assert "withdrawn" in cleared.stdout
        assert not (tmp_path / ".emp" / "KILL").exists()
        active = emp("demo", "--bars", "120", "--no-progress", "--json", cwd=tmp_path)
        assert json.loads(active.stdout.strip().splitlines()[-1])["risk_final_state"] == "ACTIVE"

    def test_emp_kill_without_a_reason_is_refused(self, tmp_path):
        result = emp("kill", cwd=tmp_path)
        assert_one_line_error(result, "ConfigError", "--reason")


class TestPinnedClock:
    def test_a_pinned_clock_makes_a_rerun_byte_identical(self, tmp_path):
        reports = []
        for name in ("a", "b"):
            result = emp(
                "demo", "--bars", "120", "--no-progress", "--reports-dir", f"{name}/reports",
                "--db", f"{name}/emp.duckdb", cwd=tmp_path,
                env={"EMP_CLOCK_NS": "1700000000000000000"},
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            (folder,) = (tmp_path / name / "reports").iterdir()
            assert folder.name.startswith("20231114T221320")
            reports.append({p.name: p.read_bytes() for p in folder.iterdir()})
        assert reports[0]["report.json"] == reports[1]["report.json"]
        assert reports[0]["report.md"] == reports[1]["report.md"]
        assert reports[0]["trades.csv"] == reports[1]["trades.csv"]
