import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emp.adapters.report_files import ReportFilesWriter
from emp.domain.performance import drawdown_series, summarize
from emp.domain.trades import ClosedTrade
from emp.ports.report_sink import ReportError, ReportSinkPort, RunReport

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DAY_NS = 86_400 * 1_000_000_000
START_NS = 1_704_153_600 * 1_000_000_000  # 2024-01-02T00:00:00Z
EXPECTED_FILES = {"report.json", "report.md", "equity.png", "drawdown.png", "trades.csv"}


def make_trades(count: int) -> list[ClosedTrade]:
    return [
        ClosedTrade(
            symbol="AAPL" if i % 2 else "MSFT",
            direction=1 if i % 3 else -1,
            entry_ns=START_NS + i * DAY_NS,
            exit_ns=START_NS + (i + 1) * DAY_NS,
            max_quantity=10.0 + i,
            pnl=(-1.0) ** i * (100.0 + i) + 0.1,
        )
        for i in range(count)
    ]


def make_report(
    *,
    run_id: str = "run-001",
    trades: list[ClosedTrade] | None = None,
    summary_overrides: dict[str, object] | None = None,
    bars: int = 40,
    notes: tuple[str, ...] = ("synthetic data", "fees at 1 bp"),
) -> RunReport:
    trades = make_trades(3) if trades is None else trades
    rng = np.random.default_rng(7)
    ts_ns = START_NS + np.arange(bars, dtype=np.int64) * DAY_NS
    equity = 100_000.0 * np.cumprod(1.0 + rng.normal(0.0005, 0.01, size=bars))
    summary = summarize(equity, 0.5 * equity, trades, fees=1234.5).to_dict()
    summary.update(summary_overrides or {})
    return RunReport(
        run_id=run_id,
        identity={
            "run_id": run_id,
            "strategy": "sma_cross",
            "seed": 42,
            "data_hash": "0123456789abcdef0123456789abcdef",
            "package_version": "0.1.0",
            "config": {"fast": 5, "slow": 20, "symbols": ["AAPL", "MSFT"]},
        },
        summary=summary,
        ts_ns=ts_ns,
        equity=equity,
        drawdown=drawdown_series(equity),
        trades=trades,
        notes=notes,
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunReport, dict[str, Path]]:
    report = make_report()
    paths = ReportFilesWriter(tmp_path_factory.mktemp("reports")).write(report)
    return report, dict(paths)


