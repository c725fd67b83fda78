"""Exchange session calendars as dates: which days an exchange trades, and which are missing.

A :class:`SessionCalendar` answers questions about *session dates* only (numpy
``datetime64[D]``). Mapping an intraday UTC timestamp to its session date needs the
exchange's time zone; the calendar carries its IANA name (:attr:`SessionCalendar.timezone`)
for the adapters to apply, so this module stays pure (stdlib and numpy, no time-zone
database, no clock).

EMP's convention for stored bars: a daily bar is stamped at 00:00 UTC of its exchange
session date, so the UTC date of a daily bar *is* its session date; an intraday bar is
stamped at its true UTC open time and its session date is the exchange-local date.

:func:`nyse_calendar` is a simple NYSE-like calendar: Monday to Friday minus the NYSE's
full-day holidays computed by rule (New Year's Day, Martin Luther King Jr. Day,
Washington's Birthday, Good Friday, Memorial Day, Juneteenth from 2022, Independence Day,
Labor Day, Thanksgiving, Christmas, with the NYSE's weekend observance rules) plus the
special closures listed in :data:`NYSE_SPECIAL_CLOSURES`. Early closes (half days) are
ordinary sessions here. It is good from 1990 on; before that the rule set differs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from emp.domain.errors import InvalidConfiguration

#: Days the NYSE closed outside its holiday rules (national mourning, weather, 9/11).
NYSE_SPECIAL_CLOSURES: tuple[dt.date, ...] = (
    dt.date(1994, 4, 27),  # President Nixon's funeral
    dt.date(2001, 9, 11),
    dt.date(2001, 9, 12),
    dt.date(2001, 9, 13),
    dt.date(2001, 9, 14),
    dt.date(2004, 6, 11),  # President Reagan's funeral
    dt.date(2007, 1, 2),  # President Ford's funeral
    dt.date(2012, 10, 29),  # Hurricane Sandy
    dt.date(2012, 10, 30),
    dt.date(2018, 12, 5),  # President G. H. W. Bush's funeral
    dt.date(2025, 1, 9),  # President Carter's funeral
)

_WEEKDAYS = "1111100"


def _as_days(values: Iterable[dt.date] | np.ndarray) -> np.ndarray:
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values).astype(
        "datetime64[D]"
    )


@dataclass(frozen=True, slots=True, eq=False)
class SessionCalendar:
    """The session dates of one exchange: a weekmask minus holidays.

    Args:
        name: a short name recorded with data (``"NYSE"``, ``"FX24x5"``).
        timezone: the exchange's IANA time-zone name, for adapters that map intraday
            timestamps to session dates (the calendar itself never converts).
        holidays: dates that are not sessions although the weekmask allows them.
        weekmask: seven ``0``/``1`` characters, Monday first (``"1111100"``: Mon–Fri).
    """

    name: str
    timezone: str
    holidays: tuple[dt.date, ...] = ()
    weekmask: str = _WEEKDAYS
    _busdays: np.busdaycalendar = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidConfiguration("a session calendar needs a non-empty name")
        if len(self.weekmask) != 7 or set(self.weekmask) - {"0", "1"} or "1" not in self.weekmask:
            raise InvalidConfiguration(
                f"weekmask expected seven 0/1 characters with at least one 1, was {self.weekmask!r}"
            )
        holidays = _as_days(sorted(set(self.holidays)))
        object.__setattr__(
            self, "_busdays", np.busdaycalendar(weekmask=self.weekmask, holidays=holidays)
        )

    def is_session(self, days: np.ndarray) -> np.ndarray:
        """A boolean per date in ``days`` (``datetime64[D]``): is it a session?"""
        return np.is_busday(_as_days(days), busdaycal=self._busdays)

    def sessions(self, first: dt.date | np.datetime64, last: dt.date | np.datetime64) -> np.ndarray:
        """Every session date from ``first`` to ``last``, both included, in order."""
        start = np.datetime64(first, "D")
        stop = np.datetime64(last, "D") + np.timedelta64(1, "D")
        if stop <= start:
            return np.empty(0, dtype="datetime64[D]")
        days = np.arange(start, stop, dtype="datetime64[D]")
        return days[self.is_session(days)]

    def missing_sessions(self, days: np.ndarray) -> np.ndarray:
        """Sessions between the earliest and latest of ``days`` that ``days`` lacks."""
        present = np.unique(_as_days(days))
        if present.size == 0:
            return np.empty(0, dtype="datetime64[D]")
        expected = self.sessions(present[0], present[-1])
        return np.setdiff1d(expected, present, assume_unique=True)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th (1-based; -1 for the last) ``weekday`` (Monday 0) of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        offset = (weekday - first.weekday()) % 7
        return first + dt.timedelta(days=offset + 7 * (n - 1))
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def easter_sunday(year: int) -> dt.date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month = (h + el - 7 * m + 114) // 31
    day = (h + el - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def _observed(day: dt.date) -> dt.date:
    """The NYSE's observance: Saturday moves to Friday, Sunday to Monday."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def nyse_holidays(year: int) -> list[dt.date]:
    """The NYSE's full-day holidays of ``year`` by rule (special closures excluded)."""
    days = []
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:  # a Saturday New Year's Day is not observed on Dec 31
        days.append(_observed(new_year))
    days.append(_nth_weekday(year, 1, 0, 3))  # Martin Luther King Jr. Day
    days.append(_nth_weekday(year, 2, 0, 3))  # Washington's Birthday
    days.append(easter_sunday(year) - dt.timedelta(days=2))  # Good Friday
    days.append(_nth_weekday(year, 5, 0, -1))  # Memorial Day
    if year >= 2022:
        days.append(_observed(dt.date(year, 6, 19)))  # Juneteenth
    days.append(_observed(dt.date(year, 7, 4)))
    days.append(_nth_weekday(year, 9, 0, 1))  # Labor Day
    days.append(_nth_weekday(year, 11, 3, 4))  # Thanksgiving
    days.append(_observed(dt.date(year, 12, 25)))
    return sorted(days)


def nyse_calendar(first_year: int = 1990, last_year: int = 2040) -> SessionCalendar:
    """A NYSE-like calendar (see the module docstring) for ``first_year``..``last_year``."""
    if last_year < first_year:
        raise InvalidConfiguration(
            f"last_year expected >= first_year ({first_year}), was {last_year}"
        )
    holidays = [day for year in range(first_year, last_year + 1) for day in nyse_holidays(year)]
    holidays.extend(NYSE_SPECIAL_CLOSURES)
    return SessionCalendar(name="NYSE", timezone="America/New_York", holidays=tuple(holidays))


def weekday_calendar(name: str = "FX24x5", timezone: str = "UTC") -> SessionCalendar:
    """Monday to Friday without holidays (FX, most rates series)."""
    return SessionCalendar(name=name, timezone=timezone)


#: The calendar for each name accepted by the CLI and the ingest configuration.
CALENDAR_NAMES: tuple[str, ...] = ("NYSE", "FX24x5")


def calendar_by_name(name: str) -> SessionCalendar:
    """The calendar called ``name`` (one of :data:`CALENDAR_NAMES`, case-insensitive)."""
    key = name.strip().upper()
    if key == "NYSE":
        return nyse_calendar()
    if key == "FX24X5":
        return weekday_calendar()
    raise InvalidConfiguration(
        f"calendar expected one of {', '.join(CALENDAR_NAMES)}, was {name!r}"
    )
