"""FHIR bytes to decision: the adapters at the edge, then the pure engine.

Every entry point (CLI, API, batch, replay) goes through here, so nothing in the decision can
differ between them for the same input, policy and as_of.
"""

from __future__ import annotations

from datetime import date

from eligibility.decision import Decision
from eligibility.engine import evaluate
from eligibility.errors import InputError
from eligibility.policy import Policy, load_policy
from fhir_adapters import ParsedInput, parse_input
from fhir_adapters.json_guard import MAX_YEAR, MIN_YEAR

__all__ = ["check_as_of", "decide", "decide_parsed", "prepare", "resolve_policy"]


def resolve_policy(policy: str | Policy | None) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(policy)


def prepare(raw: bytes | str) -> ParsedInput:
    """Parse and validate one patient's record; raises InputError subclasses for bad input."""
    return parse_input(raw)


def check_as_of(as_of: date) -> None:
    """The rules compute windows of months and years around as_of: near the calendar's ends
    (0001-01-01, 9999-12-31) that arithmetic overflowed. The record's dates are held to the same
    years (fhir_adapters.json_guard)."""
    if not MIN_YEAR <= as_of.year <= MAX_YEAR:
        raise InputError(
            f"asOf {as_of.isoformat()} is outside the years {MIN_YEAR}-{MAX_YEAR} the rules evaluate", location="asOf"
        )


def decide_parsed(
    parsed: ParsedInput,
    *,
    as_of: date,
    policy: str | Policy | None = None,
    decision_id: str,
    evaluated_at: str,
) -> Decision:
    check_as_of(as_of)
    return evaluate(
        parsed.record,
        policy=resolve_policy(policy),
        as_of=as_of,
        input_sha256=parsed.input_sha256,
        decision_id=decision_id,
        evaluated_at=evaluated_at,
    )


def decide(
    raw: bytes | str,
    *,
    as_of: date,
    policy: str | Policy | None = None,
    decision_id: str,
    evaluated_at: str,
) -> Decision:
    return decide_parsed(
        prepare(raw), as_of=as_of, policy=policy, decision_id=decision_id, evaluated_at=evaluated_at
    )
