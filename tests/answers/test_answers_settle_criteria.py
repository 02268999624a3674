"""For every criterion that can be `unknown`: an answer that settles it met, and one that settles it not_met.

Each case is a decision of the corpus (tests/cases) that came back with that criterion unknown; the
answers go through the whole path a referrer's do: form fields -> QuestionnaireResponse -> checks ->
extraction -> the old input plus the extracted resources -> the engine, under the same policy and as_of.
"""

from __future__ import annotations

import pytest

from eligibility.answers.choices import ICD10, RXNORM, SNOMED
from eligibility.answers.flow import prepare_answers
from tests.answers.support import BASE, redecide, response, target_of

FAILED, SUCCESSFUL = f"{SNOMED}|385671000", f"{SNOMED}|385669000"
FOOT, LOWER_BACK = f"{SNOMED}|56459004", f"{SNOMED}|37822005"

# (case, criterion, fields that settle it met, fields that settle it not_met)
SETTLED = [
    (
        "013-adult-unknown-no-birthdate",
        "adult",
        {"adult.0.birth-date": "1970-03-01"},
        {"adult.0.birth-date": "2012-03-01"},
    ),
    (
        "018-dx-no-pain-diagnosis",
        "qualifying_diagnosis",
        {"qualifying_diagnosis.0.diagnosis": f"{ICD10}|G90.522"},
        {"qualifying_diagnosis.0.diagnosis": f"{ICD10}|G89.11"},
    ),
    (
        "009-pain-location-unknown",
        "pain_location",
        {"pain_location.0.body-site": FOOT},
        {"pain_location.0.body-site": LOWER_BACK},
    ),
    (
        "028-duration-unknown-no-dates",
        "pain_duration",
        {"pain_duration.0.onset": "2024-01-10"},
        {"pain_duration.0.onset": "2026-04-20"},
    ),
    (
        "033-severity-no-score-in-window",
        "pain_severity",
        {"pain_severity.0.score": "7", "pain_severity.0.date": "2026-05-20"},
        {"pain_severity.0.score": "3", "pain_severity.0.date": "2026-05-20"},
    ),
    (
        "037-meds-tried-no-outcome-unknown",
        "failed_medications",
        {"failed_medications.0.stopped": "urn:drg-eligibility:answer|ineffective"},
        {"failed_medications.0.score": "2", "failed_medications.0.score-date": "2025-04-15"},
    ),
    (
        "039-meds-none-on-record",
        "failed_medications",
        {
            "failed_medications.0~0.drug": f"{RXNORM}|25480",
            "failed_medications.0~0.start": "2025-01-05",
            "failed_medications.0~0.end": "2025-04-30",
            "failed_medications.0~0.stopped": "urn:drg-eligibility:answer|ineffective",
            "failed_medications.0~1.drug": f"{RXNORM}|72625",
            "failed_medications.0~1.start": "2025-05-10",
            "failed_medications.0~1.stopped": "urn:drg-eligibility:answer|adverse-effect",
        },
        {
            "failed_medications.0~0.drug": f"{RXNORM}|25480",
            "failed_medications.0~0.start": "2025-01-05",
            "failed_medications.0~0.end": "2025-04-30",
            "failed_medications.0~0.stopped": "urn:drg-eligibility:answer|ineffective",
        },
    ),
    (
        "048-pt-adequate-no-outcome-unknown",
        "failed_physical_therapy",
        {"failed_physical_therapy.0.outcome": FAILED},
        {"failed_physical_therapy.0.outcome": SUCCESSFUL},
    ),
    (
        "049-pt-none-on-record",
        "failed_physical_therapy",
        {
            "failed_physical_therapy.0.start": "2025-06-01",
            "failed_physical_therapy.0.end": "2025-08-01",
            "failed_physical_therapy.0.sessions": "9",
            "failed_physical_therapy.0.outcome": FAILED,
        },
        # two weeks, outcome not known: too short to count (spec §6), so not_met
        {
            "failed_physical_therapy.0.start": "2026-01-05",
            "failed_physical_therapy.0.end": "2026-01-19",
            "failed_physical_therapy.0.outcome": "urn:drg-eligibility:answer|not-known",
        },
    ),
    (
        "058-esi-done-no-outcome-unknown",
        "failed_interventional",
        {"failed_interventional.0.outcome-0": FAILED},
        {"failed_interventional.0.outcome-0": SUCCESSFUL},
    ),
    (
        "056-obstetric-epidural-is-not-an-esi",
        "failed_interventional",
        {
            "failed_interventional.0.kind": "http://www.ama-assn.org/go/cpt|62323",
            "failed_interventional.0.date": "2025-10-01",
            "failed_interventional.0.outcome": FAILED,
        },
        {
            "failed_interventional.0.kind": "http://www.ama-assn.org/go/cpt|64450",
            "failed_interventional.0.date": "2026-05-20",
            "failed_interventional.0.outcome": SUCCESSFUL,
        },
    ),
    (
        "061-psych-older-than-twelve-months",
        "psychological_evaluation",
        {
            "psychological_evaluation.0.done": "true",
            "psychological_evaluation.0.date": "2026-03-01",
            "psychological_evaluation.0.favourable": "true",
        },
        {
            "psychological_evaluation.0.done": "true",
            "psychological_evaluation.0.date": "2026-03-01",
            "psychological_evaluation.0.favourable": "false",
        },
    ),
    (
        "105-implant-no-trial-scores",
        "trial_response",
        {"trial_response.0.score": "2", "trial_response.0.date": "2026-04-20"},
        {"trial_response.0.score": "7", "trial_response.0.date": "2026-04-20"},
    ),
]


