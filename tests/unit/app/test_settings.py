"""EMP_* settings: strict, typo-proof, overridable."""

from __future__ import annotations

from pathlib import Path

import pytest

from emp.app.errors import ConfigError
from emp.app.settings import EmpSettings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


class TestFromEnvironment:
    def test_defaults_need_no_environment(self):
        settings = load_settings()
        assert settings.venue == "sim_fix"
        assert settings.database_path == Path(".emp/emp.duckdb")

    def test_variables_with_the_emp_prefix_are_parsed_by_type(self, monkeypatch):
        monkeypatch.setenv("EMP_SEED", "7")
        monkeypatch.setenv("EMP_VENUE", "sim_direct")
        monkeypatch.setenv("EMP_INITIAL_CASH", "2500.5")
        monkeypatch.setenv("EMP_DISABLE_PLUGIN_AUTOLOAD", "1")
        settings = load_settings()
        assert (settings.seed, settings.venue, settings.initial_cash) == (7, "sim_direct", 2500.5)
        assert settings.disable_plugin_autoload is True

    def test_an_unknown_variable_is_an_error_with_a_suggestion(self, monkeypatch):
        monkeypatch.setenv("EMP_SEEED", "1")
        with pytest.raises(ConfigError, match="unknown setting EMP_SEEED; did you mean EMP_SEED"):
            load_settings()

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("EMP_VENUE", "nasdaq", "EMP_VENUE: Input should be 'sim_fix' or 'sim_direct'"),
            ("EMP_SEED", "seven", "EMP_SEED: Input should be a valid integer"),
            ("EMP_SEED", "-1", "EMP_SEED: Input should be greater than or equal to 0"),
            ("EMP_INITIAL_CASH", "0", "EMP_INITIAL_CASH: Input should be greater than 0"),
            ("EMP_STORE", "mysql", "EMP_STORE: Input should be 'duckdb'"),
        ],
    )
    def test_a_bad_value_names_the_variable_and_the_rule(self, monkeypatch, name, value, message):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError, match=message) as caught:
            load_settings()
        assert "(was " in str(caught.value)  # the offending value is shown


class TestOverrides:
    def test_overrides_win_over_the_environment_and_none_means_not_given(self, monkeypatch):
        monkeypatch.setenv("EMP_SEED", "7")
        assert load_settings(seed=9).seed == 9
        assert load_settings(seed=None).seed == 7

    def test_overrides_are_strict_about_types(self):
        with pytest.raises(ConfigError, match="EMP_SEED: Input should be a valid integer"):
            load_settings(seed="9")

    def test_settings_are_frozen(self):
        settings = load_settings()
        with pytest.raises(Exception, match="frozen"):
            settings.seed = 3  # type: ignore[misc]

    def test_every_setting_is_documented(self):
        undocumented = [n for n, f in EmpSettings.model_fields.items() if not f.description]
        assert undocumented == []
