"""Engine properties: determinism, order independence, isolation between patients, rule hygiene."""

from __future__ import annotations

import copy
import json
import random
from datetime import date
from typing import Any

import pytest

from eligibility.decision import Decision
from eligibility.engine import evaluate
from eligibility.errors import EngineError
from eligibility.from_fhir import decide, decide_parsed, prepare
from eligibility.policy import installed_policies, load_policy
from eligibility.rules import CATALOGS, build_catalog
from eligibility.rules.outcomes import CRITERIA
from eligibility.rules.rule import SetStatus
from tests.conftest import SAMPLES

AS_OF = date(2026, 11, 20)


def run(raw: bytes | str, as_of: date = AS_OF, policy: str | None = None) -> Decision:
    return decide(raw, as_of=as_of, policy=policy, decision_id="t", evaluated_at="2026-11-20T00:00:00Z")


def variant(bundle: dict[str, Any], patient_id: str, **changes: Any) -> bytes:
    """The example bundle as another patient: every reference rewritten, patient fields changed."""
    text = json.dumps(bundle).replace("pt-crps-1", patient_id)
    data = json.loads(text)
    patient = data["entry"][0]["resource"]
    for key, value in changes.items():
        if value is None:
            patient.pop(key, None)
        else:
            patient[key] = value
    return json.dumps(data).encode()


def test_example_is_eligible_with_conditions(example_bytes: bytes) -> None:
    d = run(example_bytes)
    assert d.outcome == "ELIGIBLE_WITH_CONDITIONS"
    assert d.label_status == "ON_LABEL"
    assert [c.id for c in d.criteria] == list(CRITERIA)
    assert all(c.status == "met" for c in d.criteria)
    holds = [a for a in d.actions if a.kind == "hold_medication"]
    assert [(a.medication, a.days_before) for a in holds] == [("ibuprofen", 1)]
    assert "confirm with the prescriber" in (holds[0].note or "")
    assert {a.kind for a in d.actions} >= {
        "smoking_cessation",
        "medication_reconciliation",
        "fasting_instructions",
    }


def test_same_input_gives_identical_decision_across_runs(example_bytes: bytes) -> None:
    first = run(example_bytes).clinical_content()
    for _ in range(5):
        assert run(example_bytes).clinical_content() == first


@pytest.mark.parametrize("seed", range(8))
def test_entry_order_does_not_change_the_decision(example_bytes: bytes, seed: int) -> None:
    bundle = json.loads(example_bytes)
    shuffled = copy.deepcopy(bundle)
    random.Random(seed).shuffle(shuffled["entry"])
    assert shuffled["entry"] != bundle["entry"]
    a, b = run(example_bytes), run(json.dumps(shuffled))
    assert a.clinical_content() == b.clinical_content()
    assert a.input_sha256 == b.input_sha256


def test_as_of_is_a_parameter_not_the_clock(example_bytes: bytes) -> None:
    early = run(example_bytes, as_of=date(2025, 3, 1))
    assert early.criterion("pain_duration").status == "not_met"  # onset 2025-01-10: under 6 months
    assert early.as_of == "2025-03-01"
    later = run(example_bytes, as_of=date(2026, 11, 20))
    assert later.criterion("pain_duration").status == "met"


def test_patients_never_see_each_others_facts_over_5000_evaluations(example_bytes: bytes) -> None:
    """Distinct patients evaluated in one process, interleaved: each result stays its own."""
    bundle = json.loads(example_bytes)
    inputs = {
        "eligible": prepare(example_bytes),
        "no-birthdate": prepare(variant(bundle, "pt-nobirth", birthDate=None)),
        "child": prepare(variant(bundle, "pt-child", birthDate="2012-01-01")),
        "synthea": prepare((SAMPLES / "Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json").read_bytes()),
    }
    policy = load_policy()
    reference = {
        name: decide_parsed(
            p, as_of=AS_OF, policy=policy, decision_id="r", evaluated_at="t"
        ).clinical_content()
        for name, p in inputs.items()
    }
    assert len({json.dumps(v, sort_keys=True) for v in reference.values()}) == len(reference)
    names = list(inputs)
    rng = random.Random(7)
    for i in range(5000):
        name = names[i % len(names)] if i % 3 else rng.choice(names)
        got = decide_parsed(inputs[name], as_of=AS_OF, policy=policy, decision_id="r", evaluated_at="t")
        assert got.clinical_content() == reference[name], f"evaluation {i} of {name} differs"


def test_every_policy_defines_a_ruleset_with_unique_stable_ids() -> None:
    for policy in installed_policies():
        catalog = build_catalog(policy)
        assert [r.id for r in catalog] == list(CATALOGS[policy.key])
        for cid in CRITERIA:
            effects = [r.effect for r in catalog if isinstance(r.effect, SetStatus)]
            statuses = {e.status for e in effects if e.criterion == cid}
            assert {"met", "not_met"} <= statuses, cid


def test_contraindication_criteria_have_no_unknown_rule() -> None:
    catalog = build_catalog(load_policy())
    for cid in (
        "no_active_substance_use_disorder",
        "no_absolute_contraindication",
        "no_relative_contraindication",
    ):
        assert "unknown" not in {
            r.effect.status for r in catalog if isinstance(r.effect, SetStatus) and r.effect.criterion == cid
        }


def test_rule_ids_recorded_in_the_decision_are_catalog_ids(example_bytes: bytes) -> None:
    d = run(example_bytes)
    catalog = CATALOGS[load_policy().key]
    assert d.rules_fired and set(d.rules_fired) <= set(catalog)
    assert all(c.rule_id in catalog for c in d.criteria)
    assert all(a.rule_id in catalog for a in d.actions)


def test_payer_profile_changes_duration_and_interventional(example_bytes: bytes) -> None:
    as_of = date(2025, 5, 1)  # onset 2025-01-10: 3 full months, under 6
    v1 = run(example_bytes, as_of=as_of, policy="drg-clinic@1.0.0")
    v2 = run(example_bytes, as_of=as_of, policy="drg-clinic@2.0.0")
    assert v1.criterion("pain_duration").status == "not_met"
    assert v2.criterion("pain_duration").status == "met"
    assert v2.criterion("failed_interventional").status == "not_applicable"
    assert v1.policy.sha256 != v2.policy.sha256


def test_a_reason_missing_for_the_chosen_status_is_an_engine_error(
    example_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rules and findings must agree; a gap raises instead of producing a silent decision."""
    import eligibility.derive as derive

    original = derive.derive_findings

    def broken(ctx: Any) -> Any:
        findings = original(ctx)
        for f in findings:
            if f.criterion == "adult":
                f.reasons.clear()
        return findings

    monkeypatch.setattr("eligibility.engine.derive_findings", broken)
    parsed = prepare(example_bytes)
    with pytest.raises(EngineError, match="adult"):
        evaluate(
            parsed.facts,
            policy=load_policy(),
            as_of=AS_OF,
            input_sha256="x",
            decision_id="d",
            evaluated_at="t",
        )

