"""The hooks a plugin can implement. Every hook is documented in docs/plugins.md.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`, exposed
through the ``emp.plugins`` entry-point group::

    [project.entry-points."emp.plugins"]
    my_plugin = "my_package.plugin"

All hooks are "collect" hooks: every plugin's result is gathered (pluggy returns a list
of the non-``None`` results, last-registered plugin first) and EMP flattens the lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from emp.domain.features.spec import FeatureSpec
from emp.domain.risk.rule import RiskRule
from emp.domain.strategy import StrategySpec

PROJECT_NAME = "emp"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorate plugin functions with this marker: ``@hookimpl def emp_register_strategies(): ...``
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class EmpHookSpecs:
    """Hook specifications (namespace only; plugins implement plain functions)."""

    @hookspec
    def emp_register_strategies(self) -> Sequence[StrategySpec]:
        """Return the strategies this plugin provides.

        Called once, when a command first needs the strategy catalog (``emp demo``,
        ``emp plugins list``). Results of all plugins are concatenated; two strategies
        with the same name are an error (:class:`~emp.app.errors.DuplicateStrategy`).
        """

    @hookspec
    def emp_register_risk_checks(self, settings: Mapping[str, Any]) -> Sequence[RiskRule]:
        """Return extra pre-trade risk rules to run after EMP's own.

        Called once per run with the run's settings (a plain mapping). Rules of all
        plugins are concatenated; an order passes only if every rule passes.
        """

    @hookspec
    def emp_register_features(self) -> Sequence[FeatureSpec]:
        """Return causal features this plugin provides (listed by ``emp plugins list``).

        Called once when the feature catalog is built. Results are concatenated; feature
        names must be unique.
        """

    @hookspec
    def emp_run_finished(self, run_id: str, summary: Mapping[str, Any]) -> None:
        """Notification after a run completed and its report was written.

        Called for every plugin; return values are ignored. An exception raised here is
        reported but does not change the run's stored result.
        """
