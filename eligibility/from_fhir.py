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

from eligibility.calendar import add_months
from eligibility.decision import Decision
from eligibility.engine import evaluate
from eligibility.errors import InputError
from eligibility.policy import Policy, load_policy
from fhir_adapters import ParsedInput, parse_input
from fhir_adapters.json_guard import MAX_YEAR, MIN_YEAR
from fhir_adapters.read_set import ReadSet

__all__ = [
    "MAX_MONTHS_AHEAD",
    "check_as_of",
    "check_as_of_ahead",
    "decide",
    "decide_parsed",
    "prepare",
    "resolve_policy",
]

# How far past today an evaluation day may be: far enough to plan a clinic date, not so far that a
# typo (2062 for 2026) yields a decision about a patient nobody has seen. Spec §6 windows end at as_of.
MAX_MONTHS_AHEAD = 12


def resolve_policy(policy: str | Policy | None) -> Policy:
    """A policy object, a reference such as "drg-clinic@1.0.0", or None for the configured default."""
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


def check_as_of_ahead(as_of: date, *, today: date) -> None:
    """Refuse an evaluation day more than MAX_MONTHS_AHEAD after `today`.

    `today` is a parameter: the CLI and the API read the clock at their edge and pass it in; the engine
    (and replay, which re-runs a recorded as_of years later) never does.
    """
    latest = add_months(today, MAX_MONTHS_AHEAD)
    if as_of > latest:
        raise InputError(
            f"asOf {as_of.isoformat()} is more than a year after today ({today.isoformat()}); "
            f"the latest evaluation day accepted is {latest.isoformat()}",
            location="asOf",
        )


def _check_as_of_after_birth(as_of: date, birth: date | None) -> None:
    """An evaluation day before the patient was born gave "Aged -79": refuse it instead of deciding."""
    if birth is not None and as_of < birth:
        raise InputError(
            f"asOf {as_of.isoformat()} is before the patient's birth date ({birth.isoformat()}); "
            "give the day the patient is evaluated",
            location="asOf",
        )


def decide_parsed(
    parsed: ParsedInput,
    *,
    as_of: date,
    policy: str | Policy | None = None,
    decision_id: str,
    evaluated_at: str,
) -> Decision:
    """Decide on an already parsed record (the service parses once, records, then decides)."""
    check_as_of(as_of)
    _check_as_of_after_birth(as_of, parsed.facts.patient.birth_date)
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
    """FHIR R4 bytes (a Bundle or one Patient) to a decision: parse and validate what the policy reads,
    then `evaluate`. Raises InputError subclasses for bad input; see eligibility/__init__.py."""
    chosen = resolve_policy(policy)
    return decide_parsed(
        prepare(raw, policy=chosen, read_all=read_all),
        as_of=as_of,
        policy=chosen,
        decision_id=decision_id,
        evaluated_at=evaluated_at,
    )
