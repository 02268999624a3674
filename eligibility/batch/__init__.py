"""Population screening over a FHIR Bulk Data export (`drg-eligibility batch`).

    from eligibility.batch import BatchOptions, run_batch
    summary = run_batch(BatchOptions(Path("export"), Path("decisions.ndjson"), as_of=date(2026, 6, 1), workers=2))

Every patient gets the decision the single-patient path gives for the same resources (the same
`evaluate_one`, on a Bundle of exactly the exported lines), recorded in the audit trail before it is
written out. See runner.py for the passes and output.py for the exactly-once resume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import BatchOptions, run_batch
    from .summary import BatchSummary

__all__ = ["BatchOptions", "BatchSummary", "run_batch"]


def __getattr__(name: str) -> Any:
    # Lazy: the runner pulls in the audit store, Dask and the engine; `drg-eligibility --help` imports
    # eligibility.commands.batch and needs none of them.
    if name in ("BatchOptions", "run_batch"):
        from . import runner

        return getattr(runner, name)
    if name == "BatchSummary":
        from .summary import BatchSummary

        return BatchSummary
    raise AttributeError(name)
