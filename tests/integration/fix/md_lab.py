"""What the market-data-over-FIX tests share: the listed instruments, random venue books,
and the sessions and venue configuration of a lab on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emp.adapters.fix_quickfix import FixCredentials, FixSessionConfig, Secret, VenueServerConfig
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching.market_data import BookSnapshot
from tests.integration.fix.conftest import PASSWORD

SYMBOL = "ABC"
OTHER = "XYZ"
INSTRUMENTS = InstrumentRegistry(
    [Instrument(symbol=s, tick_size=0.01, lot_size=1.0) for s in (SYMBOL, OTHER)]
)
MD_INSTRUMENTS = {s: INSTRUMENTS[s] for s in (SYMBOL, OTHER)}


def random_book(rng: np.random.Generator, ts_ns: int, symbol: str = SYMBOL) -> BookSnapshot:
    """A random uncrossed displayed book around 100.00."""
    bids = sorted({int(t) for t in rng.integers(9_900, 10_000, size=rng.integers(1, 8))})
    asks = sorted({int(t) for t in rng.integers(10_001, 10_100, size=rng.integers(1, 8))})
    return BookSnapshot(
        symbol=symbol,
        ts_ns=ts_ns,
        bids=tuple((t / 100, float(rng.integers(1, 50))) for t in reversed(bids)),
        asks=tuple((t / 100, float(rng.integers(1, 50))) for t in asks),
    )


def client_session(port: int, sender_comp_id: str, folder: Path) -> FixSessionConfig:
    """A client session to the lab venue (EMPSIM) on 127.0.0.1, store and logs in ``folder``."""
    return FixSessionConfig(
        host="127.0.0.1",
        port=port,
        sender_comp_id=sender_comp_id,
        target_comp_id="EMPSIM",
        store_dir=folder / "store",
        log_dir=folder / "log",
    )


def credentials(password: str = PASSWORD) -> FixCredentials:
    """The Logon credentials of user ``emp``; the lab venue accepts only ``PASSWORD``."""
    return FixCredentials(username="emp", password=Secret(password))


def md_venue_config(port: int, folder: Path) -> VenueServerConfig:
    """The lab venue: EMPMD (market data) and EMP (orders) may log on as ``emp``."""
    return VenueServerConfig(
        port=port,
        store_dir=folder / "store",
        log_dir=folder / "log",
        client_comp_ids=("EMPMD", "EMP"),
        credentials={"emp": Secret(PASSWORD)},
    )
