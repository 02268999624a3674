"""Test-only evaluators run inside the worker processes (importable, so spawn workers can load them).

A body starting with ABORT makes the worker call os.abort() (what a native crash in durable_rules
looks like from outside); HANG:<path> writes the worker's pid to <path> and sleeps, so that a test
can kill it mid-request or let the evaluation timeout fire. Anything else is evaluated normally.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

from eligibility.service import Evaluated, Rejected, evaluate_one


def evaluate_or_crash(
    raw: bytes, *, as_of: date, policy: str | None = None, read_all: bool = False
) -> Evaluated | Rejected:
    if raw.startswith(b"ABORT"):
        os.abort()
    if raw.startswith(b"HANG:"):
        Path(raw[5:].decode()).write_text(str(os.getpid()))
        time.sleep(120)
    return evaluate_one(raw, as_of=as_of, policy=policy, read_all=read_all)
