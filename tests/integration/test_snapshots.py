"""`emp snapshot create|verify|restore` on real DuckDB files and Parquet snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emp.adapters.duckdb_store import (
    DuckDBBarStore,
    DuckDBDatabase,
    DuckDBQuarantineStore,
)
from emp.app.data_commands import ingest_app
from emp.app.errors import ConfigError
from emp.app.snapshot_commands import SnapshotMismatch, snapshot_app
from emp.domain.bars import BarSeries, bars_data_hash
from tests.integration.demo_runs import demo_report
from tests.integration.ingest_frames import bad_frame, good_frame

runner = CliRunner()


def run(app, *args: str) -> str:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    pd.concat([bad_frame(), good_frame(symbol="BBB")]).to_csv(path, index=False)
    db = tmp_path / "emp.duckdb"
    run(ingest_app, "csv", str(path), "--db", str(db), "--calendar", "NYSE", "--json")
    return db


def stored_bars(db: Path, symbols: list[str]):
    with DuckDBDatabase(db) as database:
        return DuckDBBarStore(database).read_bars(symbols)


class TestSnapshots:
    def test_a_snapshot_records_the_content_hash_a_run_would_record(
        self, db: Path, tmp_path: Path
    ) -> None:
        run(snapshot_app, "create", str(tmp_path / "snap"), "--db", str(db))
        manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
        assert manifest["symbols"] == {"AAA": 9, "BBB": 12}
        assert manifest["content_hash"] == bars_data_hash(stored_bars(db, ["AAA", "BBB"]))

    def test_restoring_gives_the_same_bars_and_quarantine(self, db: Path, tmp_path: Path) -> None:
        run(snapshot_app, "create", str(tmp_path / "snap"), "--db", str(db), "--symbol", "AAA")
        restored = tmp_path / "restored.duckdb"
        out = run(snapshot_app, "restore", str(tmp_path / "snap"), "--db", str(restored))
        assert "content hash" in out
        original, copy = stored_bars(db, ["AAA"]), stored_bars(restored, ["AAA"])
        np.testing.assert_array_equal(original["AAA"].close, copy["AAA"].close)
        np.testing.assert_array_equal(original["AAA"].ts_ns, copy["AAA"].ts_ns)
        with DuckDBDatabase(restored) as database:
            store = DuckDBQuarantineStore(database)
            assert store.quarantine_counts() == {"AAA": 5}
            assert DuckDBBarStore(database).coverage()[0].symbol == "AAA"  # BBB left out

    def test_verify_catches_a_changed_file(self, db: Path, tmp_path: Path) -> None:
        snap = tmp_path / "snap"
        run(snapshot_app, "create", str(snap), "--db", str(db))
        assert "is intact" in run(snapshot_app, "verify", str(snap))
        frame = pd.read_parquet(snap / "bars.parquet")
        frame.loc[0, "close"] = frame.loc[0, "close"] + 0.01
        frame.to_parquet(snap / "bars.parquet")
        with pytest.raises(SnapshotMismatch, match="bars.parquet: sha256 expected"):
            run(snapshot_app, "verify", str(snap))

    def test_verify_catches_content_that_does_not_match_the_manifest(
        self, db: Path, tmp_path: Path
    ) -> None:
        snap = tmp_path / "snap"
        run(snapshot_app, "create", str(snap), "--db", str(db))
        manifest = json.loads((snap / "manifest.json").read_text())
        manifest["content_hash"] = "0" * 64
        (snap / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(SnapshotMismatch, match="content hash"):
            run(snapshot_app, "verify", str(snap))

    def test_a_snapshot_never_overwrites_a_folder_or_a_database(
        self, db: Path, tmp_path: Path
    ) -> None:
        snap = tmp_path / "snap"
        run(snapshot_app, "create", str(snap), "--db", str(db))
        with pytest.raises(ConfigError, match="not empty"):
            run(snapshot_app, "create", str(snap), "--db", str(db))
        with pytest.raises(ConfigError, match="exists"):
            run(snapshot_app, "restore", str(snap), "--db", str(db))


def _demo_from_store(db: Path, reports: Path) -> Path:
    args = ("--from-store", "--symbols", "BBB", "--db", str(db), "--param", "slow=4")
    return demo_report(*args, reports=reports)


class TestBacktestFromSnapshot:
    def test_a_run_on_a_restored_snapshot_writes_a_bit_identical_report(
        self, db: Path, tmp_path: Path
    ) -> None:
        snap = tmp_path / "snap"
        run(snapshot_app, "create", str(snap), "--db", str(db), "--symbol", "BBB")
        restored = tmp_path / "restored.duckdb"
        run(snapshot_app, "restore", str(snap), "--db", str(restored))
        original = _demo_from_store(db, tmp_path / "original")
        replayed = _demo_from_store(restored, tmp_path / "restored")
        assert json.loads(original.read_text())["summary"]["fills"] > 0
        assert original.read_bytes() == replayed.read_bytes()

    def test_one_changed_bar_changes_the_report(self, db: Path, tmp_path: Path) -> None:
        original = _demo_from_store(db, tmp_path / "original")
        with DuckDBDatabase(db) as database:
            store = DuckDBBarStore(database)
            bars = store.read_bars(["BBB"])["BBB"]
            close = bars.close.copy()
            close[-1] = (bars.high[-1] + bars.low[-1]) / 2 + 1e-6  # still inside [low, high]
            changed = BarSeries.from_arrays(
                "BBB", bars.ts_ns, bars.open, bars.high, bars.low, close, bars.volume
            )
            store.write_bars({"BBB": changed}, source="test: one close moved")
        rerun = _demo_from_store(db, tmp_path / "rerun")
        assert original.read_bytes() != rerun.read_bytes()
