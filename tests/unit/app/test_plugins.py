"""The plugin manager: entry points, catalogs, and what happens when plugins misbehave."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from emp.app.errors import DuplicateStrategy, PluginLoadError, UnknownStrategy
from emp.app.hookspecs import hookimpl
from emp.app.plugins import make_plugin_manager
from emp.domain.risk import MaxPosition
from emp.domain.strategies.buy_and_hold import BUY_AND_HOLD_SPEC
from emp.domain.strategy import StrategySpec


def write_fake_distribution(root: Path, name: str, module: str, module_source: str) -> None:
    """An installed distribution, as importlib.metadata sees it: a dist-info and a module."""
    dist_info = root / f"{name}-1.2.3.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (dist_info / "entry_points.txt").write_text(f"[emp.plugins]\n{name} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(module_source))


@pytest.fixture
def site_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    importlib.invalidate_caches()


class Extra:
    def __init__(self, *specs: StrategySpec, risk=(), raises: Exception | None = None):
        self._specs, self._risk, self._raises = specs, risk, raises

    @hookimpl
    def emp_register_strategies(self):
        if self._raises is not None:
            raise self._raises
        return list(self._specs)

    @hookimpl
    def emp_register_risk_checks(self, settings):
        return list(self._risk)


class TestCatalog:
    def test_the_builtin_baseline_is_always_registered(self):
        catalog = make_plugin_manager(load_entrypoints=False)
        assert catalog.strategy("buy_and_hold") is BUY_AND_HOLD_SPEC
        assert catalog.infos == ()

    def test_an_unknown_strategy_lists_the_available_ones(self):
        catalog = make_plugin_manager(load_entrypoints=False)
        available = "'nope'; available: book_imbalance, buy_and_hold"
        with pytest.raises(UnknownStrategy, match=available):
            catalog.strategy("nope")

    def test_asking_for_the_example_strategy_without_its_plugin_says_how_to_install_it(self):
        catalog = make_plugin_manager(load_entrypoints=False)
        with pytest.raises(UnknownStrategy, match="pip install ./plugins/emp-sma-cross"):
            catalog.strategy("sma_trend")

    def test_two_plugins_registering_one_name_is_an_error_naming_both(self):
        clash = StrategySpec(name="buy_and_hold", factory=BUY_AND_HOLD_SPEC.factory)
        catalog = make_plugin_manager(load_entrypoints=False, extra_plugins=[Extra(clash)])
        with pytest.raises(DuplicateStrategy, match="'emp.builtin' and 'extra-0'"):
            catalog.strategies()

    def test_a_registration_hook_that_raises_is_a_plugin_load_error(self):
        catalog = make_plugin_manager(
            load_entrypoints=False, extra_plugins=[Extra(raises=RuntimeError("no config"))]
        )
        with pytest.raises(PluginLoadError, match="'extra-0'.*RuntimeError: no config"):
            catalog.strategies()

    def test_risk_checks_of_all_plugins_are_collected(self):
        rule = MaxPosition(5)
        catalog = make_plugin_manager(load_entrypoints=False, extra_plugins=[Extra(risk=[rule])])
        assert catalog.risk_checks({}) == [rule]

    def test_a_failing_run_finished_hook_is_reported_not_raised(self):
        class Noisy:
            @hookimpl
            def emp_run_finished(self, run_id, summary):
                raise ValueError(f"cannot post {run_id}")

        catalog = make_plugin_manager(load_entrypoints=False, extra_plugins=[Noisy()])
        assert catalog.notify_run_finished("r1", {}) == [
            "plugin 'extra-0': ValueError: cannot post r1"
        ]


class TestEntryPoints:
    def test_an_installed_plugin_is_loaded_through_the_emp_plugins_group(self, site_dir):
        write_fake_distribution(
            site_dir,
            "emp-fake-good",
            "emp_fake_good_plugin",
            """
            from emp.app.hookspecs import hookimpl
            from emp.domain.strategies.buy_and_hold import BuyAndHold
            from emp.domain.strategy import StrategySpec

            @hookimpl
            def emp_register_strategies():
                return [StrategySpec(name="fake_good", factory=lambda p: BuyAndHold())]
            """,
        )
        catalog = make_plugin_manager(load_entrypoints=True)
        info = next(i for i in catalog.infos if i.name == "emp-fake-good")
        assert (info.loaded, info.distribution, info.version) == (True, "emp-fake-good", "1.2.3")
        assert "fake_good" in catalog.strategies()

    def test_a_plugin_that_fails_to_import_is_recorded_and_named(self, site_dir):
        write_fake_distribution(
            site_dir, "emp-fake-broken", "emp_fake_broken_plugin", "import not_a_module_anywhere\n"
        )
        sys.modules.pop("emp_fake_broken_plugin", None)
        catalog = make_plugin_manager(load_entrypoints=True)
        (failure,) = [i for i in catalog.failures if i.name == "emp-fake-broken"]
        assert "ModuleNotFoundError" in (failure.error or "")
        with pytest.raises(PluginLoadError, match="'emp-fake-broken'.*EMP_DISABLE_PLUGIN_AUTOLOAD"):
            catalog.raise_on_failures()

    def test_autoload_can_be_switched_off(self, site_dir):
        write_fake_distribution(
            site_dir, "emp-fake-off", "emp_fake_off_plugin", "raise RuntimeError('loaded!')\n"
        )
        catalog = make_plugin_manager(load_entrypoints=False)
        assert catalog.infos == ()
        assert catalog.failures == ()
