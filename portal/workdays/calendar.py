"""Chinese working days: the one adapter around the official holiday calendar.

Working days follow the State Council schedule, make-up working weekends (调休)
included; the start day of a deadline is not counted. ``chinesecalendar`` knows
the schedule for the years it ships; an administrator enters the official dates
for later years (the schedule is published late each year). When a count runs
into a year nobody knows yet, the answer says so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

ONE_DAY = timedelta(days=1)

# Per-year flags, index = day of year - 1; None means "year not known".
YearFlags = tuple[bool, ...] | None


class BeyondKnownCalendar(Exception):
    """A date lies in a year whose official holiday schedule is not known."""

    def __init__(self, year: int):
        super().__init__(f"no official holiday schedule is known for {year}")
        self.year = year


@dataclass(frozen=True)
class OfficialDay:
    """A date from the State Council schedule entered by a province administrator."""

    day: date
    is_working_day: bool


@dataclass(frozen=True)
class Deadline:
    """The result of counting working days: a date, or where the known calendar ends."""

    due_on: date | None
    known_until: date | None = None
    missing_year: int | None = None

    @property
    def is_beyond_known_calendar(self) -> bool:
        """True when the count ran into a year with no known schedule."""
        return self.due_on is None


def _day_index(day: date) -> int:
    """Zero-based position of ``day`` within its year."""
    return day.toordinal() - date(day.year, 1, 1).toordinal()


def _days_of_year(year: int) -> list[date]:
    """Every date of ``year`` in order."""
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range(_day_index(date(year, 12, 31)) + 1)]


@lru_cache(maxsize=64)
def _chinese_calendar_year(year: int) -> YearFlags:
    """chinesecalendar's working-day flags for ``year``, or None if it has no data."""
    # Probe instead of hard-coding the last year, so upgrading the package
    # extends the known calendar by itself. The cache makes each year cost one
    # pass per process: the data is static and counting runs on hot pages.
    try:
        return tuple(chinese_calendar.is_workday(day) for day in _days_of_year(year))
    except NotImplementedError:
        return None


def _ordinary_year(year: int) -> tuple[bool, ...]:
    """Monday to Friday working, weekends rest: the rule outside official entries."""
    return tuple(day.weekday() < 5 for day in _days_of_year(year))


class WorkingCalendar:
    """Answers working-day questions from chinesecalendar plus administrator entries."""

    def __init__(self, official_days: Iterable[OfficialDay] = (), published_years: Iterable[int] = ()):
        self._published = frozenset(published_years)
        self._official: dict[int, dict[date, bool]] = {}
        for entry in official_days:
            self._add_official(entry)
        self._years: dict[int, YearFlags] = {}

    def _add_official(self, entry: OfficialDay) -> None:
        """Record one entry; contradictory duplicates are an input error, not a choice."""
        by_day = self._official.setdefault(entry.day.year, {})
        if by_day.get(entry.day, entry.is_working_day) != entry.is_working_day:
            raise ValueError(f"contradictory official entries for {entry.day.isoformat()}")
        by_day[entry.day] = entry.is_working_day

    def _flags(self, year: int) -> YearFlags:
        """Working-day flags for ``year`` with official entries applied, cached."""
        if year not in self._years:
            self._years[year] = self._build_flags(year)
        return self._years[year]

    def _build_flags(self, year: int) -> YearFlags:
        """Merge chinesecalendar (or the ordinary rule for a published year) with entries."""
        base = _chinese_calendar_year(year)
        if base is None:
            # A few entries do not make a year known: any other date of it
            # could still be a holiday until the whole schedule is published.
            if year not in self._published:
                return None
            base = _ordinary_year(year)
        flags = list(base)
        for day, working in self._official.get(year, {}).items():
            flags[_day_index(day)] = working
        return tuple(flags)

    def is_known(self, day: date) -> bool:
        """True if the official schedule for ``day``'s year is known."""
        return self._flags(day.year) is not None

    def is_working_day(self, day: date) -> bool:
        """True if ``day`` is a working day; raises BeyondKnownCalendar for unknown years."""
        flags = self._flags(day.year)
        if flags is None:
            raise BeyondKnownCalendar(day.year)
        return flags[_day_index(day)]

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The date ``n`` working days after ``start`` (start not counted)."""
        if n < 1:
            raise ValueError("n must be at least 1 working day")
        day, remaining = start, n
        while remaining:
            day += ONE_DAY
            flags = self._flags(day.year)
            if flags is None:
                return Deadline(due_on=None, known_until=day - ONE_DAY, missing_year=day.year)
            if flags[_day_index(day)]:
                remaining -= 1
        return Deadline(due_on=day)

    def working_days_between(self, start: date, end: date) -> int | None:
        """Working days after ``start`` up to and including ``end``; None if any is unknown."""
        # An end on or before start (e.g. an overdue step) leaves 0 working days.
        count, day = 0, start + ONE_DAY
        while day <= end:
            flags = self._flags(day.year)
            if flags is None:
                return None
            last = min(end, date(day.year, 12, 31))
            count += sum(flags[_day_index(day) : _day_index(last) + 1])
            day = last + ONE_DAY
        return count
