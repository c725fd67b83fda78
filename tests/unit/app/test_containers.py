"""The composition root: adapters chosen by configuration, replaceable by override."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from emp.adapters.clocks import ManualClock
from emp.adapters.duckdb_store import DuckDBRunStore
from emp.adapters.fix_sim import MockFixVenue, SimulatedVenue
from emp.app.containers import build_container
from emp.app.settings import load_settings
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.ports.run_store import RunStorePort
from emp.ports.simulated_venue import SimulatedVenuePort
from tests.fakes.run_store import InMemoryRunStore

INSTRUMENTS = InstrumentRegistry([Instrument(symbol="AAA")])


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


@pytest.mark.parametrize(
    ("name", "kind"), [("sim_fix", MockFixVenue), ("sim_direct", SimulatedVenue)]
)
def test_the_venue_face_is_chosen_by_the_venue_setting(name, kind, tmp_path):
    container = build_container(load_settings(venue=name, db_path=tmp_path / "x.duckdb"))
    venue = container.venue(instruments=INSTRUMENTS, clock=ManualClock())
    assert type(venue) is kind
    assert isinstance(venue, SimulatedVenuePort)


def test_the_venue_setting_can_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EMP_VENUE", "sim_direct")
    container = build_container(load_settings(db_path=tmp_path / "x.duckdb"))
    assert type(container.venue(instruments=INSTRUMENTS, clock=ManualClock())) is SimulatedVenue


def test_building_a_container_touches_no_file(tmp_path):
    db = tmp_path / "nested" / "emp.duckdb"
    container = build_container(load_settings(db_path=db))
    assert not db.exists()
    store = container.run_store()
    assert isinstance(store, DuckDBRunStore) and isinstance(store, RunStorePort)
    assert store.list_runs() == []
    assert db.exists()
    container.database().close()


def test_a_test_replaces_an_adapter_by_override_not_monkeypatching(tmp_path):
    container = build_container(load_settings(db_path=tmp_path / "x.duckdb"))
    fake = InMemoryRunStore()
    with container.run_store.override(providers.Object(fake)):
        assert container.run_store() is fake
    assert isinstance(container.run_store(), DuckDBRunStore)
    container.database().close()


def test_commission_settings_reach_the_venue(tmp_path):
    container = build_container(load_settings(commission_bps=2.5, db_path=tmp_path / "x.duckdb"))
    assert container.venue_config().commission_bps == 2.5


def test_the_feature_store_follows_the_store_setting(tmp_path):
    from emp.adapters.duckdb_store import DuckDBFeatureStore
    from emp.ports.feature_store import FeatureStorePort

    container = build_container(load_settings(db_path=tmp_path / "x.duckdb"))
    store = container.feature_store()
    assert isinstance(store, DuckDBFeatureStore) and isinstance(store, FeatureStorePort)
    container.database().close()
