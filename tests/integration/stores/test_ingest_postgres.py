"""`emp ingest csv` and `emp data ls` against a real Postgres (--pg-dsn)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from emp.app.data_commands import data_app_ext, ingest_app
from tests.integration.ingest_frames import bad_frame
from tests.integration.stores.services import PostgresServer

runner = CliRunner()


class TestIngestIntoPostgres:
    def test_the_same_file_gives_the_same_report_and_listing_as_on_duckdb(
        self, tmp_path: Path, postgres: PostgresServer, pg_schema: str
    ) -> None:
        path = tmp_path / "bars.csv"
        bad_frame().to_csv(path, index=False)
        target = ["--pg-dsn", postgres.dsn, "--pg-schema", pg_schema]
        reports = []
        for store in (target, ["--db", str(tmp_path / "emp.duckdb")]):
            result = runner.invoke(
                ingest_app, ["csv", str(path), "--calendar", "NYSE", "--json", *store]
            )
            assert result.exit_code == 0, result.output + repr(result.exception)
            reports.append(json.loads(result.stdout.splitlines()[-1]))
        assert reports[0] == reports[1]
        assert (reports[0]["good"], reports[0]["quarantined"]) == (9, 5)
        listings = [
            json.loads(runner.invoke(data_app_ext, ["ls", "--json", *store]).stdout)
            for store in (target, ["--db", str(tmp_path / "emp.duckdb")])
        ]
        assert listings[0] == listings[1]
        assert listings[0][0]["quarantined"] == 5

    def test_a_dead_postgres_is_a_one_line_error_with_the_password_hidden(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "bars.csv"
        bad_frame().to_csv(path, index=False)
        dsn = "postgresql://emp:topsecret@127.0.0.1:9/emp"
        result = runner.invoke(ingest_app, ["csv", str(path), "--pg-dsn", dsn])
        assert result.exception is not None
        assert "postgresql://emp:***@127.0.0.1:9/emp" in str(result.exception)
        assert "topsecret" not in str(result.exception)

    def test_status_says_how_bars_are_partitioned(
        self, postgres: PostgresServer, pg_schema: str
    ) -> None:
        result = runner.invoke(
            data_app_ext, ["status", "--pg-dsn", postgres.dsn, "--pg-schema", pg_schema]
        )
        status = json.loads(result.stdout)
        assert (status["store"], status["partitioning"]) == ("postgres", "native")
        assert "PARTITION BY RANGE (ts_ns)" in status["partitioning_detail"]
