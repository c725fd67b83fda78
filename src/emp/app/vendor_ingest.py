"""Ingest from market-data vendors (Yahoo, OpenBB): ranges, rules per instrument, fetching.

Dates are session dates, ``start`` inclusive and ``end`` exclusive. Without ``--start``,
an ingest is incremental: each symbol starts the day after its last stored bar. Without
``--end``, it ends today (UTC, from the clock adapter), so today's unfinished session is
never stored. Every symbol is fetched before anything is written: one failure writes
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from emp.adapters.yahoo import yahoo_kind
from emp.adapters.yahoo.symbols import YahooKind
from emp.app.errors import ConfigError
from emp.domain.bar_validation import RawBars, ValidationRules
from emp.domain.calendars import calendar_by_name, nyse_calendar, weekday_calendar
from emp.ports.bar_store import BarStorePort
from emp.ports.raw_bar_source import RawBarSourcePort

_NS_PER_DAY = 86_400_000_000_000


def parse_day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} expected a date like 2024-01-31, was {text!r}") from None


#: An explicit asset class (``emp ingest openbb --asset``) names the family outright.
_ASSET_KINDS = {"currency": YahooKind.FX, "index": YahooKind.INDEX, "crypto": YahooKind.CRYPTO}


def rules_for(
    symbol: str, *, calendar: str, adjusted: bool, max_move: float, asset: str | None = None
) -> ValidationRules:
    """Validation rules for a vendor symbol: by its family unless ``calendar`` is set.

    The family is ``asset``'s when it names one (``currency``, ``index``, ``crypto``: an
    OpenBB ``EURUSD`` is FX without Yahoo's ``=X``), else the Yahoo spelling's. Equities
    trade volume on NYSE sessions; indices and yields (``^TNX``) follow NYSE sessions
    without volume; FX trades every weekday without volume; futures and crypto trade on
    days no simple calendar describes, so only the value rules apply.
    """
    kind = _ASSET_KINDS.get(asset or "") or yahoo_kind(symbol)
    volume = kind in (YahooKind.EQUITY,)
    if calendar.strip().lower() == "none":
        chosen = None
    elif calendar.strip().lower() != "auto":
        chosen = calendar_by_name(calendar)
    elif kind in (YahooKind.EQUITY, YahooKind.INDEX):
        chosen = nyse_calendar()
    elif kind is YahooKind.FX:
        chosen = weekday_calendar()
    else:
        chosen = None
    return ValidationRules(
        calendar=chosen, require_volume=volume, adjusted=adjusted, max_move=max_move
    )


def default_start(bars: BarStorePort, symbol: str) -> dt.date | None:
    """The day after ``symbol``'s last stored bar (its session date), or None."""
    for item in bars.coverage():
        if item.symbol == symbol:
            return dt.date(1970, 1, 1) + dt.timedelta(days=item.last_ns // _NS_PER_DAY + 1)
    return None


def plan_ranges(
    symbols: Sequence[str],
    start: dt.date | None,
    end: dt.date,
    bars: BarStorePort,
) -> dict[str, tuple[dt.date, dt.date] | None]:
    """Each symbol's ``[start, end)``, or None when it is already up to date."""
    plan: dict[str, tuple[dt.date, dt.date] | None] = {}
    for symbol in dict.fromkeys(symbols):
        first = start or default_start(bars, symbol)
        if first is None:
            raise ConfigError(
                f"no bars of {symbol} are stored yet, so there is nothing to update from: "
                "give --start"
            )
        plan[symbol] = (first, end) if first < end else None
    return plan


def fetch_all(
    source: RawBarSourcePort,
    plan: dict[str, tuple[dt.date, dt.date] | None],
    on_symbol: Callable[[str], None] | None = None,
) -> dict[str, RawBars]:
    """Every planned symbol's raw rows (skipping the up-to-date ones)."""
    raw: dict[str, RawBars] = {}
    for symbol, window in plan.items():
        if window is not None:
            raw[symbol] = source.fetch(symbol, *window)
        if on_symbol is not None:
            on_symbol(symbol)
    return raw


def yahoo_source(
    *,
    interval: str,
    adjusted: bool,
    offline: bool,
    cache_dir: Path,
    timeout_s: float,
    retries: int,
) -> RawBarSourcePort:
    from emp.adapters.yahoo import YahooBarSource, YahooCache

    return YahooBarSource(
        interval=interval,
        adjusted=adjusted,
        cache=YahooCache(cache_dir),
        offline=offline,
        timeout_s=timeout_s,
        retries=retries,
    )


def openbb_source(
    *,
    asset: str,
    provider: str,
    interval: str,
    adjusted: bool,
    retries: int,
    timezone: str | None = None,
) -> RawBarSourcePort:
    from emp.adapters.openbb import OpenBBBarSource

    return OpenBBBarSource(
        asset=asset,
        provider=provider,
        interval=interval,
        adjusted=adjusted,
        retries=retries,
        timezone=timezone,
    )
