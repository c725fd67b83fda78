"""The file a recorded FIX stream is kept in: one raw message per line, SOH or ``|``
separated (``|`` is readable, SOH byte-exact for values that contain ``|``).

Shared by the writers of recordings (:mod:`emp.adapters.fix_quickfix.md_recording`,
:mod:`emp.adapters.md_replay.files`), so both accept the same separators and fail alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from emp.ports.market_data import MarketDataUnavailable

SOH = b"\x01"
PIPE = b"|"


def check_separator(separator: bytes) -> bytes:
    """``separator`` where it is ``b"|"`` or ``b"\\x01"``; a ValueError otherwise."""
    if separator not in (PIPE, SOH):
        raise ValueError(f"separator must be b'|' or b'\\x01', was {separator!r}")
    return separator


def open_recording(path: Path, mode: str) -> BinaryIO:
    """``path`` opened in binary ``mode`` (``"wb"``, ``"ab"``) to write a recording; an
    OSError becomes MarketDataUnavailable."""
    try:
        return path.open(mode)  # type: ignore[return-value]
    except OSError as e:
        raise MarketDataUnavailable(f"cannot write market-data recording {path}: {e}") from e
