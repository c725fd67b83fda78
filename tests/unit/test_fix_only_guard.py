"""The FIX-only guard: no HTTP/OpenAPI stack in EMP's imports or declared dependencies."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FORBIDDEN_DISTRIBUTIONS = {
    "fastapi",
    "starlette",
    "requests",
    "httpx",
    "aiohttp",
    "urllib3",
    "websockets",
    "websocket-client",
    "openapi-python-client",
    "openapi-core",
    "flask",
    "uvicorn",
}
PYPROJECTS = [ROOT / "pyproject.toml", *sorted((ROOT / "plugins").glob("*/pyproject.toml"))]


def requirement_name(requirement: str) -> str:
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name[1]).lower()


def declared_requirements(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    found = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        found.extend(extra)
    return found


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_http_or_openapi_distribution_is_declared_in_any_dependency_or_extra(pyproject):
    names = {requirement_name(r) for r in declared_requirements(pyproject)}
    assert names, "no dependencies parsed: the check would be vacuous"
    assert names & FORBIDDEN_DISTRIBUTIONS == set()


def test_the_name_normaliser_would_catch_a_declared_http_client():
    assert requirement_name("Requests[socks]>=2") in FORBIDDEN_DISTRIBUTIONS
    assert requirement_name("websocket_client==1.0") in FORBIDDEN_DISTRIBUTIONS


def run_lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(LINT_IMPORTS.parent),
        "PYTHONPATH": f"{tree / 'src'}:{tree / 'plugin_src'}",
        "HOME": str(tree),
    }
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "contracts.ini", "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "plugins" / "emp-sma-cross" / "src",
        tree / "plugin_src",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "contracts.ini", tree / "contracts.ini")
    return tree


@pytest.mark.slow
def test_the_contracts_are_kept_on_the_real_tree(tree_copy):
    result = run_lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = re.search(r"Contracts: (\d+) kept, (\d+) broken", result.stdout)
    assert kept and int(kept[1]) >= 5 and kept[2] == "0", result.stdout
    assert "FIX-only guard" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("emp/domain/_probe_requests.py", "import requests\n"),
        ("emp/adapters/fix_sim/_probe_httpx.py", "from httpx import Client\n"),
    ],
)
def test_the_guard_breaks_when_a_forbidden_http_import_is_added(tree_copy, module, source):
    probe = tree_copy / "src" / module
    probe.write_text(source)
    try:
        result = run_lint_imports(tree_copy)
    finally:
        probe.unlink()
    assert result.returncode != 0
    broken = re.search(r"FIX-only guard.*?(KEPT|BROKEN)", result.stdout, re.DOTALL)
    assert broken and broken[1] == "BROKEN", result.stdout


# import-linter does not see the standard library, so its HTTP modules are checked here.
STDLIB_HTTP = ("http.server", "http.client", "urllib.request", "socketserver", "xmlrpc")
#: The one module allowed a stdlib HTTP server: the loopback Alertmanager kill-alert receiver.
STDLIB_HTTP_ALLOWED = {"src/emp/adapters/alert_webhook/webhook.py": {"http.server"}}


def stdlib_http_imports(path: Path) -> set[str]:
    """The stdlib HTTP modules ``path`` imports (``import x`` / ``from x import y``)."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found |= {n for n in names for m in STDLIB_HTTP if n == m or n.startswith(f"{m}.")}
    return found


def test_no_stdlib_http_client_or_server_outside_the_alert_receiver():
    offenders = {}
    for path in [*ROOT.glob("src/emp/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        allowed = STDLIB_HTTP_ALLOWED.get(relative, set())
        extra = {
            name
            for name in stdlib_http_imports(path)
            if not any(name == a or name.startswith(f"{a}.") for a in allowed)
        }
        if extra:
            offenders[relative] = sorted(extra)
    assert offenders == {}


def test_the_stdlib_scan_would_catch_a_client(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import urllib.request\nfrom http.client import HTTPSConnection\n")
    assert stdlib_http_imports(module) == {
        "urllib.request",
        "http.client",
        "http.client.HTTPSConnection",
    }
