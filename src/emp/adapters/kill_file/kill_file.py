"""KillFile: implements KillSignalPort with a JSON file.

``emp kill --reason "..."`` writes ``{"reason": ..., "requested_ns": ...}`` atomically; every
running session that points at the same file sees it on its next event and halts (cancel
everything, flatten, refuse new risk). ``emp kill --clear`` removes it; resuming a halted
session stays an explicit operator action.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from emp.domain.errors import EmpError


class KillFileError(EmpError):
    """The kill file could not be written or read."""


class KillFile:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def poll(self) -> str | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            # an unreadable kill file is still a request to stop
            return f"kill file {self.path} present but unreadable: {error.strerror}"
        try:
            reason = json.loads(text).get("reason")
        except (ValueError, AttributeError):
            reason = None
        return f"kill file: {reason}" if reason else f"kill file {self.path} present"

    def request(self, reason: str, requested_ns: int) -> None:
        if not reason.strip():
            raise KillFileError("a kill request needs a reason, in words")
        payload = json.dumps({"reason": reason, "requested_ns": requested_ns}, sort_keys=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(payload + "\n", encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as error:
            raise KillFileError(f"cannot write kill file {self.path}: {error.strerror}") from error

    def clear(self) -> bool:
        """Remove the request; ``True`` if there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as error:
            raise KillFileError(f"cannot remove kill file {self.path}: {error.strerror}") from error
        return True
