"""Replay a recorded decision; what-if past decisions under another installed policy version."""

from __future__ import annotations

from datetime import date

import pytest
from audit_helpers import AS_OF, bundle, factory_for, tamper
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from eligibility import service
from eligibility.audit import store
from eligibility.audit.database import read_session
from eligibility.audit.replay import replay
from eligibility.audit.whatif import whatif
from eligibility.decision import Decision
from eligibility.errors import AuditError, InputError, PolicyError
from eligibility.from_fhir import decide, prepare

CASES = ("crps-foot-eligible", "pain-duration-five-months", "esi-no-outcome")


def record_cases(engine: Engine) -> dict[str, Decision]:
    factory = factory_for(engine)
    return {
        name: service.evaluate_and_record(
            bundle(name), as_of=AS_OF, actor="dr.a", channel="api", session_factory=factory
        )
        for name in CASES
    }


def test_replay_of_an_untouched_decision_is_identical(engine: Engine) -> None:
    decisions = record_cases(engine)
    with read_session(engine) as session:
        for decision in decisions.values():
            result = replay(session, decision.decision_id)
            assert result.identical, result.differences
            assert (result.policy, result.as_of) == ("drg-clinic@1.1.0", "2026-06-01")
            assert result.recorded_outcome == result.replayed_outcome == decision.outcome
            assert result.notes == []


def test_replay_uses_the_recorded_as_of_not_today(engine: Engine) -> None:
    factory = factory_for(engine)
    early = service.evaluate_and_record(
        bundle("pain-duration-five-months"), as_of=date(2026, 1, 1), actor="a", channel="api", session_factory=factory
    )
    with read_session(engine) as session:
        result = replay(session, early.decision_id)
    assert result.identical and result.as_of == "2026-01-01"


def test_replay_shows_what_an_older_engine_decided_differently(engine: Engine) -> None:
    # A decision recorded by an (imagined) older engine that judged the duration differently.
    raw = bundle("pain-duration-five-months")
    parsed = prepare(raw)
    current = decide(raw, as_of=AS_OF, decision_id="older-engine-1", evaluated_at="2026-05-31T10:00:00.000000Z")
    criteria = [
        c.model_copy(update={"status": "met", "reason": "Pain for 6 months."}) if c.id == "pain_duration" else c
        for c in current.criteria
    ]
    older = current.model_copy(
        update={"engine_version": "0.0.9", "outcome": "ELIGIBLE_FOR_TRIAL", "criteria": criteria}
    )
    with Session(engine) as session:
        store.append_decision(session, decision=older, canonical_input=parsed.canonical, actor="a", channel="api")
        session.commit()
    with read_session(engine) as session:
        result = replay(session, "older-engine-1")
    assert not result.identical
    assert (result.recorded_outcome, result.replayed_outcome) == ("ELIGIBLE_FOR_TRIAL", "NOT_ELIGIBLE")
    paths = {d.path for d in result.differences}
    assert {"outcome", "criteria[pain_duration].status", "criteria[pain_duration].reason"} <= paths
    assert result.notes == ["engine version changed: recorded 0.0.9, now " + current.engine_version]


def test_replay_refuses_an_altered_input(engine: Engine) -> None:
    decision = record_cases(engine)["crps-foot-eligible"]
    tamper(
        engine, "UPDATE audit_input SET body = :b WHERE sha256 = :k", params={"b": b"{}", "k": decision.input_sha256}
    )
    with read_session(engine) as session, pytest.raises(AuditError, match="does not match its hash"):
        replay(session, decision.decision_id)


def test_replay_of_an_unknown_decision(engine: Engine) -> None:
    with read_session(engine) as session, pytest.raises(InputError, match="no decision"):
        replay(session, "nope")


