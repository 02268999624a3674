"""The one owner of the process-global durable_rules host.

Everything that touches durable_rules goes through here, so its known hazards are handled once
(design/engineering-notes.md §1):
- the background dispatcher thread segfaults when sessions come and go: disabled before the first
  ruleset is defined (we use no timers);
- a ruleset holds at most 1024 live sessions: one session id per evaluation, deleted in `finally`;
- exceptions in actions are swallowed into the session state: checked after every assert;
- the host holds the GIL and is not thread-safe for us: one lock around each evaluation.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import durable.engine

from eligibility.errors import EngineError

durable.engine.Host._run = lambda self: None  # must happen before any ruleset exists

from durable.lang import assert_facts, delete_state, get_host  # noqa: E402

__all__ = ["FIRED", "assert_batch", "rule_number", "rule_state"]

# sid -> [(rule_id, fid)], appended by rule actions, drained by the session that owns the sid.
FIRED: dict[str, list[tuple[str, int]]] = {}
_LOCK = threading.Lock()
_COUNTER = itertools.count(1)


@contextmanager
def rule_state(ruleset: str) -> Iterator[str]:
    """A fresh rule state (durable_rules: a session id) for one evaluation, deleted whatever happens."""
    with _LOCK:
        sid = f"{os.getpid()}-{next(_COUNTER)}"
        FIRED[sid] = []
        try:
            yield sid
        finally:
            FIRED.pop(sid, None)
            # A session that never received a fact has no state to delete.
            with suppress(Exception):
                delete_state(ruleset, sid)


# durable_rules reads facts as JSON in C and misreads numbers in exponent notation: a pain score of
# 1e-05 or 5e-324 (Python writes both with an exponent) made the facts after it unmatched ("the rules
# gave 0 answers for the label status"). Every number a rule sees is therefore written without an
# exponent: floats rounded to 4 decimals (tinier magnitudes are 0), magnitudes capped at 1e15.
_CAP = 1e15
_TINY = 1e-4


def rule_number(value: float | int) -> float | int:
    """`value` as durable_rules can read it (see above); bools and small ints unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return max(min(value, int(_CAP)), -int(_CAP))
    if not math.isfinite(value):
        return _CAP if value > 0 else -_CAP
    if abs(value) >= _CAP:
        return _CAP if value > 0 else -_CAP
    if abs(value) < _TINY:
        return 0.0
    return round(value, 4)


def _readable(fact: dict[str, Any]) -> dict[str, Any]:
    return {key: rule_number(value) if isinstance(value, int | float) else value for key, value in fact.items()}


def assert_batch(ruleset: str, sid: str, facts: Sequence[dict[str, Any]]) -> None:
    """Assert facts into the session and surface anything the rules swallowed."""
    try:
        assert_facts(ruleset, [{**_readable(fact), "sid": sid} for fact in facts])
    except Exception as exc:
        raise EngineError(f"rules {ruleset} could not evaluate: {exc}") from exc
    state = get_host().get_state(ruleset, sid)
    if state.get("exception"):
        raise EngineError(f"a rule action of {ruleset} failed: {state['exception']}")
