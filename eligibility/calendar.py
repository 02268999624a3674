"""Calendar arithmetic of spec §6: calendar months, whole years on the day, inclusive windows."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

__all__ = [
    "add_months",
    "age_in_years",
    "days",
    "days_in_words",
    "in_window",
    "months_before",
    "span_in_words",
    "whole_months_between",
]


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months; the day of month is clamped (Aug 31 - 6 mo = Feb 28)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def months_before(day: date, months: int) -> date:
    return add_months(day, -months)


def whole_months_between(start: date, end: date) -> int:
    """The largest k with start <= end - k calendar months (negative when start is after end).

    So `whole_months_between(onset, as_of) >= 6` is exactly "onset <= as_of minus 6 months".
    """
    k = (end.year - start.year) * 12 + (end.month - start.month) + 1
    while months_before(end, k) < start:
        k -= 1
    return k


def age_in_years(birth: date, on: date) -> int:
    """Whole years on the day: 18 on the 18th birthday (a 29 Feb birthday counts on 28 Feb)."""
    years = on.year - birth.year
    birthday = add_months(birth, 12 * years)
    return years if birthday <= on else years - 1


def days(n: float) -> timedelta:
    return timedelta(days=n)


def in_window(day: date | None, start: date, end: date) -> bool:
    """Both ends included (spec §6)."""
    return day is not None and start <= day <= end


def days_in_words(count: int) -> str:
    """A policy's window for people: 28 -> "4 weeks", 30 -> "30 days" (weeks only when exact)."""
    if count % 7 == 0 and count >= 7:
        weeks = count // 7
        return f"{weeks} week{'s' if weeks != 1 else ''}"
    return f"{count} day{'s' if count != 1 else ''}"


def span_in_words(first: int, last: int) -> str:
    """A window from `first` to `last` days after an event: 14, 84 -> "2-12 weeks"."""
    if first % 7 == 0 and last % 7 == 0 and first >= 7:
        return f"{first // 7}-{last // 7} weeks"
    return f"{first}-{last} days"
