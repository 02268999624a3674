"""Warnings a reviewer needs on a criterion: data that was on record but could not be used.

An out-of-range latest pain score (11, -5, 1e308) used to be skipped silently: the criterion named
an older score, and nothing told the reviewer why the newest one was not it. Skipped scores in the
severity window, on or after the score that was used, now say so in the criterion's reason and in
its `warnings` (the decision record; empty lists are left out of the JSON, so records without
warnings keep their shape and replay).
"""

from __future__ import annotations

from datetime import timedelta

from eligibility.decision import Criterion
from eligibility.derive.context import Context, fmt_score

__all__ = ["with_pain_score_warnings"]


def with_pain_score_warnings(criterion: Criterion, ctx: Context) -> Criterion:
    """The pain_severity criterion, with skipped out-of-range scores that would have been the latest."""
    if criterion.id != "pain_severity" or not ctx.skipped_pain_scores:
        return criterion
    start = ctx.as_of - timedelta(days=int(ctx.t("pain_severity_window_days")))
    used = ctx.scores_between(start, ctx.as_of)
    latest_used = max((s.day for s in used), default=None)
    skipped = sorted(
        (
            s
            for s in ctx.skipped_pain_scores
            if start <= s.day <= ctx.as_of and (latest_used is None or s.day >= latest_used)
        ),
        key=lambda s: (s.day, s.reference),
    )
    if not skipped:
        return criterion
    warnings = [
        f"{s.reference}: pain score {fmt_score(s.value)} on {s.day.isoformat()} is outside 0-10 and was not used"
        + ("; the latest score in range was used instead" if used else "")
        for s in skipped
    ]
    newest = skipped[-1]
    note = (
        f" A {'later ' if used else ''}pain score of {fmt_score(newest.value)} on {newest.day.isoformat()} "
        f"({newest.reference}) is outside 0-10 and was not used."
    )
    return criterion.model_copy(update={"reason": criterion.reason + note, "warnings": warnings})
