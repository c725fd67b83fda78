"""KillSignalPort: an external request to halt trading (a file, a metrics alert, an operator)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class KillSignalPort(Protocol):
    def poll(self) -> str | None:
        """The reason, in words, if a halt has been requested; ``None`` otherwise.

        Cheap enough to call on every event; never blocks.
        """
        ...
