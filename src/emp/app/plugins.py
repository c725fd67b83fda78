"""The plugin manager: loads ``emp.plugins`` entry points and builds the catalogs.

Nothing happens at import time; :func:`make_plugin_manager` does the loading when called.
Autoloading can be switched off with ``EMP_DISABLE_PLUGIN_AUTOLOAD=1`` (or the
``disable_plugin_autoload`` setting), e.g. to debug a broken plugin.
"""

from __future__ import annotations

import importlib.metadata as importlib_metadata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy

from emp.app import builtin_plugin
from emp.app.errors import DuplicateStrategy, PluginLoadError, UnknownStrategy
from emp.app.hookspecs import PROJECT_NAME, EmpHookSpecs
from emp.domain.features.spec import FeatureSpec
from emp.domain.risk.rule import RiskRule
from emp.domain.strategy import StrategySpec

ENTRY_POINT_GROUP = "emp.plugins"


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One plugin as the user sees it in ``emp plugins list``."""

    name: str
    module: str
    distribution: str
    version: str
    loaded: bool
    error: str | None = None


class PluginCatalog:
    """A plugin manager plus the load report, with typed accessors for the hooks."""

    def __init__(self, manager: pluggy.PluginManager, infos: Iterable[PluginInfo]) -> None:
        self.manager = manager
        self.infos: tuple[PluginInfo, ...] = tuple(infos)
        self._strategies: dict[str, StrategySpec] | None = None

    @property
    def failures(self) -> tuple[PluginInfo, ...]:
        return tuple(info for info in self.infos if not info.loaded)

    def raise_on_failures(self) -> None:
        """Raise :class:`PluginLoadError` for the first plugin that failed to load."""
        if self.failures:
            info = self.failures[0]
            raise PluginLoadError(
                f"plugin {info.name!r} ({info.distribution} {info.version}, entry point "
                f"{info.module}) failed to load: {info.error}. "
                "Fix or uninstall it, or set EMP_DISABLE_PLUGIN_AUTOLOAD=1."
            )

    def strategies(self) -> dict[str, StrategySpec]:
        if self._strategies is None:
            found: dict[str, StrategySpec] = {}
            owners: dict[str, str] = {}
            for impl in self.manager.hook.emp_register_strategies.get_hookimpls():
                owner = impl.plugin_name
                try:
                    specs = list(impl.function() or ())
                except Exception as error:
                    raise PluginLoadError(
                        f"plugin {owner!r}: emp_register_strategies raised "
                        f"{type(error).__name__}: {error}"
                    ) from error
                for spec in specs:
                    if spec.name in found:
                        raise DuplicateStrategy(
                            f"strategy {spec.name!r} is registered by both "
                            f"{owners[spec.name]!r} and {owner!r}"
                        )
                    found[spec.name] = spec
                    owners[spec.name] = owner
            self._strategies = dict(sorted(found.items()))
        return self._strategies

    def strategy(self, name: str) -> StrategySpec:
        specs = self.strategies()
        try:
            return specs[name]
        except KeyError:
            available = ", ".join(specs) or "none"
            hint = (
                " (the example plugin provides it: pip install ./plugins/emp-sma-cross)"
                if name == "sma_trend"
                else ""
            )
            raise UnknownStrategy(
                f"no strategy named {name!r}{hint}; available: {available}"
            ) from None

    def risk_checks(self, settings: Mapping[str, Any]) -> list[RiskRule]:
        results = self.manager.hook.emp_register_risk_checks(settings=settings)
        return [rule for batch in reversed(results) for rule in batch]

    def features(self) -> list[FeatureSpec]:
        results = self.manager.hook.emp_register_features()
        features = [spec for batch in reversed(results) for spec in batch]
        names = [f.name for f in features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise PluginLoadError(f"feature names registered twice: {', '.join(duplicates)}")
        return features

    def notify_run_finished(self, run_id: str, summary: Mapping[str, Any]) -> list[str]:
        """Call ``emp_run_finished`` on every plugin; return the errors, one line each."""
        errors = []
        for impl in self.manager.hook.emp_run_finished.get_hookimpls():
            try:
                impl.function(run_id=run_id, summary=summary)
            except Exception as error:  # a plugin's bug must not change the stored run
                errors.append(f"plugin {impl.plugin_name!r}: {type(error).__name__}: {error}")
        return errors


def _entry_points() -> list[importlib_metadata.EntryPoint]:
    return sorted(importlib_metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def make_plugin_manager(
    *, load_entrypoints: bool = True, extra_plugins: Iterable[object] = ()
) -> PluginCatalog:
    """Create the plugin manager with EMP's built-in plugin, entry points and extras.

    A plugin that fails to import does not stop the others: it is recorded in
    :attr:`PluginCatalog.failures` (commands that run strategies then raise
    :class:`PluginLoadError`; ``emp plugins list`` shows it).
    """
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(EmpHookSpecs)
    manager.register(builtin_plugin, name="emp.builtin")
    infos: list[PluginInfo] = []
    if load_entrypoints:
        for entry_point in _entry_points():
            dist = entry_point.dist
            dist_name = dist.metadata["Name"] if dist is not None else "?"
            version = dist.version if dist is not None else "?"
            try:
                plugin = entry_point.load()
                manager.register(plugin, name=entry_point.name)
            except Exception as error:  # any import-time failure of third-party code
                infos.append(
                    PluginInfo(
                        entry_point.name,
                        entry_point.value,
                        dist_name,
                        version,
                        loaded=False,
                        error=f"{type(error).__name__}: {error}",
                    )
                )
                continue
            infos.append(
                PluginInfo(entry_point.name, entry_point.value, dist_name, version, loaded=True)
            )
    for index, plugin in enumerate(extra_plugins):
        manager.register(plugin, name=f"extra-{index}")
    return PluginCatalog(manager, infos)
