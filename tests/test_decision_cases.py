"""The decision cases of `tests/cases/` (test vectors as data) against the engine.

Each `tests/cases/NNN-slug.json` holds a FHIR R4 Bundle and the decision its policy (`drg-clinic@1.0.0` or
`@1.1.0`) must produce for it (the candidacy policy spec, §3-§7). This module reads only those JSON files.

- test_decision_case: runs `eligibility.from_fhir.decide` under the case's policy and under every policy of its
  `expected_under` (v1.0 cases also run under v1.1, changed only where spec §7 says so), and compares outcome,
  stage, label_status, each criterion status, the exact multiset of actions, the `unrecognised` references
  and `matched_by`; every `unknown` criterion must carry a data request and every criterion a reason.
- test_case_bundles_are_valid_r4: every bundle validates with fhir.resources R4B.
- test_case_files_are_well_formed / test_corpus_coverage: the shape of each file, and that the corpus
  keeps covering the outcomes, criterion statuses, body sites, actions and traps it was written for.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

CASES_DIR = Path(__file__).resolve().parent / "cases"
CASE_FILES = sorted(CASES_DIR.glob("[0-9][0-9][0-9]-*.json"))
CASE_IDS = [p.name for p in CASE_FILES]
POLICIES = ("drg-clinic@1.0.0", "drg-clinic@1.1.0", "drg-clinic@2.0.0")


def _runs() -> list[tuple[Path, str]]:
    """(case file, policy) for the case's own policy and every policy of its `expected_under`."""
    runs = []
    for path in CASE_FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        runs += [(path, data["policy"]), *((path, other) for other in data.get("expected_under", {}))]
    return runs


RUNS = _runs()
RUN_IDS = [f"{path.name}@{policy.split('@')[1]}" for path, policy in RUNS]


def expected_under(case: dict[str, Any], policy: str) -> dict[str, Any]:
    """The case's expectation under `policy`: its own, changed by `expected_under[policy]` (criteria
    merge, any other key replaces)."""
    expected = dict(case["expected"])
    if policy == case["policy"]:
        return expected
    changes = case["expected_under"][policy]
    criteria = {**expected["criteria"], **changes.get("criteria", {})}
    return {**expected, **changes, "criteria": criteria}


TRIAL_CRITERIA = (
    "adult",
    "qualifying_diagnosis",
    "pain_location",
    "pain_duration",
    "pain_severity",
    "failed_medications",
    "failed_physical_therapy",
    "failed_interventional",
    "psychological_evaluation",
    "no_active_substance_use_disorder",
    "no_absolute_contraindication",
    "no_relative_contraindication",
)
CONTRAINDICATION_CRITERIA = (
    "no_active_substance_use_disorder",
    "no_absolute_contraindication",
    "no_relative_contraindication",
)
OUTCOMES = (
    "ELIGIBLE_FOR_TRIAL",
    "ELIGIBLE_WITH_CONDITIONS",
    "NEEDS_REVIEW",
    "INSUFFICIENT_INFORMATION",
    "NOT_ELIGIBLE",
    "ELIGIBLE_FOR_IMPLANT",
    "TRIAL_FAILED",
)
IMPLANT_OUTCOMES = ("ELIGIBLE_FOR_IMPLANT", "TRIAL_FAILED", "INSUFFICIENT_INFORMATION", "NOT_ELIGIBLE", "NEEDS_REVIEW")
ELIGIBLE = frozenset({"ELIGIBLE_FOR_TRIAL", "ELIGIBLE_WITH_CONDITIONS", "ELIGIBLE_FOR_IMPLANT"})
STANDARD_PREP = ("medication_reconciliation", "fasting_instructions")
CONDITION_KINDS = ("hold_medication", "lab_check", "smoking_cessation")
ACTION_KINDS = (*CONDITION_KINDS, *STANDARD_PREP, "advisory")

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"

