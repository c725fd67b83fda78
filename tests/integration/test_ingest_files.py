"""`emp ingest csv|parquet` and `emp data ls|quarantine|export|import` on real DuckDB files.

The sub-apps are exercised through typer's CliRunner until they are registered in the
`emp` command (tests/e2e/test_ingest_cli.py runs the same flows as subprocesses).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emp.adapters.duckdb_store import DuckDBBarStore, DuckDBDatabase
from emp.app.data_commands import data_app_ext, ingest_app
from emp.app.ingest import read_raw_file
from emp.ports.bar_source import MalformedBarFile
from tests.integration.ingest_frames import bad_frame, good_frame

runner = CliRunner()


def invoke(app, *args: str):
    result = runner.invoke(app, list(args), catch_exceptions=True)
    return result


def ingest_json(kind: str, path: Path, db: Path, *extra: str) -> dict:
    result = invoke(ingest_app, kind, str(path), "--db", str(db), "--json", *extra)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.stdout.strip().splitlines()[-1])


class TestIngestReport:
    def test_good_rows_land_and_bad_rows_are_quarantined_with_their_reasons(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "bars.csv"
        bad_frame().to_csv(path, index=False)
        db = tmp_path / "emp.duckdb"
        report = ingest_json("csv", path, db, "--calendar", "NYSE")
        assert (report["rows_in"], report["good"], report["quarantined"]) == (14, 9, 5)
        [aaa] = report["symbols"]
        assert aaa["by_reason"] == {
            "close_outside_range": 1,
            "duplicate": 1,
            "high_below_low": 1,
            "missing_value": 1,
            "open_outside_range": 1,
            "out_of_order": 1,
            "zero_volume": 1,
        }
        assert report["source"] == f"csv:{path.resolve()}"
        with DuckDBDatabase(db) as database:
            stored = DuckDBBarStore(database).read_bars(["AAA"])["AAA"]
        assert len(stored) == 9

    def test_reingesting_the_same_file_changes_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "bars.csv"
        bad_frame().to_csv(path, index=False)
        db = tmp_path / "emp.duckdb"
        ingest_json("csv", path, db, "--calendar", "NYSE")
        ingest_json("csv", path, db, "--calendar", "NYSE")
        listing = invoke(data_app_ext, "ls", "--db", str(db), "--json")
        [row] = json.loads(listing.stdout)
        assert (row["rows"], row["quarantined"]) == (9, 5)

    def test_a_parquet_file_is_ingested_like_a_csv_file(self, tmp_path: Path) -> None:
        path = tmp_path / "bars.parquet"
        frame = bad_frame()
        frame["timestamp"] = pd.to_datetime(frame["timestamp"]).dt.tz_localize("UTC")
        frame.to_parquet(path)
        report = ingest_json("parquet", path, tmp_path / "emp.duckdb", "--calendar", "NYSE")
        assert (report["good"], report["quarantined"]) == (9, 5)

    def test_without_a_calendar_zero_volume_is_not_judged(self, tmp_path: Path) -> None:
        path = tmp_path / "bars.csv"
        bad_frame().to_csv(path, index=False)
        report = ingest_json("csv", path, tmp_path / "emp.duckdb")
        assert "zero_volume" not in report["symbols"][0]["by_reason"]
        assert report["quarantined"] == 4

    def test_the_table_report_names_counts_and_points_to_the_quarantine(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "bars.csv"
        bad_frame().to_csv(path, index=False)
        result = invoke(ingest_app, "csv", str(path), "--db", str(tmp_path / "e.duckdb"))
        assert result.exit_code == 0, result.output
        assert "10 good rows stored, 4 rows quarantined" in result.stdout
        assert "emp data quarantine" in result.stdout

    def test_a_file_missing_a_column_is_refused_whole(self, tmp_path: Path) -> None:
        path = tmp_path / "bars.csv"
        good_frame().drop(columns=["volume"]).to_csv(path, index=False)
        result = invoke(ingest_app, "csv", str(path), "--db", str(tmp_path / "e.duckdb"))
        assert isinstance(result.exception, MalformedBarFile)
        assert "volume" in str(result.exception)


class TestRawFileReading:
    def test_corporate_action_columns_are_read_when_present(self, tmp_path: Path) -> None:
        frame = good_frame(4)
        frame["Stock Splits"] = [0.0, 0.0, 2.0, 0.0]
        frame["Dividends"] = [0.0, 0.5, 0.0, ""]
        path = tmp_path / "aaa.csv"
        frame.to_csv(path, index=False)
        source, raw = read_raw_file(path)
        assert source == f"csv:{path.resolve()}"
        assert raw["AAA"].split_ratio.tolist() == [1.0, 1.0, 2.0, 1.0]
        assert raw["AAA"].dividend.tolist() == [0.0, 0.5, 0.0, 0.0]

    def test_rows_keep_their_file_order_per_symbol(self, tmp_path: Path) -> None:
        frame = pd.concat([good_frame(3, "BBB"), good_frame(2, "AAA")]).iloc[::-1]
        path = tmp_path / "mixed.parquet"
        frame.to_parquet(path)
        _, raw = read_raw_file(path)
        assert list(raw) == ["AAA", "BBB"]
        assert np.all(np.diff(raw["BBB"].ts_ns) < 0)  # reversed in the file, kept reversed


class TestDataCommands:
    @pytest.fixture
    def db(self, tmp_path: Path) -> Path:
        path = tmp_path / "bars.csv"
        frame = bad_frame()
        frame = frame[frame.index != 8]  # a missing session: 2024-01-12
        frame.to_csv(path, index=False)
        db = tmp_path / "emp.duckdb"
        ingest_json("csv", path, db, "--calendar", "NYSE")
        return db

    def test_ls_shows_coverage_gaps_and_quarantine_counts(self, db: Path) -> None:
        result = invoke(data_app_ext, "ls", "--db", str(db), "--json")
        [row] = json.loads(result.stdout)
        assert row["symbol"] == "AAA"
        assert row["first"] == "2024-01-02T00:00:00Z"
        assert "2024-01-12" in row["gaps"]  # removed from the file
        assert "2024-01-04" in row["gaps"]  # its only row was quarantined (NaN close)
        assert "2024-01-15" not in row["gaps"]  # a holiday is not a gap
        assert row["quarantined"] == 5

    def test_ls_prints_a_table(self, db: Path) -> None:
        result = invoke(data_app_ext, "ls", "--db", str(db))
        assert result.exit_code == 0, result.output
        assert "AAA" in result.stdout and "2024-01-04" in result.stdout

    def test_quarantine_lists_rows_with_reasons_in_words(self, db: Path) -> None:
        result = invoke(data_app_ext, "quarantine", "AAA", "--db", str(db), "--json")
        rows = json.loads(result.stdout)
        assert len(rows) == 5
        assert any("high is below low" in row["detail"] for row in rows)
        table = invoke(data_app_ext, "quarantine", "--db", str(db))
        assert "missing_value" in table.stdout

    def test_export_and_import_round_trip_the_bars_table(self, db: Path, tmp_path: Path) -> None:
        target = tmp_path / "bars.parquet"
        result = invoke(data_app_ext, "export", "bars", str(target), "--db", str(db))
        assert result.exit_code == 0, result.output
        assert "exported 8 rows" in result.stdout
        fresh = tmp_path / "fresh.duckdb"
        result = invoke(data_app_ext, "import", "bars", str(target), "--db", str(fresh))
        assert "imported 8 rows" in result.stdout
        with DuckDBDatabase(db) as a, DuckDBDatabase(fresh) as b:
            np.testing.assert_array_equal(
                DuckDBBarStore(a).read_bars(["AAA"])["AAA"].close,
                DuckDBBarStore(b).read_bars(["AAA"])["AAA"].close,
            )

    def test_importing_the_same_rows_twice_is_refused_whole(self, db: Path, tmp_path: Path) -> None:
        target = tmp_path / "q.parquet"
        invoke(data_app_ext, "export", "quarantine", str(target), "--db", str(db))
        result = invoke(data_app_ext, "import", "quarantine", str(target), "--db", str(db))
        assert result.exception is not None
        assert "importing" in str(result.exception)

    def test_status_names_the_store_and_its_schema_version(self, db: Path) -> None:
        status = json.loads(invoke(data_app_ext, "status", "--db", str(db)).stdout)
        assert status["store"] == "duckdb"
        assert status["path"] == str(db)
        assert status["schema_version"] == 2

    def test_export_to_a_missing_directory_is_a_clear_error(self, db: Path, tmp_path: Path) -> None:
        result = invoke(
            data_app_ext, "export", "bars", str(tmp_path / "no" / "x.parquet"), "--db", str(db)
        )
        assert "does not exist" in str(result.exception)