@pytest.mark.parametrize(("name", "criterion", "met", "not_met"), SETTLED, ids=[f"{c}-{n[:3]}" for n, c, *_ in SETTLED])
def test_an_answer_settles_each_unknown_criterion_met_or_not_met(
    name: str, criterion: str, met: dict[str, str], not_met: dict[str, str]
) -> None:
    target = target_of(name)
    assert target.decision.criterion(criterion).status == "unknown"
    for fields, expected in ((met, "met"), (not_met, "not_met")):
        combined = prepare_answers(
            target, response(target, fields), answered_by="dr.rivera", answered_on="2026-06-02", base_url=BASE
        )
        after = redecide(target, combined.raw)
        settled = after.criterion(criterion)
        assert settled.status == expected, (expected, settled.reason)
        if expected == "met":  # a not_met names the treatments that failed, which may all be on record already
            assert any(e.reference in combined.provenance["extracted"] for e in settled.evidence), settled.evidence


def test_every_criterion_that_can_be_unknown_is_covered() -> None:
    from eligibility.engine import CRITERIA  # the ids the policy decides (trial_response at the implant stage)

    never_unknown = {"no_active_substance_use_disorder", "no_absolute_contraindication", "no_relative_contraindication"}
    assert {c for _, c, *_ in SETTLED} == set(CRITERIA) - never_unknown | {"trial_response"}


def test_every_questionnaire_response_and_extracted_resource_validates_with_the_r4b_models() -> None:
    from fhir.resources.R4B import get_fhir_model_class

    from tests.answers.support import CASES

    unknown = [p.stem for p in sorted(CASES.glob("*.json")) if '"unknown"' in p.read_text()]
    built = 0
    for name in unknown:
        target = target_of(name)
        if not target.groups:
            continue
        get_fhir_model_class("Questionnaire").model_validate(target.questionnaire(BASE))
        built += 1
    assert built >= 15
    for name, _, met, not_met in SETTLED:
        target = target_of(name)
        for fields in (met, not_met):
            answer = {**response(target, fields), "id": "qr-1"}
            get_fhir_model_class("QuestionnaireResponse").model_validate(answer)
            combined = prepare_answers(target, answer, answered_by="dr.rivera", answered_on="2026-06-02", base_url=BASE)
            for resource in combined.extracted.resources:
                get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_not_known_is_never_read_as_no() -> None:
    target = target_of("048-pt-adequate-no-outcome-unknown")
    fields = {"failed_physical_therapy.0.outcome": "urn:drg-eligibility:answer|not-known"}
    combined = prepare_answers(
        target, response(target, fields), answered_by="dr.rivera", answered_on="2026-06-02", base_url=BASE
    )
    assert combined.extracted.resources == []
    assert redecide(target, combined.raw).criterion("failed_physical_therapy").status == "unknown"


def test_a_response_the_r4_model_refuses_is_named_where_it_fails() -> None:
    from eligibility.answers.responses import problems_of

    target = target_of("048-pt-adequate-no-outcome-unknown")
    fields = {"failed_physical_therapy.0.outcome": "urn:drg-eligibility:answer|not-known"}
    bad = {**response(target, fields), "authored": "not a date"}
    answers, problems = problems_of(target.groups, bad, decision=target.decision, base_url=BASE)
    assert answers is None
    assert problems[0].location == "QuestionnaireResponse.authored"
    assert problems[0].message.startswith("not a valid R4 QuestionnaireResponse: ")
