"""One bar replayed as timed market data for the matching engine.

:func:`~emp.domain.matching.bar_updates` (the replay the served FIX venue's paper mode
uses) gives a book around the bar's open, trade prints through its range and a book at its
close, all stamped at the open. Here they are spread over the bar's duration, so orders
that arrive during the bar (after their entry latency) meet the book as it stands then:
the open book at the bar's open, the first sweep a third of the way in, the second sweep
two thirds in, the close book at the bar's last nanosecond.
"""

from __future__ import annotations

import dataclasses

from emp.adapters.book_sim.config import BookVenueConfig
from emp.domain.bars import Bar
from emp.domain.instruments import Instrument
from emp.domain.matching import MarketUpdate, bar_updates


def level_size(bar: Bar, instrument: Instrument, config: BookVenueConfig) -> float:
    """Displayed size per level for ``bar``: fixed, or a share of its volume (>= 1 lot)."""
    if config.size_per_level is not None:
        size = config.size_per_level
    else:
        size = config.volume_fraction_per_level * max(bar.volume, 0.0)
    return max(instrument.lot_size, instrument.round_down_quantity(size))


def timed_bar_updates(
    bar: Bar, instrument: Instrument, config: BookVenueConfig, duration_ns: int
) -> list[MarketUpdate]:
    """``bar`` as updates stamped across ``[bar.ts_ns, bar.ts_ns + duration_ns)``."""
    updates = bar_updates(
        bar,
        instrument,
        levels=config.levels,
        size_per_level=level_size(bar, instrument, config),
        spread_ticks=config.spread_ticks,
    )
    last = len(updates) - 1
    end = max(duration_ns - 1, 0)
    stamped: list[MarketUpdate] = []
    for i, update in enumerate(updates):
        offset = end if i == last else (end * i) // 3
        stamped.append(dataclasses.replace(update, ts_ns=bar.ts_ns + offset))
    return stamped
