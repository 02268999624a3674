"""The audit trail's only clock, and the one timestamp format it stores.

Timestamps are fixed-width UTC strings (`2026-06-01T09:30:00.123456Z`) so that they sort and compare
as text identically on SQLite and PostgreSQL, and hash identically everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

__all__ = ["iso_utc", "parse_bound", "utc_now", "utc_now_iso"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now_iso() -> str:
    return iso_utc(utc_now())


def parse_bound(text: str, *, upper: bool) -> str:
    """A `--from`/`--to` value as a stored-timestamp bound.

    A bare date means the whole day: as a lower bound its first instant, as an upper bound the first
    instant of the next day (exclusive). A datetime without a zone is read as UTC.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return iso_utc(start + timedelta(days=1) if upper else start)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO date or datetime: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso_utc(moment)
