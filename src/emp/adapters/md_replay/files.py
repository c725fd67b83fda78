"""Recorded FIX streams on disk: one raw message per line, SOH or ``|`` separated.

Reading accepts both separators, line by line: a line with no SOH byte has every ``|``
turned into SOH (a value cannot contain ``|`` in such a file). Blank lines and a trailing
carriage return are ignored. Writing uses the separator asked for (``|`` is readable,
SOH is byte-exact for values that contain ``|``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from emp.adapters.fix_codec.recording_file import PIPE, SOH, check_separator, open_recording
from emp.ports.market_data import MarketDataUnavailable

_TO_SOH = bytes.maketrans(PIPE, SOH)


def normalize_line(line: bytes) -> bytes:
    """One recorded line → raw FIX bytes (SOH separated, no line ending)."""
    line = line.rstrip(b"\r\n")
    if SOH not in line:
        line = line.translate(_TO_SOH)
    return line


def read_raw_messages(path: Path | str) -> Iterator[bytes]:
    """Every message of a recording, in file order, as raw SOH-separated bytes."""
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - the with block below closes it
    except OSError as e:
        raise MarketDataUnavailable(f"cannot read market-data recording {path}: {e}") from e
    with handle:
        for line in handle:
            raw = normalize_line(line)
            if raw:
                yield raw


def write_raw_messages(
    path: Path | str, messages: Iterable[bytes], *, separator: bytes = PIPE
) -> int:
    """Write ``messages`` one per line; returns how many were written."""
    with MdRecorder(path, separator=separator) as recorder:
        for raw in messages:
            recorder.record(raw)
        return recorder.count


class MdRecorder:
    """Appends raw FIX messages to a file, one per line (a context manager).

    Args:
        path: the recording; created, or appended to.
        separator: ``b"|"`` (readable) or ``b"\\x01"`` (byte-exact).
    """

    def __init__(self, path: Path | str, *, separator: bytes = PIPE) -> None:
        self._path = Path(path)
        self._separator = check_separator(separator)
        self._handle: BinaryIO | None = None
        self.count = 0

    def __enter__(self) -> MdRecorder:
        self._handle = open_recording(self._path, "ab")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def record(self, raw: bytes) -> None:
        if self._handle is None:
            self.__enter__()
        assert self._handle is not None
        line = raw if self._separator == SOH else raw.replace(SOH, PIPE)
        self._handle.write(line.rstrip(b"\r\n") + b"\n")
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
