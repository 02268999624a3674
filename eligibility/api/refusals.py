"""A limit on how much a stranger can make the audit trail record: refused unauthenticated calls.

Every refused call is recorded, and the trail is append-only, so an unauthenticated client could
grow it without bound (10 refused CDS calls once added 10 MB). Fields are bounded in the store
(audit/bounds.py); this bounds the number of records. Per client address, the first `burst` refused
unauthenticated calls in each window of `window_s` seconds are recorded one by one; the rest are
answered 429 (Retry-After: the rest of the window) and counted, and when the window closes one
summary record says how many there were, when, and what the first of them was. Authenticated
callers are never throttled here: their refusals are their own, and they are recorded in full.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from eligibility.audit.bounds import bounded
from eligibility.audit.clock import utc_now_iso

__all__ = ["RefusalLimiter", "Summary"]

_MAX_ADDRESSES = 10_000  # beyond, the oldest windows are closed early (their summary is written)


@dataclass(frozen=True, slots=True)
class Summary:
    """Refused calls from one address that were answered 429 and not recorded one by one."""

    address: str
    count: int
    first_at: str
    last_at: str
    first_error: str

    def message(self, burst: int, window_s: float) -> str:
        return (
            f"{self.count} further refused unauthenticated call(s) from {self.address} between {self.first_at} "
            f"and {self.last_at} were answered 429 and not recorded one by one (limit {burst} per {window_s:g} s); "
            f"the first: {self.first_error}"
        )


@dataclass(slots=True)
class _Window:
    started: float
    recorded: int = 0
    suppressed: int = 0
    first_at: str = ""
    last_at: str = ""
    first_error: str = ""

    def summary(self, address: str) -> Summary | None:
        if not self.suppressed:
            return None
        return Summary(address, self.suppressed, self.first_at, self.last_at, self.first_error)


class RefusalLimiter:
    """Decides, per client address, whether a refused call is recorded or throttled."""

    def __init__(self, *, burst: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.window_s = window_s
        self._clock = clock  # monotonic: the window is a duration, not a date
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def admit(self, address: str, error: BaseException) -> tuple[float | None, list[Summary]]:
        """(None: record this refusal | seconds until the window closes: answer 429), and the
        summaries of windows that closed, which the caller records."""
        now = self._clock()
        with self._lock:
            closed = self._close_expired(now)
            window = self._windows.get(address)
            if window is None:
                window = self._windows[address] = _Window(started=now)
            if window.recorded < self.burst:
                window.recorded += 1
                return None, closed
            stamp = utc_now_iso()  # the clock of the audit trail, read at the edge
            if not window.suppressed:
                window.first_at = stamp
                window.first_error = bounded(f"{type(error).__name__}: {error}", 300) or ""
            window.suppressed += 1
            window.last_at = stamp
            return max(window.started + self.window_s - now, 0.0), closed

    def drain(self) -> list[Summary]:
        """Every pending summary (at shutdown)."""
        with self._lock:
            summaries = [s for address, w in self._windows.items() if (s := w.summary(address)) is not None]
            self._windows.clear()
        return summaries

    def _close_expired(self, now: float) -> list[Summary]:
        closed: list[Summary] = []
        expired = [a for a, w in self._windows.items() if now - w.started >= self.window_s]
        if len(self._windows) - len(expired) >= _MAX_ADDRESSES:
            oldest = sorted(self._windows, key=lambda a: self._windows[a].started)
            expired = oldest[: len(self._windows) - _MAX_ADDRESSES + 1]
        for address in expired:
            summary = self._windows.pop(address).summary(address)
            if summary is not None:
                closed.append(summary)
        return closed