# Clinic-page body sites (reference §6.2): unlateralised concept and its lateral variants.
BODY_SITES: dict[str, set[str]] = {
    "chest": {"51185008", "78904004"},
    "abdomen": {"818983003", "113345001"},
    "groin": {"26893007", "37117007", "85119005"},
    "hand": {"85562004", "78791008", "85151006"},
    "foot": {"56459004", "7769000", "22335008"},
    "knee": {"72696002", "6757004", "82169009"},
}
LOWER_BACK = "37822005"
CURRENT_SMOKER = {"449868002", "428041000124106", "428071000124103", "428061000124105", "77176002"}
FORMER_SMOKER = "8517006"

# Holds of spec §4 that the corpus must exercise, and the lab checks that go with them.
REQUIRED_HOLDS = (
    "ibuprofen",
    "naproxen",
    "aspirin",
    "clopidogrel",
    "prasugrel",
    "ticagrelor",
    "warfarin",
    "apixaban",
    "rivaroxaban",
    "edoxaban",
    "dabigatran",
)
LAB_FOR_HOLD = {"warfarin": "lab_check:INR", "dabigatran": "lab_check:renal_function"}
NO_LAB_HOLDS = ("apixaban", "rivaroxaban", "edoxaban")

# Coverage labels (the `tags` of the case files); tests/cases/README.md maps each to its cases.
REQUIRED_TAGS = (
    "adult:18th-birthday",
    "duration:6-months-to-the-day",
    "duration:month-end",
    "failure:explicit-procedure-outcome",
    "failure:explicit-status-reason",
    "failure:inferred-medication",
    "failure:inferred-pt",
    "failure:inferred-injection",
    "treatment:effective",
    "treatment:no-outcome-on-record",
    "trap:G90.531",
    "trap:G90.52x-lower-limb",
    "trap:rxcui-42463",
    "trap:26893007-groin",
    "trap:obstetric-epidural-18946005",
    "trap:facet-64490-64495",
    "trap:sud-in-remission",
    "trap:F17-not-sud",
    "trap:celecoxib-no-hold",
    "trap:aspirin-not-analgesic",
    "trap:Z95.5-not-relative",
    "trap:acute-pain-only",
    "trap:G54.7-only",
    "trap:icd-without-dot",
    "trap:snomed-icd-mixed",
    "trap:entered-in-error-refuted",
    "trap:resolved-remission",
    "trap:medication-statement",
    "trap:contained-medication",
    "trap:float-pain-score",
    "trap:missing-gender",
    "trap:urn-uuid",
    "hold:aspirin-primary",
    "hold:aspirin-secondary",
    "advisory:duloxetine",
    "smoking:former",
    "implant:trial-63650",
    "stage:63685-present",
    "implant:trial-window-boundaries",
    "implant:percent-relief",
    "contra:pregnancy-within-280",
    "contra:pregnancy-older-280",
    "contra:coagulopathy-D68",
    "contra:sepsis-A41.9",
    "contra:pacemaker-Z95.0",
    "contra:neurostimulator-device",
    "contra:Z96.82",
    "contra:dementia",
    "contra:active-cancer",
    # policy v1.1, spec §7: every form in which EHRs send a medication, and codes without a system
    "med:scd",
    "med:name",
    "med:product-code",
    "med:sbd",
    "med:brand-text",
    "med:text-only",
    "med:local-code",
    "med:referenced-medication",
    "med:contained",
    "med:several-codings",
    "med:combination",
    "med:topical",
    "med:topical-systemic-override",
    "med:unrecognised",
    "code:unmapped-system",
    "code:oid-system",
)


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _all_cases() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, _load(p)) for p in CASE_FILES]


def _resources(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in case["bundle"].get("entry", [])]


def _codes(concept: dict[str, Any] | None) -> set[tuple[str, str]]:
    return {(c.get("system", ""), c.get("code", "")) for c in (concept or {}).get("coding", [])}


