"""Record a live market-data session as a file that ``emp md replay`` replays identically.

A recording is one raw FIX message per line, SOH or ``|`` separated (the format of
:mod:`emp.adapters.md_replay`). A live stream cannot be written byte for byte, though:
its MsgSeqNums (34) have holes where heartbeats, logons and requests went by, which a
replay would read as lost data. quickfix has already delivered the application messages
in order and without loss, so :class:`SessionRecording` renumbers 34 to 1, 2, 3, ...
(recomputing BodyLength 9 and CheckSum 10) — and leaves exactly one number out where a
session was lost and a new one began, because data *was* lost there: the replay marks
every book stale at that point and the new session's snapshot rebuilds it, as it did
live. Every other byte is as received.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from emp.adapters.fix_codec.recording_file import PIPE, SOH, check_separator, open_recording


def renumbered(raw: bytes, seq_num: int) -> bytes:
    """``raw`` with MsgSeqNum ``seq_num``, BodyLength and CheckSum recomputed."""
    start = raw.find(b"\x0134=")
    length_at = raw.find(b"\x019=")
    trailer_at = raw.rfind(b"\x0110=")
    if min(start, length_at, trailer_at) < 0:
        raise ValueError("expected a FIX message with 9, 34 and 10, was something else")
    start += 4
    end = raw.index(SOH, start)
    raw = raw[:start] + str(seq_num).encode("ascii") + raw[end:]
    body_at = raw.index(SOH, length_at + 1) + 1
    trailer_at = raw.rfind(b"\x0110=") + 1
    body = raw[body_at:trailer_at]
    framed = raw[: length_at + 1] + b"9=%d\x01" % len(body) + body
    return framed + b"10=%03d\x01" % (sum(framed) % 256)


class SessionRecording:
    """Writes what a :class:`~.md_subscriber.QuickfixMarketData` receives (pass it as
    ``on_raw``); see the module docstring. A context manager.

    Args:
        path: the recording; created or truncated.
        separator: ``b"|"`` (readable) or ``b"\\x01"`` (byte-exact).
    """

    def __init__(self, path: Path | str, *, separator: bytes = PIPE) -> None:
        self.path = Path(path)
        self._separator = check_separator(separator)
        self._handle: BinaryIO | None = None
        self._session: int | None = None
        self._next = 1
        #: Messages written so far.
        self.count = 0

    def open(self) -> SessionRecording:
        if self._handle is None:
            self._handle = open_recording(self.path, "wb")
        return self

    def __enter__(self) -> SessionRecording:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, raw: bytes, session: int) -> None:
        """Record one application message received in session number ``session``."""
        if self._session is not None and session != self._session:
            self._next += 1  # the lost session's hole
        self._session = session
        handle = self._handle or self.open()._handle
        assert handle is not None
        line = renumbered(raw, self._next)
        if self._separator == PIPE:
            line = line.replace(SOH, PIPE)
        handle.write(line + b"\n")
        self._next += 1
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
