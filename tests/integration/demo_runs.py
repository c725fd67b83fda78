"""`emp demo` through the installed script with the run clock pinned, for reproducibility tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EMP = Path(sys.executable).parent / "emp"
CLOCK_NS = 1_767_225_600_000_000_000  # pins the run id and the report's creation time


def demo_report(*args: str, reports: Path, env: dict[str, str] | None = None) -> Path:
    """Run ``emp demo ARGS --reports-dir REPORTS`` (fast=2, no progress, EMP_* only from
    ``env``) and return the path of the report.json it wrote."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    environment["EMP_CLOCK_NS"] = str(CLOCK_NS)
    environment.update(env or {})
    command = [str(EMP), "demo", *args, "--reports-dir", str(reports), "--no-progress"]
    result = subprocess.run(
        [*command, "--param", "fast=2"], env=environment, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [report] = reports.glob("*/report.json")
    return report