def _action_key(action: Any) -> str:
    if action.kind in ("hold_medication", "advisory"):
        return f"{action.kind}:{action.medication}"
    if action.kind == "lab_check":
        return f"lab_check:{action.lab}"
    return str(action.kind)


# ------------------------------------------------------------------------------------------------
# The engine against the cases
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("case_path", "policy"), RUNS, ids=RUN_IDS)
def test_decision_case(case_path: Path, policy: str) -> None:
    from eligibility.from_fhir import decide  # lazy: the file checks below must run without the engine

    case = _load(case_path)
    expected = expected_under(case, policy)
    raw = json.dumps(case["bundle"]).encode("utf-8")
    decision = decide(
        raw,
        as_of=date.fromisoformat(case["as_of"]),
        policy=policy,
        decision_id=f"case-{case['name']}",
        evaluated_at="2026-01-01T00:00:00Z",
    )
    assert f"{decision.policy.id}@{decision.policy.version}" == policy

    problems: list[str] = []
    for field in ("outcome", "stage", "label_status"):
        got = getattr(decision, field)
        if got != expected[field]:
            problems.append(f"{field}: expected {expected[field]}, got {got}")

    by_id = {c.id: c for c in decision.criteria}
    for cid, want in expected["criteria"].items():
        crit = by_id.get(cid)
        if crit is None:
            problems.append(f"criterion {cid}: missing (expected {want})")
        elif crit.status != want:
            problems.append(f"criterion {cid}: expected {want}, got {crit.status} — reason: {crit.reason}")
    for extra in sorted(set(by_id) - set(expected["criteria"])):
        problems.append(f"criterion {extra}: not expected at stage {expected['stage']} ({by_id[extra].status})")
    for crit in decision.criteria:
        if not crit.reason.strip():
            problems.append(f"criterion {crit.id}: empty reason")
        if crit.status == "unknown" and not crit.data_requests:
            problems.append(f"criterion {crit.id}: unknown without a data request — reason: {crit.reason}")

    got_actions = Counter(_action_key(a) for a in decision.actions)
    want_actions = Counter(expected["actions"])
    if got_actions != want_actions:
        missing = sorted((want_actions - got_actions).elements())
        unexpected = sorted((got_actions - want_actions).elements())
        problems.append(f"actions: missing {missing}, unexpected {unexpected} (got {sorted(got_actions.elements())})")
    for key in expected.get("absent_actions", []):
        if key in got_actions:
            problems.append(f"action {key} must not be listed")
    # spec §4 day counts and wording of the holds ("confirm with the prescriber"; aspirin for secondary
    # prevention: no day count, "prescriber decision")
    for key, detail in expected.get("action_details", {}).items():
        for action in (a for a in decision.actions if _action_key(a) == key):
            if action.days_before != detail["days_before"]:
                problems.append(f"{key}: days_before expected {detail['days_before']}, got {action.days_before}")
            if detail["note_contains"].lower() not in (action.note or "").lower():
                problems.append(f"{key}: note should contain {detail['note_contains']!r}, got {action.note!r}")

    # spec §7: what the policy could not read is listed, exactly
    got_unrecognised = sorted({u.reference for u in decision.unrecognised})
    if got_unrecognised != sorted(expected.get("unrecognised", [])):
        problems.append(f"unrecognised: expected {sorted(expected.get('unrecognised', []))}, got {got_unrecognised}")
    evidence = [e for c in decision.criteria for e in c.evidence] + [e for a in decision.actions for e in a.evidence]
    for reference, how in expected.get("matched_by", {}).items():
        seen = {e.matched_by for e in evidence if e.reference == reference}
        if seen != {how}:
            problems.append(f"{reference}: matched_by expected {how}, got {sorted(map(str, seen))}")

    assert not problems, f"{case_path.name} under {policy}: {case['description']}\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------------------------