def test_whatif_reports_changed_criteria_outcomes_and_totals(engine: Engine) -> None:
    decisions = record_cases(engine)
    with read_session(engine) as session:
        report = whatif(session, policy="drg-clinic@2.0.0")
    assert (report.examined, len(report.changes), report.outcomes_changed, report.unchanged) == (3, 3, 2, 0)
    by_id = {change.decision_id: change for change in report.changes}
    duration = by_id[decisions["pain-duration-five-months"].decision_id]
    assert (duration.recorded_outcome, duration.would_be_outcome) == ("NOT_ELIGIBLE", "ELIGIBLE_FOR_TRIAL")
    changed = {c.criterion: (c.recorded, c.would_be) for c in duration.criteria}
    assert changed == {"pain_duration": ("not_met", "met"), "failed_interventional": ("met", "not_applicable")}
    assert "at least 3" in next(c.reason for c in duration.criteria if c.criterion == "pain_duration")
    esi = by_id[decisions["esi-no-outcome"].decision_id]
    assert (esi.recorded_outcome, esi.would_be_outcome) == ("INSUFFICIENT_INFORMATION", "ELIGIBLE_FOR_TRIAL")
    unchanged_outcome = by_id[decisions["crps-foot-eligible"].decision_id]
    assert not unchanged_outcome.outcome_changed
    assert report.transitions == {
        ("ELIGIBLE_FOR_TRIAL", "ELIGIBLE_FOR_TRIAL"): 1,
        ("NOT_ELIGIBLE", "ELIGIBLE_FOR_TRIAL"): 1,
        ("INSUFFICIENT_INFORMATION", "ELIGIBLE_FOR_TRIAL"): 1,
    }
    assert report.criteria_changed == {"failed_interventional": 3, "pain_duration": 1}


def test_whatif_under_the_recorded_policy_changes_nothing(engine: Engine) -> None:
    record_cases(engine)
    with read_session(engine) as session:
        report = whatif(session, policy="drg-clinic@1.1.0")
    assert (report.examined, report.changes, report.unchanged) == (3, [], 3)


def test_whatif_time_range_and_unknown_policy(engine: Engine) -> None:
    record_cases(engine)
    with read_session(engine) as session:
        stamps = [r.created_at for r in store.iter_records(session, kinds=["decision"])]
        report = whatif(session, policy="drg-clinic@2.0.0", start=stamps[1], end=stamps[2])
        assert report.examined == 1
        with pytest.raises(PolicyError):
            whatif(session, policy="drg-clinic@7.0.0")


def test_whatif_reports_a_decision_whose_input_is_gone(engine: Engine) -> None:
    decision = record_cases(engine)["esi-no-outcome"]
    tamper(engine, "DELETE FROM audit_input WHERE sha256 = :k", params={"k": decision.input_sha256})
    with read_session(engine) as session:
        report = whatif(session, policy="drg-clinic@2.0.0")
    assert report.examined == 3
    assert [d for d, _ in report.failures] == [decision.decision_id]
    assert "missing" in report.failures[0][1]


def test_policy_1_1_over_a_1_0_trail_shows_the_holds_found_and_1_0_still_replays_identically(engine: Engine) -> None:
    """Issue 10: decisions made under 1.0.0 replay IDENTICAL under 1.0.0, and `whatif` to 1.1.0 shows the
    holds that 1.0.0 missed on clinical-drug codes, the label change, and what 1.1.0 cannot identify."""
    import json
    from pathlib import Path

    cases = Path(__file__).resolve().parents[1] / "cases"
    record = json.loads((cases / "121-med-scd-ibuprofen-naproxen-product-codes.json").read_text())["bundle"]
    no_dx = json.loads((cases / "018-dx-no-pain-diagnosis.json").read_text())["bundle"]
    factory = factory_for(engine)
    recorded = [
        service.evaluate_and_record(
            json.dumps(r).encode(), as_of=date(2026, 6, 1), actor="dr.a", channel="api", session_factory=factory,
            policy="drg-clinic@1.0.0",
        )
        for r in (record, no_dx)
    ]
    assert not any(a.kind == "hold_medication" for a in recorded[0].actions)  # what 1.0.0 missed
    with read_session(engine) as session:
        for decision in recorded:
            result = replay(session, decision.decision_id)
            assert result.identical and result.policy == "drg-clinic@1.0.0", result.differences
        report = whatif(session, policy="drg-clinic@1.1.0")
    by_id = {c.decision_id: c for c in report.changes}
    holds = by_id[recorded[0].decision_id]
    assert (holds.recorded_outcome, holds.would_be_outcome) == ("ELIGIBLE_FOR_TRIAL", "ELIGIBLE_WITH_CONDITIONS")
    assert holds.actions_added == ["hold_medication:ibuprofen", "hold_medication:naproxen"]
    assert holds.criteria == [] and holds.label is None
    label = by_id[recorded[1].decision_id]
    assert label.label == ("OFF_LABEL", "UNDETERMINED") and not label.outcome_changed
