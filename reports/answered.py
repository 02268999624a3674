"""Decisions completed by questionnaire: the compliance report's counts of the referrer loop.

One row per decision made from a referrer's answers in the period (its audit record's `answers`): which
decision it superseded, the outcome before and after, who answered, and the hours from the data request
(the superseded decision's recording) to the answer (the new decision's recording).
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from eligibility.audit import store

__all__ = ["ANSWERED_COLUMNS", "answered_row", "answered_summary"]

ANSWERED_COLUMNS: Final = {
    "decision_id": "str",
    "supersedes": "str",
    "answered_by": "str",
    "outcome_before": "str",
    "outcome_after": "str",
    "requested_at": "datetime64[us, UTC]",
    "answered_at": "datetime64[us, UTC]",
    "hours_to_answer": "float64",
}
_INSUFFICIENT = "INSUFFICIENT_INFORMATION"


def answered_row(record: store.StoredRecord) -> dict[str, Any] | None:
    """The row of a decision record made from answers; None for any other decision."""
    data = record.data()
    answers = data.get("answers")
    if not isinstance(answers, dict):
        return None
    return {
        "decision_id": record.decision_id,
        "supersedes": answers.get("supersedes"),
        "answered_by": answers.get("answered_by"),
        "outcome_before": answers.get("outcome_before"),
        "outcome_after": data["decision"]["outcome"],
        "requested_at": answers.get("requested_at"),
        "answered_at": record.created_at,
    }


def answered_summary(frame: pd.DataFrame) -> tuple[pd.DataFrame, int, int, float | None]:
    """(the table, decisions made from answers, of which completed — no longer INSUFFICIENT_INFORMATION —,
    median hours from request to answer)."""
    table = frame.copy()
    hours = (table["answered_at"] - table["requested_at"]).dt.total_seconds() / 3600.0
    table["hours_to_answer"] = hours.round(2).astype("float64")
    completed = int((table["outcome_after"] != _INSUFFICIENT).sum())
    known = table["hours_to_answer"].dropna()
    median = float(known.median()) if len(known) else None
    return table[list(ANSWERED_COLUMNS)], len(table), completed, median
