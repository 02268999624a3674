"""FHIR date / dateTime / instant strings -> the calendar date as written.

No timezone conversion: "2019-05-01T23:30:00-05:00" is 1 May 2019, the day the clinician saw, not the
UTC day. Partial dates ("2019", "2019-05") map to the first day of their period by default; callers
that need the conservative reading of a *start* (Condition onset) use `last_day` instead.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Any

__all__ = ["add_months", "day_before", "first_day", "last_day"]

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def _parts(value: str) -> tuple[int, int | None, int | None]:
    match = _DATE.match(value)
    if match is None:
        raise ValueError(f"not a FHIR date: {value!r}")
    year, month, day = match.groups()
    return int(year), int(month) if month else None, int(day) if day else None


def first_day(value: Any) -> date | None:
    """The date written, or the first day of a partial date; None when no string is given."""
    if not isinstance(value, str):
        return None
    year, month, day = _parts(value)
    return date(year, month or 1, day or 1)


def last_day(value: Any) -> date | None:
    """The date written, or the last day of a partial date ("2019-02" -> 2019-02-28)."""
    if not isinstance(value, str):
        return None
    year, month, day = _parts(value)
    if month is None:
        return date(year, 12, 31)
    if day is None:
        return date(year, month, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def add_months(start: date, months: int) -> date:
    """Calendar month arithmetic, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    total = start.year * 12 + (start.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def day_before(value: date) -> date:
    return value - timedelta(days=1)
