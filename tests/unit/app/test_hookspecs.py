"""Hook specs are documentation: each one is typed, has a docstring, and is in docs/plugins.md."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from emp.app.hookspecs import EmpHookSpecs

DOCS = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"
HOOKS = [name for name in vars(EmpHookSpecs) if name.startswith("emp_")]


def test_there_are_hooks_for_strategies_risk_checks_and_features():
    assert {"emp_register_strategies", "emp_register_risk_checks", "emp_register_features"} <= set(
        HOOKS
    )


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_docstring_and_type_hints(name):
    hook = getattr(EmpHookSpecs, name)
    assert inspect.getdoc(hook), f"{name} has no docstring"
    signature = inspect.signature(hook)
    assert signature.return_annotation is not inspect.Signature.empty
    for parameter in list(signature.parameters.values())[1:]:
        assert parameter.annotation is not inspect.Parameter.empty, f"{name}({parameter.name})"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_in_docs_plugins_md_with_its_parameters(name):
    text = DOCS.read_text()
    heading = next((line for line in text.splitlines() if line.startswith(f"### `{name}(")), None)
    assert heading is not None, f"docs/plugins.md has no '### `{name}(...)' section"
    parameters = list(inspect.signature(getattr(EmpHookSpecs, name)).parameters)[1:]
    for parameter in parameters:
        assert parameter in heading, f"{parameter} missing from the documented signature"