# The case files themselves (no engine needed)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case_path", CASE_FILES, ids=CASE_IDS)
def test_case_bundles_are_valid_r4(case_path: Path) -> None:
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    bundle = _load(case_path)["bundle"]
    Bundle.model_validate(bundle)
    # second pass per entry: some required-field errors only surface on the resource itself
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@pytest.mark.parametrize("case_path", CASE_FILES, ids=CASE_IDS)
def test_case_files_are_well_formed(case_path: Path) -> None:
    case = _load(case_path)
    assert set(case) >= {"name", "description", "as_of", "policy", "expected", "bundle"}
    assert set(case) <= {"name", "description", "as_of", "policy", "tags", "expected", "expected_under", "bundle"}
    assert case_path.name == f"{case_path.name[:3]}-{case['name']}.json", "file name must be NNN-<name>.json"
    assert case["description"].strip()
    date.fromisoformat(case["as_of"])
    assert case["policy"] in POLICIES
    assert set(case.get("expected_under", {})) <= set(POLICIES) - {case["policy"]}
    if case["policy"] == "drg-clinic@1.0.0":
        assert "drg-clinic@1.1.0" in case["expected_under"], "every v1.0 case also runs under v1.1 (§7)"
    assert case["bundle"]["resourceType"] == "Bundle"
    patients = [r for r in _resources(case) if r["resourceType"] == "Patient"]
    assert len(patients) == 1, "exactly one Patient per record (spec §1)"

    for policy in (case["policy"], *case.get("expected_under", {})):
        _check_expectation(case, expected_under(case, policy), policy)


def _check_expectation(case: dict[str, Any], exp: dict[str, Any], policy: str) -> None:
    assert set(exp) <= {
        "outcome",
        "stage",
        "label_status",
        "criteria",
        "actions",
        "absent_actions",
        "action_details",
        "unrecognised",
        "matched_by",
    }, sorted(exp)
    assert exp["outcome"] in OUTCOMES
    assert exp["stage"] in ("trial", "implant")
    # 1.0.0 and the payer profile 2.0.0 keep the v1 reading; UNDETERMINED is §7 (v1.1)
    v11 = policy == "drg-clinic@1.1.0"
    labels = ("ON_LABEL", "OFF_LABEL", "UNDETERMINED") if v11 else ("ON_LABEL", "OFF_LABEL")
    assert exp["label_status"] in labels
    if v11:  # v1.1: UNDETERMINED exactly when the qualifying diagnosis is not met
        assert (exp["label_status"] == "UNDETERMINED") == (exp["criteria"]["qualifying_diagnosis"] != "met")
    want_ids = (*TRIAL_CRITERIA, "trial_response") if exp["stage"] == "implant" else TRIAL_CRITERIA
    assert list(exp["criteria"]) == list(want_ids), "criteria must list every criterion of the stage, in order"
    for cid, status in exp["criteria"].items():
        allowed = {"met", "not_met"} if cid in CONTRAINDICATION_CRITERIA else {"met", "not_met", "unknown"}
        if policy == "drg-clinic@2.0.0" and cid == "failed_interventional":
            allowed = {"not_applicable"}  # the payer profile does not require a failed injection or block
        assert status in allowed, f"{cid}: {status} not allowed under {policy}"
    if exp["stage"] == "trial":
        assert exp["outcome"] not in ("ELIGIBLE_FOR_IMPLANT", "TRIAL_FAILED")
    else:
        assert exp["outcome"] not in ("ELIGIBLE_FOR_TRIAL", "ELIGIBLE_WITH_CONDITIONS")

    for key in [*exp["actions"], *exp.get("absent_actions", [])]:
        kind, _, detail = key.partition(":")
        assert kind in ACTION_KINDS, key
        if kind in ("hold_medication", "advisory"):
            assert detail and detail == detail.lower(), key
        elif kind == "lab_check":
            assert detail in ("INR", "renal_function"), key
        else:
            assert not detail, key
    for key in exp.get("absent_actions", []):
        assert key not in exp["actions"], key
    for key, detail in exp.get("action_details", {}).items():
        assert key in exp["actions"], key
        assert set(detail) == {"days_before", "note_contains"}, key
    holds = [k for k in exp["actions"] if k.startswith("hold_medication:")]
    assert sorted(holds) == sorted(exp.get("action_details", {})), "every hold needs its action_details"
    # standard preparation exactly with an eligible outcome (spec §4, §6 "Actions")
    has_prep = [k for k in exp["actions"] if k in STANDARD_PREP]
    assert sorted(has_prep) == (sorted(STANDARD_PREP) if exp["outcome"] in ELIGIBLE else [])
    has_condition = any(k.split(":")[0] in CONDITION_KINDS for k in exp["actions"])
    if exp["outcome"] == "ELIGIBLE_WITH_CONDITIONS":
        assert has_condition
    if exp["outcome"] == "ELIGIBLE_FOR_TRIAL":
        assert not has_condition

    # the outcome rules of spec §3 applied to the expected statuses: the expectation is self-consistent
    statuses = exp["criteria"]
    assert exp["outcome"] == _outcome_from_statuses(exp["stage"], statuses, has_condition, case), (
        "expected outcome does not follow from the expected criteria (spec §3)"
    )


