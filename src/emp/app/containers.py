"""The composition root: every adapter is chosen here, by configuration, and nowhere else.

Tests swap any adapter with ``container.<provider>.override(providers.Object(fake))``
instead of monkeypatching. Building a container does no I/O: providers create adapters
lazily, on first use.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from emp.adapters.clocks import ManualClock, SystemClock
from emp.adapters.duckdb_store import DuckDBBarStore, DuckDBDatabase, DuckDBRunStore
from emp.adapters.fix_sim import MockFixVenue, SimulatedVenue, SimulatedVenueConfig
from emp.adapters.kill_file import KillFile
from emp.adapters.local_executor import SerialExecutor
from emp.adapters.memory_metrics import InMemoryMetricsSink
from emp.adapters.report_files import ReportFilesWriter
from emp.app.settings import EmpSettings
from emp.ports.bar_store import BarStorePort
from emp.ports.clock import ClockPort
from emp.ports.executor import EvaluationExecutorPort
from emp.ports.kill_signal import KillSignalPort
from emp.ports.metrics_sink import MetricsSinkPort
from emp.ports.report_sink import ReportSinkPort
from emp.ports.run_store import RunStorePort


class Container(containers.DeclarativeContainer):
    """Adapters by configuration. ``config`` is filled from :class:`EmpSettings`."""

    config = providers.Configuration(strict=True)

    #: Wall clock: run ids and report stamps. Simulations get a ``sim_clock`` each.
    clock: providers.Provider[ClockPort] = providers.Singleton(SystemClock)
    sim_clock = providers.Factory(ManualClock)

    database = providers.Singleton(DuckDBDatabase, path=config.database_path)

    bar_store: providers.Provider[BarStorePort] = providers.Selector(
        config.store,
        duckdb=providers.Singleton(DuckDBBarStore, database=database),
    )
    run_store: providers.Provider[RunStorePort] = providers.Selector(
        config.store,
        duckdb=providers.Singleton(DuckDBRunStore, database=database),
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
    container.config.from_dict(values)
    return container