class TestFilesWritten:
    def test_writer_implements_the_report_sink_port(self, tmp_path: Path) -> None:
        assert isinstance(ReportFilesWriter(tmp_path), ReportSinkPort)

    def test_every_file_is_written_into_the_run_directory(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        report, paths = written
        assert set(paths) == EXPECTED_FILES
        for name, path in paths.items():
            assert path.name == name
            assert path.parent.name == report.run_id
            assert path.stat().st_size > 0

    def test_plots_are_png_images(self, written: tuple[RunReport, dict[str, Path]]) -> None:
        _, paths = written
        for name in ("equity.png", "drawdown.png"):
            assert paths[name].read_bytes().startswith(PNG_MAGIC)

    def test_png_files_do_not_embed_the_software_version(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        _, paths = written
        for name in ("equity.png", "drawdown.png"):
            assert b"Software" not in paths[name].read_bytes()

    def test_no_temporary_files_are_left_behind(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        _, paths = written
        run_dir = paths["report.json"].parent
        assert {p.name for p in run_dir.iterdir()} == EXPECTED_FILES

    def test_an_empty_run_still_gives_every_file(self, tmp_path: Path) -> None:
        report = make_report(trades=[], bars=1, notes=())
        empty = RunReport(
            run_id="empty",
            identity={},
            summary=report.summary,
            ts_ns=np.zeros(0, dtype=np.int64),
            equity=np.zeros(0),
            drawdown=np.zeros(0),
            trades=[],
        )
        paths = ReportFilesWriter(tmp_path).write(empty)
        assert paths["equity.png"].read_bytes().startswith(PNG_MAGIC)
        assert "No closed trades." in paths["report.md"].read_text()

    def test_writing_a_run_again_replaces_its_files(self, tmp_path: Path) -> None:
        writer = ReportFilesWriter(tmp_path)
        writer.write(make_report(notes=("first",)))
        paths = writer.write(make_report(notes=("second",)))
        assert json.loads(paths["report.json"].read_text())["notes"] == ["second"]


class TestJsonReport:
    def test_same_report_gives_byte_identical_files(self, tmp_path: Path) -> None:
        report = make_report()
        first = ReportFilesWriter(tmp_path / "a").write(report)
        second = ReportFilesWriter(tmp_path / "b").write(report)
        assert first["report.json"] != second["report.json"]
        for name in ("report.json", "report.md", "trades.csv", "equity.png", "drawdown.png"):
            assert first[name].read_bytes() == second[name].read_bytes(), name

    def test_json_holds_run_id_identity_summary_notes_and_trade_count(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        report, paths = written
        document = json.loads(paths["report.json"].read_text())
        assert document["run_id"] == report.run_id
        assert document["identity"]["config"] == {
            "fast": 5,
            "slow": 20,
            "symbols": ["AAPL", "MSFT"],
        }
        assert document["summary"] == report.summary
        assert document["notes"] == list(report.notes)
        assert document["trades"]["count"] == 3
        assert document["trades"]["wins"] == sum(t.is_win for t in report.trades)

    def test_json_keys_are_sorted_and_floats_are_not_rounded(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        report, paths = written
        text = paths["report.json"].read_text()
        assert (
            text
            == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        )
        assert repr(report.summary["sharpe"]) in text

    def test_nan_and_infinity_become_null(self, tmp_path: Path) -> None:
        report = make_report(summary_overrides={"sharpe": math.nan, "cagr": math.inf})
        text = ReportFilesWriter(tmp_path).write(report)["report.json"].read_text()
        assert "NaN" not in text and "Infinity" not in text
        summary = json.loads(text)["summary"]
        assert summary["sharpe"] is None
        assert summary["cagr"] is None

    def test_numpy_values_in_identity_become_plain_json(self, tmp_path: Path) -> None:
        report = make_report()
        identity = {**report.identity, "seed": np.int64(9), "weights": np.array([0.5, 0.25])}
        patched = RunReport(
            run_id=report.run_id,
            identity=identity,
            summary=report.summary,
            ts_ns=report.ts_ns,
            equity=report.equity,
            drawdown=report.drawdown,
            trades=report.trades,
        )
        document = json.loads(ReportFilesWriter(tmp_path).write(patched)["report.json"].read_text())
        assert document["identity"]["seed"] == 9
        assert document["identity"]["weights"] == [0.5, 0.25]


class TestMarkdownReport:
    def test_title_names_the_run(self, written: tuple[RunReport, dict[str, Path]]) -> None:
        report, paths = written
        assert paths["report.md"].read_text().startswith(f"# Run report: {report.run_id}\n")

    def test_summary_rows_are_formatted_for_people(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        report, paths = written
        text = paths["report.md"].read_text()
        summary = report.summary
        assert f"| total_return | {summary['total_return'] * 100:.2f}% |" in text
        assert f"| max_drawdown | {summary['max_drawdown'] * 100:.2f}% |" in text
        assert f"| sharpe | {summary['sharpe']:.2f} |" in text
        assert "| fees | 1,234.50 |" in text
        assert f"| final_equity | {summary['final_equity']:,.2f} |" in text
        assert "| trades | 3 |" in text

    def test_missing_values_show_as_not_available(self, tmp_path: Path) -> None:
        report = make_report(trades=[], summary_overrides={"sharpe": math.nan})
        assert report.summary["win_rate"] is None
        text = ReportFilesWriter(tmp_path).write(report)["report.md"].read_text()
        assert "| win_rate | n/a |" in text
        assert "| sharpe | n/a |" in text

    def test_identity_table_shows_a_short_hash_and_compact_config(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        _, paths = written
        text = paths["report.md"].read_text()
        assert "| strategy | sma_cross |" in text
        assert "| seed | 42 |" in text
        assert "| data hash | `0123456789ab` |" in text
        assert "0123456789abcdef0123" not in text
        assert "| package version | 0.1.0 |" in text
        assert '| config | `{"fast":5,"slow":20,"symbols":["AAPL","MSFT"]}` |' in text

    def test_metric_definitions_come_from_the_performance_module(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        _, paths = written
        text = paths["report.md"].read_text()
        assert "- **total_return**: final / initial equity − 1." in text
        assert "- **max_drawdown**:" in text

    def test_notes_and_plot_links_are_included(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        report, paths = written
        text = paths["report.md"].read_text()
        for note in report.notes:
            assert f"- {note}" in text
        assert "![equity](equity.png)" in text
        assert "![drawdown](drawdown.png)" in text

    def test_only_the_last_twenty_trades_are_listed(self, tmp_path: Path) -> None:
        trades = make_trades(25)
        text = ReportFilesWriter(tmp_path).write(make_report(trades=trades))["report.md"]
        lines = text.read_text().splitlines()
        trade_rows = [row for row in lines if "| AAPL |" in row or "| MSFT |" in row]
        assert len(trade_rows) == 20
        assert trade_rows[0].startswith("| 6 |")
        assert trade_rows[-1].startswith("| 25 |")
        assert "2024-01-27T00:00:00Z" in trade_rows[-1]  # exit of the 25th trade

    def test_table_cells_escape_pipes(self, tmp_path: Path) -> None:
        report = make_report(summary_overrides={"label": "a|b"})
        text = ReportFilesWriter(tmp_path).write(report)["report.md"].read_text()
        assert "| label | a\\|b |" in text


class TestTradesCsv:
    def test_every_trade_is_a_row_with_exact_pnl(
        self, written: tuple[RunReport, dict[str, Path]]
    ) -> None:
        report, paths = written
        with paths["trades.csv"].open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == len(report.trades)
        for row, trade in zip(rows, report.trades, strict=True):
            assert row["symbol"] == trade.symbol
            assert float(row["pnl"]) == trade.pnl
            assert int(row["exit_ns"]) == trade.exit_ns


class TestErrors:
    def test_a_file_in_place_of_the_reports_directory_raises_report_error(
        self, tmp_path: Path
    ) -> None:
        blocker = tmp_path / "reports"
        blocker.write_text("not a directory")
        with pytest.raises(ReportError, match="run-001") as info:
            ReportFilesWriter(blocker).write(make_report())
        assert str(blocker) in str(info.value)
        assert isinstance(info.value.__cause__, OSError)

    def test_a_file_in_place_of_the_run_directory_raises_report_error(self, tmp_path: Path) -> None:
        (tmp_path / "run-001").write_text("in the way")
        with pytest.raises(ReportError, match="could not write"):
            ReportFilesWriter(tmp_path).write(make_report())

    def test_a_failed_replace_keeps_the_old_file_and_leaves_no_temporary_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        writer = ReportFilesWriter(tmp_path)
        old = writer.write(make_report(notes=("old",)))["report.json"].read_bytes()

        def refuse(src: str, dst: str) -> None:
            raise PermissionError(13, "Permission denied", dst)

        monkeypatch.setattr("emp.adapters.report_files.report_sink.os.replace", refuse)
        with pytest.raises(ReportError, match="Permission denied"):
            writer.write(make_report(notes=("new",)))
        run_dir = tmp_path / "run-001"
        assert (run_dir / "report.json").read_bytes() == old
        assert {p.name for p in run_dir.iterdir()} == EXPECTED_FILES

    @pytest.mark.parametrize("run_id", ["", "..", "a/b"])
    def test_run_ids_that_are_not_directory_names_are_rejected(
        self, tmp_path: Path, run_id: str
    ) -> None:
        with pytest.raises(ReportError, match="directory name"):
            ReportFilesWriter(tmp_path).write(make_report(run_id=run_id))
        assert list(tmp_path.iterdir()) == []

    def test_series_of_different_lengths_are_rejected_before_anything_is_written(
        self, tmp_path: Path
    ) -> None:
        report = make_report()
        broken = RunReport(
            run_id="broken",
            identity=report.identity,
            summary=report.summary,
            ts_ns=report.ts_ns,
            equity=report.equity[:-1],
            drawdown=report.drawdown,
            trades=report.trades,
        )
        with pytest.raises(ReportError, match="equal length"):
            ReportFilesWriter(tmp_path).write(broken)
        assert list(tmp_path.iterdir()) == []


class TestImportCost:
    def test_importing_the_adapter_does_not_import_matplotlib(self) -> None:
        code = (
            "import sys, emp.adapters.report_files; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
