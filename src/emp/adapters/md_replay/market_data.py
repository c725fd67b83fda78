"""FileReplayMarketData: a MarketDataPort over a recorded raw FIX stream.

Two ways through a recording: :meth:`FileReplayMarketData.drain_events` (the port: one
domain message per raw message, for any consumer) and
:meth:`FileReplayMarketData.replay_into` (the fast path: the whole recording straight
into a :class:`~emp.domain.books.BookSynchronizer` through the compiled kernel of
:mod:`emp.adapters.fix_codec.md_kernel`, the BBO and depth after every message as arrays).
Both give the same books, events, quarantine and snapshot requests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emp.adapters.fix_codec.md_batch import decode_market_data_batch
from emp.adapters.md_replay.files import MdRecorder, read_raw_messages
from emp.domain.market_data import (
    MarketDataMessage,
    MdIncrement,
    MdMessageQuarantined,
    MdOtherMessage,
    MdSnapshot,
    SnapshotRequested,
)
from emp.ports.market_data import MarketDataError, MarketDataUnavailable

if TYPE_CHECKING:
    from emp.adapters.fix_codec.md_kernel import KernelRun
    from emp.domain.books import BookSynchronizer

DEFAULT_BATCH = 4096


class FileReplayMarketData:
    """Replays a recording (one raw FIX message per line) as domain market-data messages.

    Messages come out in file order through :meth:`drain_events`. A malformed message is
    never dropped: it is kept in :attr:`quarantined` (and appended to ``quarantine_path``
    when given) and delivered as an :class:`MdMessageQuarantined`, so the books it may
    have touched are marked stale. A recording cannot answer a snapshot request; the
    requests are kept in :attr:`snapshot_requests` and the next snapshot of that
    instrument in the file serves as the resync.

    With subscriptions, snapshots and increments naming none of the subscribed symbols
    are passed on as :class:`MdOtherMessage` (their MsgSeqNum still counts).

    Args:
        path: the recording.
        quarantine_path: where malformed messages are appended (one per line), if anywhere.
        batch: messages returned by one :meth:`drain_events` call without a limit.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        quarantine_path: Path | str | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self._path = Path(path)
        self._quarantine_path = None if quarantine_path is None else Path(quarantine_path)
        self._batch = batch
        self._messages: Iterator[bytes] | None = None
        self._subscriptions: dict[str, tuple[str, ...]] = {}
        self._subscribed: set[str] = set()
        self._next_request = 1
        self.exhausted = False
        self.snapshot_requests: list[str] = []
        self.quarantined: list[MdMessageQuarantined] = []

    # ------------------------------------------------------------------ the port
    def subscribe(self, symbols: Sequence[str], *, depth: int = 0) -> str:
        if not symbols:
            raise MarketDataError("expected at least one symbol to subscribe to, was none")
        request_id = f"replay-{self._next_request}"
        self._next_request += 1
        self._subscriptions[request_id] = tuple(symbols)
        self._subscribed = {s for group in self._subscriptions.values() for s in group}
        return request_id

    def unsubscribe(self, request_id: str) -> None:
        if self._subscriptions.pop(request_id, None) is None:
            known = ", ".join(self._subscriptions) or "none"
            raise MarketDataError(f"unknown request id {request_id!r}; known: {known}")
        self._subscribed = {s for group in self._subscriptions.values() for s in group}

    def request_snapshot(self, symbol: str) -> None:
        self.snapshot_requests.append(symbol)

    def drain_events(self, limit: int | None = None) -> list[MarketDataMessage]:
        if self._messages is None:
            self._messages = read_raw_messages(self._path)
        want = self._batch if limit is None else limit
        raws: list[bytes] = []
        for raw in self._messages:
            raws.append(raw)
            if len(raws) >= want:
                break
        else:
            self.exhausted = True
        return [self._filter(m) for m in decode_market_data_batch(raws)]

    def replay_into(self, sync: BookSynchronizer, *, depth: int = 0) -> KernelRun:
        """Replay the rest of the recording into ``sync`` through the compiled kernel.

        The same books, stats, events and quarantine as feeding every message of
        :meth:`drain_events` to ``sync.on_message`` (subscriptions included), at memory
        speed. Events stay in ``sync`` for the caller to drain; ``SnapshotRequested``
        events are also recorded in :attr:`snapshot_requests`. ``depth`` > 0 records the
        best ``depth`` levels after each message (``KernelRun.book_frames``).
        """
        from emp.adapters.fix_codec.md_kernel import KernelBookFeed

        if self._messages is None:
            try:
                buffer = self._path.read_bytes()
            except OSError as e:
                raise MarketDataUnavailable(
                    f"cannot read market-data recording {self._path}: {e}"
                ) from e
        else:
            buffer = b"\n".join(self._messages)
        self._messages = iter(())
        self.exhausted = True
        subscribed = self._subscribed
        feed = KernelBookFeed(
            sync,
            accept_symbol=(lambda s: s in subscribed) if subscribed else None,
            message_filter=self._filter,
        )
        before = len(sync.peek_events())
        run = feed.feed(buffer, depth=depth)
        self.snapshot_requests.extend(
            e.symbol for e in sync.peek_events()[before:] if isinstance(e, SnapshotRequested)
        )
        return run

    # ------------------------------------------------------------------ helpers
    def _filter(self, message: MarketDataMessage) -> MarketDataMessage:
        if isinstance(message, MdMessageQuarantined):
            self._quarantine(message)
            return message
        if self._subscribed:
            if isinstance(message, MdSnapshot) and message.symbol not in self._subscribed:
                return MdOtherMessage(seq_num=message.seq_num, msg_type="W")
            if isinstance(message, MdIncrement) and self._subscribed.isdisjoint(
                message.entries.symbols
            ):
                return MdOtherMessage(seq_num=message.seq_num, msg_type="X")
        return message

    def _quarantine(self, message: MdMessageQuarantined) -> None:
        self.quarantined.append(message)
        if self._quarantine_path is not None:
            with MdRecorder(self._quarantine_path) as recorder:
                recorder.record(message.raw)
