"""The one vocabulary of review reasons: why a clinician accepted or overrode a decision.

The web form, the CLI (`audit review --reason`), the API and the CDS card's override reasons all use
these codes, and `service.record_review` refuses any other, so every review record can be counted by
reason. It is product data, not part of a policy version: the words of a review must not change with
the policy of the decision reviewed.
"""

from __future__ import annotations

__all__ = ["REVIEW_REASONS", "check_reason"]

REVIEW_REASONS: dict[str, str] = {
    "agree": "Agrees with the recommendation",
    "clinical-judgement": "Clinical judgement",
    "data-incorrect": "The record's data is incorrect or incomplete",
    "patient-preference": "Patient preference",
    "payer-requirement": "Payer requirement",
    "outcome-documented-elsewhere": "A treatment outcome is documented outside the record",
    "trial-data-incomplete": "The trial's pain data is incomplete",
    "second-opinion": "Second opinion",
    "other": "Other (explain in the comment)",
}


def check_reason(code: str) -> str | None:
    """None when `code` is a review reason; else the sentence saying which codes are."""
    if code in REVIEW_REASONS:
        return None
    return f"reason {code!r} is not a review reason; use one of {', '.join(REVIEW_REASONS)}"
