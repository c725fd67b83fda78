"""Fixtures for real quickfix sessions over loopback: a served venue, EMP's initiator, a
flaky proxy between them. Every engine started here is stopped in teardown."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

try:
    import quickfix  # noqa: F401
except ImportError as error:  # fail, never skip: CI must install the `fix` extra
    raise RuntimeError(
        "these tests need quickfix: pip install 'emp-framework[fix]' (quickfix-ssl)"
    ) from error

from emp.adapters.clocks import SystemClock
from emp.adapters.fix_quickfix import (
    Backoff,
    DuckDBAuditJournal,
    FixCredentials,
    FixSessionConfig,
    FixVenueServer,
    QuickfixVenue,
    Secret,
    TlsFiles,
    VenueServerConfig,
)
from emp.domain.events import OrderEvent
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching import MarketUpdate, MatchingConfig, VenueLimits
from tests.integration.fix.proxy import FlakyProxy

SYMBOL = "ABC"
PASSWORD = "s3cr3t-Pa55word"
INSTRUMENTS = InstrumentRegistry([Instrument(symbol=SYMBOL, tick_size=0.01, lot_size=1.0)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class FixLab:
    """Builds venues, clients and proxies under one temp folder; stops them all."""

    root: Path
    clock: SystemClock = field(default_factory=SystemClock)
    #: Set by a test that provokes session-level Rejects (35=3) on purpose.
    session_rejects_expected: bool = False
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def server(
        self,
        *,
        port: int | None = None,
        initial: list[MarketUpdate] | None = None,
        clients: tuple[str, ...] = ("EMP",),
        limits: VenueLimits | None = None,
        name: str = "venue",
        journal: bool = False,
        **options: Any,
    ) -> FixVenueServer:
        config = VenueServerConfig(
            port=port or free_port(),
            store_dir=self.root / name / "store",
            log_dir=self.root / name / "log",
            client_comp_ids=clients,
            credentials={"emp": Secret(PASSWORD)},
            **options,
        )
        server = FixVenueServer(
            config,
            instruments=INSTRUMENTS,
            clock=self.clock,
            matching=MatchingConfig(limits=limits or VenueLimits()),
            initial_market=initial or [],
            journal=DuckDBAuditJournal(self.root / name / "audit.duckdb") if journal else None,
        )
        self._stops.append(server.stop)
        server.start()
        return server

    def client(
        self,
        port: int,
        *,
        comp_id: str = "EMP",
        password: str = PASSWORD,
        name: str = "client",
        journal: bool = False,
        backoff: Backoff | None = None,
        wait: bool = True,
        host: str = "127.0.0.1",
        tls: TlsFiles | None = None,
    ) -> QuickfixVenue:
        config = FixSessionConfig(
            host=host,
            tls=tls,
            port=port,
            sender_comp_id=comp_id,
            target_comp_id="EMPSIM",
            store_dir=self.root / name / "store",
            log_dir=self.root / name / "log",
        )
        venue = QuickfixVenue(
            config,
            clock=self.clock,
            credentials=FixCredentials(username="emp", password=Secret(password)),
            journal=DuckDBAuditJournal(self.root / name / "audit.duckdb") if journal else None,
            backoff=backoff or Backoff(initial_s=0.1, max_s=0.5),
        )
        self._stops.append(venue.stop)
        venue.start()
        if wait:
            venue.wait_logged_on(10)
        return venue

    def proxy(self, target_port: int, *, passthrough: bool = False) -> FlakyProxy:
        proxy = FlakyProxy(target_port, passthrough=passthrough)
        self._stops.append(proxy.close)
        return proxy

    def stop_all(self) -> None:
        errors: list[BaseException] = []
        for stop in reversed(self._stops):
            try:
                stop()
            except BaseException as error:  # keep stopping the rest
                errors.append(error)
        self._stops.clear()
        if errors:
            raise errors[0]

    def session_rejects(self) -> list[str]:
        """Every 35=3 line in every message log under the lab (validation failures)."""
        return [
            line
            for path in self.root.rglob("*.messages.log")
            for line in path.read_text().splitlines()
            if "|35=3|" in line
        ]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[FixLab]:
    lab = FixLab(tmp_path)
    try:
        yield lab
    finally:
        lab.stop_all()
    # quickfix answers a message its dictionary refuses with a Reject (35=3) that no
    # application callback sees: every test proves its traffic was valid FIX 4.4.
    if not lab.session_rejects_expected:
        assert lab.session_rejects() == [], "a session-level Reject (35=3) was exchanged"


def collect(
    venue: QuickfixVenue,
    until: Callable[[list[OrderEvent]], bool],
    timeout_s: float = 5.0,
) -> list[OrderEvent]:
    """Drain events until ``until(events)`` holds; fail with what arrived if it never does."""
    events: list[OrderEvent] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events += venue.wait_events(0.05)
        if until(events):
            return events
    raise AssertionError(f"condition not met within {timeout_s} s; events: {events}")


def settle(venue: QuickfixVenue, seconds: float = 0.3) -> list[OrderEvent]:
    """Everything that arrives within ``seconds`` (to prove nothing more comes)."""
    events: list[OrderEvent] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events += venue.wait_events(0.05)
    return events


def message_lines(venue: QuickfixVenue | FixVenueServer) -> list[str]:
    """The redacted message log's lines so far (flushed first)."""
    venue.log.flush()
    return venue.log.messages_path.read_text().splitlines()


def of_kind(events: list[OrderEvent], kind: type) -> list:
    return [event for event in events if isinstance(event, kind)]
