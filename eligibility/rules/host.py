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
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import durable.engine

from eligibility.errors import EngineError

durable.engine.Host._run = lambda self: None  # must happen before any ruleset exists

from durable.lang import assert_facts, delete_state, get_host  # noqa: E402

__all__ = ["FIRED", "assert_batch", "session"]

# sid -> [(rule_id, fid)], appended by rule actions, drained by the session that owns the sid.
FIRED: dict[str, list[tuple[str, int]]] = {}
_LOCK = threading.Lock()
_COUNTER = itertools.count(1)


@contextmanager
def session(ruleset: str) -> Iterator[str]:
    """A fresh session id for one evaluation; its state is deleted whatever happens."""
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


def assert_batch(ruleset: str, sid: str, facts: Sequence[dict[str, Any]]) -> None:
    """Assert facts into the session and surface anything the rules swallowed."""
    try:
        assert_facts(ruleset, [{**fact, "sid": sid} for fact in facts])
    except Exception as exc:
        raise EngineError(f"rules {ruleset} could not evaluate: {exc}") from exc
    state = get_host().get_state(ruleset, sid)
    if state.get("exception"):
        raise EngineError(f"a rule action of {ruleset} failed: {state['exception']}")