def _outcome_from_statuses(stage: str, st: dict[str, str], has_condition: bool, case: dict[str, Any]) -> str:
    neurostim = any(
        (r["resourceType"] == "Device")
        or (r["resourceType"] == "Procedure" and ("http://www.ama-assn.org/go/cpt", "63685") in _codes(r.get("code")))
        for r in _resources(case)
    )
    if stage == "implant":
        if st["trial_response"] == "not_met":
            return "TRIAL_FAILED"
        if st["trial_response"] == "unknown":
            return "INSUFFICIENT_INFORMATION"
        if "not_met" in (st["no_absolute_contraindication"], st["no_active_substance_use_disorder"]):
            return "NOT_ELIGIBLE"
        if st["no_relative_contraindication"] == "not_met":
            return "NEEDS_REVIEW"
        return "ELIGIBLE_FOR_IMPLANT"
    if any(s == "not_met" for c, s in st.items() if c != "no_relative_contraindication"):
        return "NOT_ELIGIBLE"
    if "unknown" in st.values():
        return "INSUFFICIENT_INFORMATION"
    if st["no_relative_contraindication"] == "not_met" or neurostim:
        return "NEEDS_REVIEW"
    return "ELIGIBLE_WITH_CONDITIONS" if has_condition else "ELIGIBLE_FOR_TRIAL"


# ------------------------------------------------------------------------------------------------
# Coverage of the corpus
# ------------------------------------------------------------------------------------------------
def _latest_coded_value(case: dict[str, Any], loinc: str) -> str | None:
    obs = [
        r
        for r in _resources(case)
        if r["resourceType"] == "Observation"
        and (LOINC, loinc) in _codes(r.get("code"))
        and r.get("status") != "entered-in-error"
    ]
    if not obs:
        return None
    latest = max(obs, key=lambda r: r["effectiveDateTime"])
    return next(iter(sorted(code for _, code in _codes(latest.get("valueCodeableConcept")))))


def _condition_sites(case: dict[str, Any]) -> set[str]:
    sites: set[str] = set()
    for r in _resources(case):
        if r["resourceType"] == "Condition":
            for bs in r.get("bodySite", []):
                sites |= {code for system, code in _codes(bs) if system == SNOMED}
    return sites


