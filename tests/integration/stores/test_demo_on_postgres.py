"""The `emp demo` slice with `EMP_STORE=postgres`: same ports, a real Postgres, no code change."""

from __future__ import annotations

import os

import pytest

import emp_sma_cross.plugin as sma_cross_plugin
from emp.adapters.sql_store import SqlBarStore, SqlRunStore
from emp.app.containers import build_container, close_stores
from emp.app.demo import DemoRequest, run_demo
from emp.app.plugins import make_plugin_manager
from emp.app.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


def test_the_demo_runs_on_postgres_chosen_by_settings_alone(
    postgres, pg_schema, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the default DuckDB file would land in ./.emp
    monkeypatch.setenv("EMP_STORE", "postgres")
    monkeypatch.setenv("EMP_PG_DSN", postgres.dsn)
    monkeypatch.setenv("EMP_PG_SCHEMA", pg_schema)
    settings = load_settings(reports_dir=tmp_path / "reports", kill_file=tmp_path / "KILL")
    container = build_container(settings)
    assert isinstance(container.bar_store(), SqlBarStore)
    assert isinstance(container.run_store(), SqlRunStore)
    catalog = make_plugin_manager(load_entrypoints=False, extra_plugins=[sma_cross_plugin])
    try:
        outcome = run_demo(settings, container, catalog, DemoRequest(n_bars=200))
        stored = container.run_store().get_run(outcome.run_id)
        assert stored is not None and stored.status == "completed"
        assert len(container.run_store().fills(outcome.run_id)) == outcome.summary["fills"] > 0
        assert {c.symbol for c in container.bar_store().coverage()} == {"SYN_A", "SYN_B", "SYN_C"}
    finally:
        close_stores(container, settings)
    assert not (tmp_path / ".emp").exists(), "no DuckDB file was created"


def test_postgres_without_a_dsn_is_a_config_error(monkeypatch):
    from emp.app.errors import ConfigError

    monkeypatch.setenv("EMP_STORE", "postgres")
    with pytest.raises(ConfigError, match="EMP_PG_DSN"):
        load_settings()


def test_the_dsn_password_never_appears_in_a_settings_error(monkeypatch):
    from emp.app.errors import ConfigError

    monkeypatch.setenv("EMP_PG_DSN", "postgresql://u:hunter2@127.0.0.1/db")
    monkeypatch.setenv("EMP_SEED", "x")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)
