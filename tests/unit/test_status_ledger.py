"""docs/STATUS.md stays honest: every capability has a row, statuses are from the fixed
vocabulary, named tests exist, and the README shows the commands CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGER = (ROOT / "docs" / "STATUS.md").read_text()
README = (ROOT / "README.md").read_text()
ROW = re.compile(r"^\| (\d+) \| ([^|]+) \| (\w+) \|(.*)$", re.MULTILINE)


def rows() -> dict[int, tuple[str, str, str]]:
    return {int(m[1]): (m[2].strip(), m[3], m[4]) for m in ROW.finditer(LEDGER)}


def test_every_capability_of_the_mission_has_exactly_one_row():
    assert sorted(rows()) == list(range(1, 13))


def test_status_words_are_real_partial_or_absent():
    assert {status for _, status, _ in rows().values()} <= {"real", "partial", "absent"}


def test_every_test_file_the_ledger_names_exists():
    named = re.findall(r"`(tests/[\w/]+\.py)`", LEDGER)
    assert named, "the ledger names no tests"
    missing = [path for path in named if not (ROOT / path).is_file()]
    assert missing == []


def test_rows_claiming_something_works_name_a_test():
    for number, (name, status, rest) in rows().items():
        if status != "absent":
            assert "`tests/" in rest, f"row {number} ({name}) names no test"


def test_the_readme_shows_the_two_commands_and_ci_runs_the_same_test_command():
    assert "make demo" in README and "make test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_readme_links_to_the_ledger_and_the_docs_it_names_exist():
    for link in re.findall(r"\]\(((?:docs|plugins)/[^)]+)\)", README):
        assert (ROOT / link).exists(), link


def test_the_readme_counts_the_contracts_that_contracts_ini_defines():
    words = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
    claimed = re.search(r"with (\w+) import-linter contracts", README)
    assert claimed, "README no longer says how many contracts there are"
    defined = len(
        re.findall(r"^\[importlinter:contract:", (ROOT / "contracts.ini").read_text(), re.MULTILINE)
    )
    assert words[claimed[1]] == defined


def test_every_command_the_readme_shows_exists():
    from typer.main import get_command

    from emp.app.cli import app

    root = get_command(app)
    shown = set(re.findall(r"^emp (\w[\w-]*)", README, re.MULTILINE))
    assert shown, "README shows no commands"
    missing = sorted(name for name in shown if name not in root.commands)  # type: ignore[attr-defined]
    assert missing == []


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    from emp.app.settings import ENV_PREFIX, EmpSettings

    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [
        f"{ENV_PREFIX}{name.upper()}"
        for name in EmpSettings.model_fields
        if f"`{ENV_PREFIX}{name.upper()}`" not in table
    ]
    assert not missing, f"README's Configuration table lacks {missing}"
