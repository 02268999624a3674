"""FHIR bytes to decision: the adapters at the edge, then the pure engine.

Every entry point (CLI, API, batch, replay) goes through here, so nothing in the decision can
differ between them for the same input, policy and as_of.

What is validated is what the policy reads (its `ReadSet`, the one batch uses); `read_all=True`
validates every resource of a read type instead. Both give the same decision for the same input
(tests/test_reading_path.py); they differ only in whether a problem in an unread resource is a
warning (`ParsedInput.unread_problems`) or rejects the input.
"""

from __future__ import annotations

from datetime import date

from eligibility.decision import Decision
from eligibility.engine import evaluate
from eligibility.errors import InputError
from eligibility.policy import Policy, load_policy
from fhir_adapters import ParsedInput, parse_input
from fhir_adapters.json_guard import MAX_YEAR, MIN_YEAR
from fhir_adapters.read_set import ReadSet

__all__ = ["check_as_of", "decide", "decide_parsed", "prepare", "resolve_policy"]


def resolve_policy(policy: str | Policy | None) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(policy)


_READ_SETS: dict[tuple[str, str], ReadSet] = {}


def _read_set(policy: Policy) -> ReadSet:
    """The policy's ReadSet, derived from its own value sets (whichever version), once per process."""
    key = (policy.key, policy.sha256)
    found = _READ_SETS.get(key)
    if found is None:
        found = _READ_SETS[key] = ReadSet.for_policy(policy)
    return found


def prepare(raw: bytes | str, *, policy: str | Policy | None = None, read_all: bool = False) -> ParsedInput:
    """Parse one patient's record, validating what `policy` reads (everything read with `read_all`).

    Raises InputError subclasses for bad input.
    """
    if read_all:
        return parse_input(raw)
    return parse_input(raw, reads=_read_set(resolve_policy(policy)))


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
        parsed.facts,
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
    read_all: bool = False,
) -> Decision:
    chosen = resolve_policy(policy)
    return decide_parsed(
        prepare(raw, policy=chosen, read_all=read_all),
        as_of=as_of,
        policy=chosen,
        decision_id=decision_id,
        evaluated_at=evaluated_at,
    )
