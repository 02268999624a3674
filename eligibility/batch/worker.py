"""What runs in a worker process (local or Dask): evaluate a chunk of submissions, nothing else.

Workers never touch the audit trail or the output; the parent records every result. Importing this
module imports the engine, which defines the rulesets - that is how a spawned or Dask worker gets them.
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Callable, Sequence
from datetime import date

from eligibility.errors import EngineError
from eligibility.service import Evaluated, Rejected, evaluate_one

__all__ = ["ChunkEvaluator", "evaluate_chunk"]

# Module-level and picklable by reference, so a pool or a cluster can run it: (raws, as_of, policy, read_all).
ChunkEvaluator = Callable[[Sequence[bytes], date, str, bool], list[Evaluated | Rejected]]


_heap_frozen = False


def evaluate_chunk(
    raws: Sequence[bytes], as_of: date, policy: str, read_all: bool = False
) -> list[Evaluated | Rejected]:
    """`evaluate_one` for each submission, in order. Rejections come back without their bytes (the
    parent has them) and with an error that survives pickling. `read_all`: the run's --read-all."""
    results: list[Evaluated | Rejected] = []
    for raw in raws:
        result = evaluate_one(raw, as_of=as_of, policy=policy, read_all=read_all)
        if isinstance(result, Rejected):
            result = Rejected(error=_portable(result.error), raw=b"", as_of=result.as_of, policy=result.policy)
        results.append(result)
    _freeze_heap_once()
    return results


def _freeze_heap_once() -> None:
    """After the first chunk, the FHIR model classes, validators and rulesets are all loaded: freeze
    them out of the cyclic GC, which otherwise re-walks them on every full collection while a patient's
    thousands of short-lived dicts and models trigger collections (measured: ≈20 % of a worker's time)."""
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        _heap_frozen = True


def _portable(error: Exception) -> Exception:
    """The error itself when it pickles (the product's errors do), else an EngineError naming it."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return EngineError(f"{type(error).__name__}: {error}")
    return error
