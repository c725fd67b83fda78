"""One quickfix initiator session, as EMP's two clients run it (orders: ``QuickfixVenue``;
market data: ``QuickfixMarketData``): settings built in code, a FileStore for sequence
numbers, the callback bridge, a reconnect supervisor, and a prompt Logout at stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import quickfix as fix

from emp.adapters.fix_quickfix.bridge import InitiatorBridge
from emp.adapters.fix_quickfix.config import FixSessionConfig
from emp.adapters.fix_quickfix.credentials import FixCredentials
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.reconnect import Backoff, ReconnectSupervisor
from emp.adapters.fix_quickfix.session_settings import (
    build_settings,
    common_settings,
    tls_settings,
)
from emp.adapters.fix_quickfix.wire import build_message
from emp.ports.clock import ClockPort


class StartedInitiator(NamedTuple):
    """A running quickfix initiator and what it needs kept alive."""

    initiator: Any
    bridge: InitiatorBridge
    supervisor: ReconnectSupervisor  # not started: the owner starts it once it holds these
    session_id: fix.SessionID
    #: quickfix keeps raw pointers into these: keep them referenced as long as it runs.
    keep: list[object]


def start_initiator(
    config: FixSessionConfig,
    dictionary: Path,
    *,
    log: RedactingMessageLog,
    clock: ClockPort,
    credentials: FixCredentials | None,
    backoff: Backoff,
    rng: np.random.Generator | None,
    notify: Callable[[], None],
    failure: type[Exception],
) -> StartedInitiator:
    """Start the session ``config`` names, validated against ``dictionary``.

    Nothing outbound is persisted (``PersistMessages=N``): the Logon carries the password,
    and a request lost in a gap is gap-filled, never replayed late — each client asks
    again or reconciles. A quickfix start error is raised as ``failure``.
    """
    defaults = {
        **common_settings(config.store_dir, dictionary),
        "ConnectionType": "initiator",
        "SocketConnectHost": config.host,
        "SocketConnectPort": str(config.port),
        "HeartBtInt": str(config.heartbeat_s),
        "ReconnectInterval": str(config.reconnect_interval_s),
        "LogonTimeout": str(config.logon_timeout_s),
        "PersistMessages": "N",
        **tls_settings(config.tls, server=False),
    }
    settings, (session_id,) = build_settings(
        defaults, [(config.sender_comp_id, config.target_comp_id)]
    )
    supervisor = ReconnectSupervisor(
        session_id, backoff, rng, grace_s=config.reconnect_interval_s + 2.0
    )
    bridge = InitiatorBridge(
        log,
        clock,
        credentials,
        reset_on_logon=config.reset_on_logon,
        notify=notify,
        listener=supervisor,
    )
    store = fix.FileStoreFactory(settings)
    initiator_class = fix.SSLSocketInitiator if config.tls is not None else fix.SocketInitiator
    keep: list[object] = [settings, store, bridge, session_id]
    try:
        initiator = initiator_class(bridge, store, settings)
        initiator.start()
    except (fix.ConfigError, fix.RuntimeError) as e:
        raise failure(f"cannot start the FIX initiator: {e}") from e
    return StartedInitiator(initiator, bridge, supervisor, session_id, keep)


def log_out(
    session_id: fix.SessionID | None, bridge: InitiatorBridge | None, timeout_s: float
) -> None:
    """Send Logout now and wait (briefly) for the answer: quickfix's own graceful stop
    sends it at its next one-second tick and waits whole seconds."""
    session = fix.Session.lookupSession(session_id) if session_id is not None else None
    if session is None or bridge is None or not bridge.logged_on.is_set():
        return
    session.logout("EMP is stopping")  # no reconnect from here on
    fix.Session.sendToTarget(build_message("5", [(58, "EMP is stopping")]), session_id)
    deadline = time.monotonic() + timeout_s
    while bridge.logged_on.is_set() and time.monotonic() < deadline:
        time.sleep(0.005)


def stop_initiator(
    supervisor: ReconnectSupervisor | None,
    initiator: Any,
    session_id: fix.SessionID | None,
    bridge: InitiatorBridge | None,
    *,
    logout_timeout_s: float = 2.0,
) -> None:
    """Stop retrying, log out (waiting briefly for the answer), stop quickfix's threads;
    each step runs even when the one before it fails."""
    try:
        if supervisor is not None:
            supervisor.stop()
    finally:
        if initiator is not None:
            try:
                log_out(session_id, bridge, logout_timeout_s)
            finally:
                initiator.stop(True)
