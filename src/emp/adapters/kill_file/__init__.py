"""A kill switch driven by a file: `emp kill` writes it, running sessions poll it."""

from emp.adapters.kill_file.kill_file import KillFile

__all__ = ["KillFile"]
