"""`emp snapshot create|verify|restore` on a real Postgres: pg_dump of the schema + hashes.

A throwaway cluster is started for this module (initdb/pg_ctl, as the `postgres` user
when root); each test gets its own schema, filled through the SQL store adapters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from emp.adapters.sql_store import (
    SqlBarStore,
    SqlDatabase,
    SqlFeatureStore,
    SqlQuarantineStore,
    SqlRunStore,
)
from emp.adapters.sql_store.schema_dump import frozen
from emp.app.errors import ConfigError
from emp.app.replay_commands import replay
from emp.app.snapshot_commands import SnapshotMismatch, snapshot_app
from emp.domain.bars import BAR_COLUMNS, bars_data_hash
from emp.ports.feature_store import FeatureSeries
from emp.ports.store_errors import StoreError, StoreUnavailable
from tests.integration.demo_runs import demo_report
from tests.integration.stores.builders import (
    DAY_NS,
    T0,
    make_orders_and_fills,
    make_quarantined,
    make_record,
    make_series,
)
from tests.integration.stores.services import PostgresServer, postgres_server

pytestmark = pytest.mark.services

runner = CliRunner()
replay_app = typer.Typer()


@replay_app.callback()
def _root() -> None:
    """A stand-in for `emp data`."""


replay_app.command("replay")(replay)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def sql(dsn: str, statement: str, **params: object) -> list[tuple]:
    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def schemas(dsn: str) -> set[str]:
    return {row[0] for row in sql(dsn, "SELECT nspname FROM pg_namespace")}


def new_schema() -> str:
    return f"s_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def schema(postgres: PostgresServer) -> Iterator[str]:
    """A schema with bars over two years, quarantine, features and a completed run."""
    name = new_schema()
    with SqlDatabase(postgres.dsn, schema=name) as database:
        SqlBarStore(database).write_bars(
            {
                "AAA": make_series("AAA", 40, start_ns=T0 + 340 * DAY_NS),
                "BBB": make_series("BBB", 30, base=20.0),
            },
            "synthetic:test",
        )
        SqlQuarantineStore(database).write_quarantine(make_quarantined(), "csv:bad.csv")
        SqlFeatureStore(database).write_features(
            [FeatureSeries.from_arrays("mom", "AAA", [T0, T0 + 1], [np.nan, 0.25])], "research"
        )
        runs = SqlRunStore(database)
        runs.start_run(make_record())
        orders, fills = make_orders_and_fills()
        runs.complete_run("run-1", orders, fills, {"sharpe": 1.5}, 2_000)
    yield name
    for leftover in schemas(postgres.dsn):
        if leftover.startswith((name, "restored_", "emp_verify_", "emp_parked_")):
            sql(postgres.dsn, f'DROP SCHEMA IF EXISTS "{leftover}" CASCADE')


def run(app: typer.Typer, *args: str) -> str:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def create(dsn: str, schema: str, folder: Path) -> dict:
    out = run(snapshot_app, "create", str(folder), "--pg-dsn", dsn, "--pg-schema", schema, "--json")
    return json.loads(out.strip().splitlines()[-1])


def stored_bars(dsn: str, schema: str) -> dict:
    with SqlDatabase(dsn, schema=schema) as database:
        store = SqlBarStore(database)
        return store.read_bars([c.symbol for c in store.coverage()])


class TestCreate:
    def test_a_snapshot_is_a_schema_dump_with_the_content_hash_a_run_would_record(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        manifest = create(postgres.dsn, schema, tmp_path / "snap")
        assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == [
            "manifest.json",
            "schema.sql",
        ]
        assert json.loads((tmp_path / "snap" / "manifest.json").read_text()) == manifest
        assert manifest["store"] == "postgres" and manifest["schema"] == schema
        assert manifest["content_hash"] == bars_data_hash(stored_bars(postgres.dsn, schema))
        assert manifest["symbols"] == {"AAA": 40, "BBB": 30}
        assert manifest["tables"] == {
            "bars": 70,
            "features": 2,
            "quarantine": 3,
            "runs": 1,
            "orders": 3,
            "fills": 3,
        }
        assert manifest["partitioning"] == "native"
        assert manifest["pg_dump_version"].startswith("pg_dump (PostgreSQL)")
        dump = (tmp_path / "snap" / "schema.sql").read_text()
        assert f"CREATE SCHEMA {schema};" in dump and f"{schema}.bars_y2021" in dump

    def test_the_password_goes_to_pg_dump_outside_its_command_line_and_never_in_a_message(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        dsn = postgres.dsn_with_password("s3cr3t-pw")  # trust auth ignores it
        manifest = create(dsn, schema, tmp_path / "snap")
        assert "s3cr3t-pw" not in json.dumps(manifest)
        assert "***" in manifest["source"]

    def test_a_dead_server_is_named_with_its_password_redacted(self, tmp_path: Path) -> None:
        dsn = "postgresql://emp:hunter2@127.0.0.1:1/emp"
        with pytest.raises(StoreUnavailable, match=r"emp:\*\*\*@127\.0\.0\.1:1") as info:
            create(dsn, "emp", tmp_path / "snap")
        assert "hunter2" not in str(info.value)
        assert not (tmp_path / "snap").exists()

    def test_a_missing_schema_is_refused_and_not_created(
        self, postgres: PostgresServer, tmp_path: Path
    ) -> None:
        with pytest.raises(ConfigError, match="does not exist"):
            create(postgres.dsn, "no_such_schema", tmp_path / "snap")
        assert "no_such_schema" not in schemas(postgres.dsn)

    def test_symbols_cannot_be_chosen_for_a_schema_dump(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        with pytest.raises(ConfigError, match="--symbol works on DuckDB snapshots only"):
            run(
                snapshot_app,
                "create",
                str(tmp_path / "s"),
                "--pg-dsn",
                postgres.dsn,
                "--pg-schema",
                schema,
                "--symbol",
                "AAA",
            )

    def test_timescale_hypertables_are_refused_in_words(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        sql(postgres.dsn, f"UPDATE {schema}.emp_meta SET value = 'timescaledb'")
        with pytest.raises(ConfigError, match="TimescaleDB hypertables"):
            create(postgres.dsn, schema, tmp_path / "snap")
        assert not (tmp_path / "snap").exists()

    def test_missing_client_tools_are_named_with_what_to_install(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        with pytest.raises(StoreUnavailable, match="apt-get install -y postgresql-client-15"):
            run(
                snapshot_app,
                "create",
                str(tmp_path / "s"),
                "--pg-dsn",
                postgres.dsn,
                "--pg-schema",
                schema,
                "--pg-bin",
                str(tmp_path),
            )

    def test_the_configured_postgres_store_is_used_without_options(
        self, postgres: PostgresServer, schema: str, tmp_path: Path, monkeypatch
    ) -> None:
        monkeypatch.setenv("EMP_STORE", "postgres")
        monkeypatch.setenv("EMP_PG_DSN", postgres.dsn)
        monkeypatch.setenv("EMP_PG_SCHEMA", schema)
        run(snapshot_app, "create", str(tmp_path / "snap"))
        manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
        assert (manifest["store"], manifest["schema"]) == ("postgres", schema)


class TestFreezing:
    def test_writers_wait_while_a_snapshot_holds_the_tables(
        self, postgres: PostgresServer, schema: str
    ) -> None:
        done = threading.Event()

        def write() -> None:
            with SqlDatabase(postgres.dsn, schema=schema) as database:
                SqlBarStore(database).write_bars({"CCC": make_series("CCC", 3)}, "late")
            done.set()

        with SqlDatabase(postgres.dsn, schema=schema) as database:
            with frozen(database):
                writer = threading.Thread(target=write)
                writer.start()
                time.sleep(0.5)
                assert not done.is_set(), "a write went through a frozen schema"
                assert SqlBarStore(database).coverage()[0].symbol == "AAA"  # reads go on
            writer.join(timeout=30)
        assert done.is_set()


class TestRestore:
    def test_a_restore_next_to_the_original_gives_the_same_data(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        manifest = create(postgres.dsn, schema, tmp_path / "snap")
        target = f"restored_{schema}"
        out = run(
            snapshot_app,
            "restore",
            str(tmp_path / "snap"),
            "--pg-dsn",
            postgres.dsn,
            "--pg-schema",
            target,
        )
        assert f"into schema {target}" in out and manifest["content_hash"] in out
        assert bars_data_hash(stored_bars(postgres.dsn, target)) == manifest["content_hash"]
        with SqlDatabase(postgres.dsn, schema=target) as database:
            features = SqlFeatureStore(database).read_features("mom", ["AAA"])["AAA"]
            assert np.isnan(features.values[0]) and features.values[1] == 0.25
            assert SqlQuarantineStore(database).quarantine_counts() == {"AAA": 3}
            run_record = SqlRunStore(database).get_run("run-1")
            assert run_record is not None and run_record.status == "completed"
            assert len(SqlRunStore(database).fills("run-1")) == 3
            assert database.status()["partitioning"] == "native"
        # the original is where it was, untouched, and nothing was left parked
        assert bars_data_hash(stored_bars(postgres.dsn, schema)) == manifest["content_hash"]
        assert not any(s.startswith("emp_parked_") for s in schemas(postgres.dsn))

    def test_a_restore_into_another_database_keeps_the_schema_name(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        manifest = create(postgres.dsn, schema, tmp_path / "snap")
        database = f"db_{uuid.uuid4().hex[:8]}"
        admin = create_engine(
            postgres.dsn.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        try:
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {database}"))
            other = postgres.dsn.rsplit("/", 1)[0] + f"/{database}"
            run(snapshot_app, "restore", str(tmp_path / "snap"), "--pg-dsn", other)
            assert bars_data_hash(stored_bars(other, schema)) == manifest["content_hash"]
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            admin.dispose()

    def test_new_writes_to_a_restored_schema_create_their_partitions(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        create(postgres.dsn, schema, tmp_path / "snap")
        target = f"restored_{schema}"
        run(
            snapshot_app,
            "restore",
            str(tmp_path / "snap"),
            "--pg-dsn",
            postgres.dsn,
            "--pg-schema",
            target,
        )
        with SqlDatabase(postgres.dsn, schema=target) as database:
            store = SqlBarStore(database)
            store.write_bars({"NEW": make_series("NEW", 3, start_ns=T0 + 3000 * DAY_NS)}, "new")
            assert len(store.read_bars(["NEW"])["NEW"]) == 3

    def test_restoring_over_an_existing_schema_is_refused(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        create(postgres.dsn, schema, tmp_path / "snap")
        with pytest.raises(StoreError, match=f"schema {schema}.*it exists"):
            run(snapshot_app, "restore", str(tmp_path / "snap"), "--pg-dsn", postgres.dsn)

    def test_a_restore_whose_content_does_not_match_is_dropped_again(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        snap = tmp_path / "snap"
        create(postgres.dsn, schema, snap)
        manifest = json.loads((snap / "manifest.json").read_text())
        manifest["content_hash"] = "0" * 64
        (snap / "manifest.json").write_text(json.dumps(manifest))
        target = f"restored_{schema}"
        with pytest.raises(SnapshotMismatch, match="content hash"):
            run(snapshot_app, "restore", str(snap), "--pg-dsn", postgres.dsn, "--pg-schema", target)
        assert target not in schemas(postgres.dsn)

    def test_a_postgres_snapshot_needs_a_server_to_restore_on(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        create(postgres.dsn, schema, tmp_path / "snap")
        with pytest.raises(ConfigError, match="restore it with --pg-dsn"):
            run(snapshot_app, "restore", str(tmp_path / "snap"), "--db", str(tmp_path / "x.db"))


class TestVerify:
    def test_an_intact_snapshot_verifies_and_leaves_no_scratch_schema(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        create(postgres.dsn, schema, tmp_path / "snap")
        out = run(snapshot_app, "verify", str(tmp_path / "snap"), "--pg-dsn", postgres.dsn)
        assert "is intact" in out
        assert not any(s.startswith("emp_verify_") for s in schemas(postgres.dsn))

    def test_a_changed_dump_is_caught_by_its_sha256(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        snap = tmp_path / "snap"
        create(postgres.dsn, schema, snap)
        (snap / "schema.sql").write_text((snap / "schema.sql").read_text() + "\n-- edited\n")
        with pytest.raises(SnapshotMismatch, match="schema.sql: sha256 expected"):
            run(snapshot_app, "verify", str(snap), "--pg-dsn", postgres.dsn)

    def test_changed_rows_with_a_matching_sha256_are_caught_by_the_content_hash(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        from emp.app.snapshot_commands import file_sha256

        snap = tmp_path / "snap"
        manifest = create(postgres.dsn, schema, snap)
        dump = (snap / "schema.sql").read_text()
        # BBB's first close is 20.0 (high 21.0): make it 21, still a valid bar
        line = next(x for x in dump.splitlines() if x.startswith("BBB\t"))
        fields = line.split("\t")
        fields[5] = "21"
        (snap / "schema.sql").write_text(dump.replace(line, "\t".join(fields), 1))
        manifest["files"]["schema.sql"] = file_sha256(snap / "schema.sql")
        (snap / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(SnapshotMismatch, match="content hash"):
            run(snapshot_app, "verify", str(snap), "--pg-dsn", postgres.dsn)
        assert not any(s.startswith("emp_verify_") for s in schemas(postgres.dsn))

    def test_verifying_a_postgres_snapshot_without_a_server_says_what_to_give(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        create(postgres.dsn, schema, tmp_path / "snap")
        with pytest.raises(ConfigError, match="give a server with --pg-dsn"):
            run(snapshot_app, "verify", str(tmp_path / "snap"))


class TestRunsFromASnapshot:
    def test_a_replay_on_the_restored_schema_gives_the_same_run(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        create(postgres.dsn, schema, tmp_path / "snap")
        target = f"restored_{schema}"
        run(
            snapshot_app,
            "restore",
            str(tmp_path / "snap"),
            "--pg-dsn",
            postgres.dsn,
            "--pg-schema",
            target,
        )
        summaries = []
        for name in (schema, target):
            out = run(
                replay_app,
                "replay",
                "--pg-dsn",
                postgres.dsn,
                "--pg-schema",
                name,
                "--json",
                "--no-progress",
                "--param",
                "fast=2",
                "--param",
                "slow=4",
            )
            summaries.append(json.loads(out.strip().splitlines()[-1]))
        original, restored = summaries
        assert original["orders"] > 0
        for key in ("bars", "timestamps", "orders", "fills", "final_equity", "first", "last"):
            assert original[key] == restored[key], key


class TestInstalledCommand:
    def test_create_verify_restore_through_the_emp_command(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        emp = Path(sys.executable).parent / "emp"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
        env.update(EMP_STORE="postgres", EMP_PG_DSN=postgres.dsn, EMP_PG_SCHEMA=schema)
        snap = str(tmp_path / "snap")
        target = f"restored_{schema}"
        for args in (
            ("create", snap),
            ("verify", snap),
            ("restore", snap, "--pg-schema", target),
        ):
            result = subprocess.run(
                [str(emp), "snapshot", *args], env=env, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, result.stderr
        assert "content hash" in result.stdout
        again = subprocess.run(
            [str(emp), "snapshot", "restore", snap, "--pg-schema", target],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 1
        assert again.stderr.strip().splitlines()[-1].startswith("error: StoreError: cannot restore")

    def test_a_demo_on_bars_restored_from_a_snapshot_writes_a_bit_identical_report(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        create(postgres.dsn, schema, tmp_path / "snap")
        target = f"restored_{schema}"
        run(
            snapshot_app,
            "restore",
            str(tmp_path / "snap"),
            "--pg-dsn",
            postgres.dsn,
            "--pg-schema",
            target,
        )
        reports = []
        for label, name in (("original", schema), ("restored", target)):
            bars = stored_bars(postgres.dsn, name)["AAA"]
            exported = tmp_path / "bars.parquet"  # one path for both: the report names it
            pd.DataFrame(
                {
                    "timestamp": pd.to_datetime(bars.ts_ns, utc=True),
                    "symbol": "AAA",
                    **{column: getattr(bars, column) for column in BAR_COLUMNS},
                }
            ).to_parquet(exported)
            report = demo_report(
                "--data", str(exported), "--db", str(tmp_path / f"{label}-run.duckdb"),
                "--param", "slow=4", reports=tmp_path / f"{label}-reports",
            )  # fmt: skip
            reports.append(report.read_bytes())
        assert json.loads(reports[0])["summary"]["orders"] > 0
        assert reports[0] == reports[1]


def demo_from_store(dsn: str, schema: str, reports: Path) -> Path:
    """`emp demo --from-store` on a Postgres schema with the run clock pinned."""
    env = {"EMP_STORE": "postgres", "EMP_PG_DSN": dsn, "EMP_PG_SCHEMA": schema}
    args = ("--from-store", "--symbols", "AAA", "--param", "slow=5")
    return demo_report(*args, reports=reports, env=env)


class TestBacktestFromSnapshot:
    def test_a_run_on_a_restored_schema_writes_a_bit_identical_report(
        self, postgres: PostgresServer, schema: str, tmp_path: Path
    ) -> None:
        create(postgres.dsn, schema, tmp_path / "snap")
        target = f"restored_{schema}"
        restore = ["restore", str(tmp_path / "snap"), "--pg-dsn", postgres.dsn]
        run(snapshot_app, *restore, "--pg-schema", target)
        original = demo_from_store(postgres.dsn, schema, tmp_path / "original")
        restored = demo_from_store(postgres.dsn, target, tmp_path / "restored")
        assert json.loads(original.read_text())["summary"]["fills"] > 0
        assert postgres.dsn.split("@")[-1] not in original.read_text()
        assert original.read_bytes() == restored.read_bytes()
