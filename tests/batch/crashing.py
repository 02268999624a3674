"""A chunk evaluator whose worker process dies on one patient, as a native crash would kill it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date

from eligibility.batch.worker import evaluate_chunk
from eligibility.service import Evaluated, Rejected

CRASH_MARKER_ENV = "DRG_TEST_CRASH_MARKER"


def evaluate_or_die(raws: Sequence[bytes], as_of: date, policy: str, read_all: bool) -> list[Evaluated | Rejected]:
    marker = os.environ[CRASH_MARKER_ENV].encode()
    if any(marker in raw for raw in raws):
        os._exit(70)  # no exception, no cleanup: the process is simply gone
    return evaluate_chunk(raws, as_of, policy, read_all)