def test_corpus_coverage() -> None:
    cases = _all_cases()
    assert len(cases) >= 48
    gaps: list[str] = []

    trial_outcomes = {c["expected"]["outcome"] for _, c in cases if c["expected"]["stage"] == "trial"}
    implant_outcomes = {c["expected"]["outcome"] for _, c in cases if c["expected"]["stage"] == "implant"}
    gaps += [f"outcome {o}" for o in OUTCOMES if o not in trial_outcomes | implant_outcomes]
    gaps += [f"implant-stage outcome {o}" for o in IMPLANT_OUTCOMES if o not in implant_outcomes]
    gaps += [
        f"label_status {ls}"
        for ls in ("ON_LABEL", "OFF_LABEL")
        if ls not in {c["expected"]["label_status"] for _, c in cases}
    ]

    seen = {(cid, s) for _, c in cases for cid, s in c["expected"]["criteria"].items()}
    for cid in (*TRIAL_CRITERIA, "trial_response"):
        statuses = ("met", "not_met") if cid in CONTRAINDICATION_CRITERIA else ("met", "not_met", "unknown")
        gaps += [f"criterion {cid} = {s}" for s in statuses if (cid, s) not in seen]

    for site, codes in BODY_SITES.items():
        if not any(
            _condition_sites(c) & codes and c["expected"]["criteria"]["pain_location"] == "met" for _, c in cases
        ):
            gaps.append(f"body site {site} as a met pain location")
    if not any(
        _condition_sites(c) == {LOWER_BACK} and c["expected"]["criteria"]["pain_location"] == "not_met"
        for _, c in cases
    ):
        gaps.append("lower back only -> pain_location not_met")

    action_keys = Counter(k for _, c in cases for k in c["expected"]["actions"])
    for drug in REQUIRED_HOLDS:
        if not action_keys[f"hold_medication:{drug}"]:
            gaps.append(f"hold_medication:{drug}")
    for _, c in cases:
        acts = c["expected"]["actions"]
        for drug, lab in LAB_FOR_HOLD.items():
            if f"hold_medication:{drug}" in acts and lab not in acts:
                gaps.append(f"{c['name']}: {drug} hold without {lab}")
        for drug in NO_LAB_HOLDS:
            if f"hold_medication:{drug}" in acts and any(a.startswith("lab_check") for a in acts):
                gaps.append(f"{c['name']}: {drug} must not bring a lab check")
    for key in ("lab_check:INR", "lab_check:renal_function", "smoking_cessation", "advisory:duloxetine"):
        if not action_keys[key]:
            gaps.append(key)

    smoking = {(_latest_coded_value(c, "72166-2"), "smoking_cessation" in c["expected"]["actions"]) for _, c in cases}
    gaps += [
        f"current-smoker answer {code} -> smoking_cessation" for code in CURRENT_SMOKER if (code, True) not in smoking
    ]
    if (FORMER_SMOKER, False) not in smoking:
        gaps.append("former smoker -> no smoking_cessation")

    under_v11 = [
        expected_under(c, "drg-clinic@1.1.0")
        for _, c in cases
        if "drg-clinic@1.1.0" in (c["policy"], *c.get("expected_under", {}))
    ]
    if not any(e["label_status"] == "UNDETERMINED" for e in under_v11):
        gaps.append("label_status UNDETERMINED under drg-clinic@1.1.0")
    if not any(e.get("unrecognised") for e in under_v11):
        gaps.append("an unrecognised item under drg-clinic@1.1.0")
    for how in ("product_code", "name"):
        if not any(how in e.get("matched_by", {}).values() for e in under_v11):
            gaps.append(f"matched_by {how} under drg-clinic@1.1.0")

    tags = {t for _, c in cases for t in c.get("tags", [])}
    gaps += [f"tag {t}" for t in REQUIRED_TAGS if t not in tags]

    assert not gaps, "corpus coverage regressed:\n  " + "\n  ".join(gaps)


def test_readme_lists_every_case() -> None:
    readme = (CASES_DIR / "README.md").read_text(encoding="utf-8")
    missing = [name for name in CASE_IDS if name not in readme]
    assert not missing, f"tests/cases/README.md does not list {missing}"
