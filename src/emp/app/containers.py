"""The composition root: every adapter is chosen here, by configuration, and nowhere else.

Tests swap any adapter with ``container.<provider>.override(providers.Object(fake))``
instead of monkeypatching. Building a container does no I/O: providers create adapters
lazily, on first use.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from emp.adapters.clocks import ManualClock, SystemClock
from emp.adapters.duckdb_store import (
    DuckDBBarStore,
    DuckDBDatabase,
    DuckDBFeatureStore,
    DuckDBRunStore,
)
from emp.adapters.fix_sim import MockFixVenue, SimulatedVenue, SimulatedVenueConfig
from emp.adapters.kill_file import KillFile
from emp.adapters.local_executor import SerialExecutor
from emp.adapters.memory_metrics import InMemoryMetricsSink
from emp.adapters.report_files import ReportFilesWriter
from emp.app.errors import ConfigError
from emp.app.settings import EmpSettings
from emp.ports.bar_store import BarStorePort
from emp.ports.clock import ClockPort
from emp.ports.executor import EvaluationExecutorPort
from emp.ports.feature_store import FeatureStorePort
from emp.ports.kill_signal import KillSignalPort
from emp.ports.metrics_sink import MetricsSinkPort
from emp.ports.report_sink import ReportSinkPort
from emp.ports.run_store import RunStorePort
from emp.ports.state_store import StateStorePort


# The Postgres adapter needs the `pg` extra: import it only when a Postgres store is built.
def _sql_database(dsn: str | None, schema: str):
    from emp.adapters.sql_store import SqlDatabase

    if dsn is None:
        raise ConfigError("store=postgres needs EMP_PG_DSN")
    return SqlDatabase(dsn, schema=schema)


def _sql_bar_store(database):
    from emp.adapters.sql_store import SqlBarStore

    return SqlBarStore(database)


def _sql_feature_store(database):
    from emp.adapters.sql_store import SqlFeatureStore

    return SqlFeatureStore(database)


def _sql_run_store(database):
    from emp.adapters.sql_store import SqlRunStore

    return SqlRunStore(database)


# The Redis adapter needs the `redis` extra: import it only when hot state is configured.
def _redis_state(url: str | None, namespace: str):
    if url is None:
        return None
    from emp.adapters.redis_state import RedisStateStore

    return RedisStateStore(url, namespace=namespace)


class Container(containers.DeclarativeContainer):
    """Adapters by configuration. ``config`` is filled from :class:`EmpSettings`."""

    config = providers.Configuration(strict=True)

    #: Wall clock: run ids and report stamps. Simulations get a ``sim_clock`` each.
    clock: providers.Provider[ClockPort] = providers.Singleton(SystemClock)
    sim_clock = providers.Factory(ManualClock)

    database = providers.Singleton(DuckDBDatabase, path=config.database_path)
    #: Postgres (SQLAlchemy Core + psycopg 3); connects on first use.
    sql_database = providers.Singleton(
        _sql_database, dsn=config.pg_dsn_plain, schema=config.pg_schema
    )

    bar_store: providers.Provider[BarStorePort] = providers.Selector(
        config.store,
        duckdb=providers.Singleton(DuckDBBarStore, database=database),
        postgres=providers.Singleton(_sql_bar_store, database=sql_database),
    )
    run_store: providers.Provider[RunStorePort] = providers.Selector(
        config.store,
        duckdb=providers.Singleton(DuckDBRunStore, database=database),
        postgres=providers.Singleton(_sql_run_store, database=sql_database),
    )

    feature_store: providers.Provider[FeatureStorePort] = providers.Selector(
        config.store,
        duckdb=providers.Singleton(DuckDBFeatureStore, database=database),
        postgres=providers.Singleton(_sql_feature_store, database=sql_database),
    )

    #: Hot state (Redis) or None when EMP_REDIS_URL is unset; connects on first write.
    state_store: providers.Provider[StateStorePort | None] = providers.Singleton(
        _redis_state, url=config.redis_url_plain, namespace=config.state_namespace
    )

    venue_config = providers.Factory(
        SimulatedVenueConfig,
        commission_bps=config.commission_bps,
        slippage_bps=config.slippage_bps,
    )
    #: Call with ``instruments=`` and ``clock=``: a venue is per run.
    venue = providers.Selector(
        config.venue,
        sim_fix=providers.Factory(MockFixVenue, config=venue_config),
        sim_direct=providers.Factory(SimulatedVenue, config=venue_config),
    )

    report_sink: providers.Provider[ReportSinkPort] = providers.Singleton(
        ReportFilesWriter, reports_dir=config.reports_dir
    )
    metrics: providers.Provider[MetricsSinkPort] = providers.Singleton(InMemoryMetricsSink)
    #: `emp kill` writes it; running sessions poll it and halt.
    kill_signal: providers.Provider[KillSignalPort] = providers.Singleton(
        KillFile, path=config.kill_file_path
    )
    executor: providers.Provider[EvaluationExecutorPort] = providers.Singleton(SerialExecutor)


def build_container(settings: EmpSettings) -> Container:
    """A container configured from ``settings`` (no adapter is created yet)."""
    container = Container()
    values = settings.model_dump()
    values["database_path"] = settings.database_path
    values["kill_file_path"] = settings.kill_file_path
    values["pg_dsn_plain"] = (
        settings.pg_dsn.get_secret_value() if settings.pg_dsn is not None else None
    )
    values.pop("pg_dsn", None)
    values["redis_url_plain"] = (
        settings.redis_url.get_secret_value() if settings.redis_url is not None else None
    )
    values.pop("redis_url", None)
    container.config.from_dict(values)
    if settings.clock_ns is not None:
        container.clock.override(providers.Object(ManualClock(settings.clock_ns)))
    return container


def close_stores(container: Container, settings: EmpSettings) -> None:
    """Close the database the settings selected (and only that one: no connection is
    opened just to close it)."""
    if settings.store == "postgres":
        container.sql_database().close()
    else:
        container.database().close()
    if settings.redis_url is not None:
        state = container.state_store()
        if state is not None:
            state.close()
