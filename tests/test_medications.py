"""Medication identity of policy v1.1 (spec §7), and the safety property behind it.

The property: for every decision case, every public sample record and a corpus of medications coded
as EHRs code them, each ACTIVE medication whose name contains a hold-table drug or brand produces that
drug's hold (or its advisory, for SNRIs/SSRIs and topical NSAID forms). The names are searched in the raw
FHIR JSON here, independently of the adapter and the engine.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from eligibility.decision import Decision
from eligibility.facts import Coding, MedicationFact
from eligibility.from_fhir import decide
from eligibility.medications import component_names
from eligibility.policy import load_policy
from tests.medication_records import one_medication_record

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
V11 = load_policy("drg-clinic@1.1.0")
V10 = load_policy("drg-clinic@1.0.0")
CASES = sorted((Path(__file__).parent / "cases").glob("[0-9][0-9][0-9]-*.json"))
SAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "fhir-samples").glob("*.json"))
ACTIVE = {"active", "on-hold", "intended", "in-progress"}


def med(
    *codes: Coding, text: str | None = None, forms: tuple[str, ...] = (), display: str | None = None
) -> MedicationFact:
    return MedicationFact(
        reference="MedicationRequest/m1",
        kind="MedicationRequest",
        codes=codes,
        status="active",
        status_reason=None,
        start=date(2026, 1, 1),
        end=None,
        validity_end=None,
        expected_supply_days=None,
        repeats=None,
        concept_text=text,
        reference_display=display,
        form_texts=forms,
    )


def identify(m: MedicationFact) -> tuple[list[str], str | None, bool]:
    found = V11.identifier.identify(m, frozenset(V11.holds["entries"]))
    return [i for i, _ in found.ingredients], found.matched_by, found.topical


# --- the rules of §7, one by one ------------------------------------------------------------------
def test_an_ingredient_code_comes_first_whatever_the_names_say() -> None:
    assert identify(med(Coding(RXNORM, "11289", "apixaban 5 MG Oral Tablet"))) == (
        ["warfarin"],
        "ingredient_code",
        False,
    )


def test_a_product_code_maps_to_every_ingredient_of_a_combination() -> None:
    found = identify(med(Coding(RXNORM, "1049221", None)))
    assert found == (["acetaminophen", "oxycodone"], "product_code", False)


@pytest.mark.parametrize(
    ("name", "ingredients"),
    [
        ("Ibuprofen 600 MG Oral Tablet", ["ibuprofen"]),
        ("gabapentin 300 MG Oral Capsule", ["gabapentin"]),
        ("DULoxetine 60 MG Delayed Release Oral Capsule", ["duloxetine"]),
        ("Acetaminophen 325 MG / HYDROcodone Bitartrate 10 MG Oral Tablet", ["acetaminophen", "hydrocodone"]),
        ("12 HR oxyCODONE Hydrochloride 10 MG Extended Release Oral Tablet", ["oxycodone"]),
        ("Naproxen sodium 220 MG Oral Tablet [Aleve]", ["naproxen"]),
        ("clopidogrel 75 MG Oral Tablet [Plavix]", ["clopidogrel"]),
        ("dabigatran etexilate 150 MG Oral Capsule", ["dabigatran"]),
        ("aspirin 25 MG / dipyridamole 200 MG Extended Release Oral Capsule", ["aspirin", "dipyridamole"]),
        ("Vitamin E 400 UNT Oral Capsule", ["vitamin e"]),
        ("omega-3-acid ethyl esters 1000 MG Oral Capsule", ["fish oil"]),
    ],
)
def test_rxnorm_normalized_names_identify_their_ingredients(name: str, ingredients: list[str]) -> None:
    assert identify(med(Coding(RXNORM, "999999999", name))) == (ingredients, "name", False)


@pytest.mark.parametrize(
    ("text", "ingredients"),
    [
        ("Advil 200 mg", ["ibuprofen"]),
        ("MOTRIN IB", ["ibuprofen"]),
        ("Eliquis 5mg BID", ["apixaban"]),
        ("pt takes coumadin, dose varies", ["warfarin"]),
        ("Vicodin 5/300", ["acetaminophen", "hydrocodone"]),
        ("Jantoven", ["warfarin"]),
        ("Lyrica 75 mg", ["pregabalin"]),
    ],
)
def test_brand_names_in_text_alone_resolve_through_the_brand_table(text: str, ingredients: list[str]) -> None:
    assert identify(med(text=text)) == (ingredients, "name", False)


def test_names_are_whole_words_so_a_longer_word_never_matches() -> None:
    assert identify(med(text="hydromorphone 2 MG Oral Tablet"))[0] == ["hydromorphone"]  # not "morphine"
    assert identify(med(text="aspirinless headache formula"))[0] == []


def test_sources_are_tried_in_order_and_a_source_naming_nothing_known_passes_to_the_next() -> None:
    local = Coding("urn:oid:1.2.3", "A1", "WARFARIN 5 MG TAB")
    found = identify(med(Coding(RXNORM, "999999999", "Zzyzx 5 MG Oral Tablet"), local, text="unknown tablet"))
    assert found == (["warfarin"], "name", False)
    # the first source that names something wins: the RxNorm display before the text
    first = identify(med(Coding(RXNORM, "999999999", "ibuprofen 200 MG Oral Tablet"), text="Tylenol"))
    assert first[0] == ["ibuprofen"]


def test_a_hold_drug_named_against_the_code_is_reported_for_its_hold() -> None:
    found = V11.identifier.identify(
        med(Coding(RXNORM, "42463", "clopidogrel 75 MG Oral Tablet")), frozenset(V11.holds["entries"])
    )
    assert [i for i, _ in found.ingredients] == ["pravastatin"] and found.matched_by == "ingredient_code"
    assert found.named_elsewhere == ("clopidogrel",)


def test_topical_forms_need_positive_evidence_and_no_systemic_word() -> None:
    assert identify(med(text="diclofenac sodium 10 MG/ML Topical Gel"))[2] is True
    assert identify(med(text="Voltaren", forms=("Transdermal route",)))[2] is True
    assert identify(med(text="Advil Liqui-Gel 200 mg oral capsule"))[2] is False
    assert identify(med(text="diclofenac 50 MG Oral Tablet"))[2] is False
    route = MedicationFact(
        **{**_fields(med(text="ketorolac gel")), "form_codes": (Coding("http://snomed.info/sct", "26643006"),)}
    )
    assert identify(route)[2] is False  # an oral route overrides the word "gel"


def _fields(m: MedicationFact) -> dict[str, Any]:
    return {name: getattr(m, name) for name in MedicationFact.__slots__}  # type: ignore[attr-defined]


def test_a_medication_nobody_can_name_is_unrecognised() -> None:
    assert identify(med(Coding(RXNORM, "2601723", None))) == ([], None, False)
    assert identify(med(text="kratom capsules"))[0] == []


def test_known_ingredients_without_a_role_are_identified_not_unrecognised() -> None:
    assert identify(med(text="Hydrochlorothiazide 25 MG"))[0] == ["hydrochlorothiazide"]
    assert identify(med(Coding(RXNORM, "161", None)))[0] == ["acetaminophen"]


def test_policy_v1_keeps_its_reading_codes_only_and_supplements_by_substring() -> None:
    v1 = V10.identifier
    assert not v1.v11
    assert v1.identify(med(Coding(RXNORM, "197806", "Ibuprofen 600 MG Oral Tablet"))).ingredients == ()
    found = v1.identify(med(Coding(RXNORM, "310965", None), text="garlicky"))
    assert [i for i, _ in found.ingredients] == ["ibuprofen"]  # v1: no name reading at all
    legacy = MedicationFact(**{**_fields(med()), "text": "Fish oil 1000 mg"})
    assert [i for i, _ in v1.identify(legacy).ingredients] == ["fish oil"]


def test_component_names_drop_salt_words_and_the_brand() -> None:
    salt = V11.identifier.salt_words
    assert component_names("Hydrocodone Bitartrate 5 MG / Acetaminophen 325 MG Oral Tablet [Norco]", salt) == [
        "hydrocodone",
        "acetaminophen",
    ]
    assert component_names("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", salt) == ["metformin"]
    assert component_names("Nizatidine 15 MG/ML Oral Solution [Axid]", salt) == ["nizatidine"]


# --- the safety property --------------------------------------------------------------------------
def _hold_words() -> dict[str, set[str]]:
    """Every name (ingredient, alias, brand) that means a hold-table drug -> those drugs."""
    entries = set(V11.holds["entries"])
    identity = V11.valuesets["medication_identity"]
    words: dict[str, set[str]] = {drug: {drug} for drug in entries}
    for alias, drug in identity["ingredient_names"].items():
        if drug in entries:
            words.setdefault(alias, set()).add(drug)
    for brand, drugs in identity["brands"].items():
        if entries & set(drugs):
            words.setdefault(brand, set()).update(entries & set(drugs))
    return words


HOLD_WORDS = _hold_words()


def _drug_texts(resource: dict[str, Any], contained: dict[str, dict[str, Any]]) -> list[str]:
    concept = resource.get("medicationCodeableConcept") or {}
    texts = [concept.get("text")] + [c.get("display") for c in concept.get("coding", [])]
    reference = resource.get("medicationReference") or {}
    texts.append(reference.get("display"))
    target = contained.get(str(reference.get("reference", "")))
    if target:
        code = target.get("code") or {}
        texts += [code.get("text")] + [c.get("display") for c in code.get("coding", [])]
    return [t for t in texts if isinstance(t, str)]


def _named_hold_drugs(text: str) -> set[str]:
    lowered = " ".join(text.lower().split())
    return {
        drug
        for word, drugs in HOLD_WORDS.items()
        if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", lowered)
        for drug in drugs
    }


def _expected_hold_actions(bundle: dict[str, Any], as_of: date) -> set[str]:
    """What the raw record itself says must be held (or advised) at as_of."""
    entries = [e["resource"] for e in bundle.get("entry", [])] if bundle.get("resourceType") == "Bundle" else [bundle]
    by_ref: dict[str, dict[str, Any]] = {}
    for r in entries:
        if r.get("resourceType") == "Medication":
            by_ref[f"Medication/{r['id']}"] = r
    wanted: set[str] = set()
    for r in entries:
        if not r.get("resourceType", "").startswith("Medication") or r["resourceType"] == "Medication":
            continue
        end = (r.get("effectivePeriod") or {}).get("end")
        if r.get("status") not in ACTIVE or (end and end[:10] < as_of.isoformat()):
            continue
        contained = {f"#{c['id']}": c for c in r.get("contained", [])} | by_ref
        for text in _drug_texts(r, contained):
            for drug in _named_hold_drugs(text):
                kind = V11.holds["entries"][drug]["kind"]
                topical = re.search(
                    r"topical|transdermal|\bgel\b|patch|cream|ointment", text.lower()
                ) and not re.search(r"oral|tablet|capsule|injection", text.lower())
                if kind == "advisory" or (topical and V11.holds["entries"][drug]["class"] == "nsaid"):
                    wanted.add(f"advisory:{drug}")
                elif kind in ("days", "prescriber"):
                    wanted.add(f"hold_medication:{drug}")
    return wanted


def _keys(decision: Decision) -> set[str]:
    return {f"{a.kind}:{a.medication}" for a in decision.actions if a.kind in ("hold_medication", "advisory")}


def _records() -> list[tuple[str, dict[str, Any], date]]:
    records = []
    for path in CASES:
        case = json.loads(path.read_text())
        records.append((path.name, case["bundle"], date.fromisoformat(case["as_of"])))
    lone: list[dict[str, Any]] = []
    for path in SAMPLES:
        document = json.loads(path.read_text())
        if document.get("resourceType") == "Bundle":
            records.append((path.name, document, date(2026, 12, 4)))
        else:  # the US Core examples are single resources about Patient/example: one record together
            lone.append({"resource": document})
    us_core = {"resourceType": "Bundle", "type": "collection", "entry": lone}
    records.append(("US Core examples", us_core, date(2026, 12, 4)))
    return records


@pytest.mark.parametrize(("name", "bundle", "as_of"), _records(), ids=[r[0] for r in _records()])
def test_every_active_hold_drug_named_in_a_case_or_sample_gets_its_hold(
    name: str, bundle: dict[str, Any], as_of: date
) -> None:
    wanted = _expected_hold_actions(bundle, as_of)
    decision = decide(json.dumps(bundle), as_of=as_of, policy=V11, decision_id="p", evaluated_at="2026-12-04T00:00:00Z")
    missing = wanted - _keys(decision)
    assert not missing, f"{name}: active medication named {sorted(missing)} without its hold/advisory"


# Real-world shapes of the same drug: SCD display with an unknown code, SBD, brand text, local code.
REAL_WORLD_NAMES = [
    "Ibuprofen 800 MG Oral Tablet",
    "ibuprofen 200 MG Oral Capsule [Advil]",
    "Motrin 600",
    "naproxen 375 MG Oral Tablet",
    "Aleve 220mg",
    "aspirin 81 MG Delayed Release Oral Tablet",
    "Bayer Aspirin 325",
    "clopidogrel 75 MG Oral Tablet",
    "PLAVIX 75MG TABS",
    "prasugrel 10 MG Oral Tablet [Effient]",
    "ticagrelor 90 MG Oral Tablet",
    "Brilinta 90 mg",
    "Warfarin Sodium 2 MG Oral Tablet",
    "Coumadin 5 mg",
    "apixaban 2.5 MG Oral Tablet",
    "rivaroxaban 15 MG Oral Tablet [Xarelto]",
    "edoxaban 60 MG Oral Tablet",
    "SAVAYSA 30MG",
    "dabigatran etexilate 75 MG Oral Capsule",
    "1 ML enoxaparin sodium 100 MG/ML Prefilled Syringe",
    "Lovenox 40 mg/0.4 mL",
    "heparin sodium, porcine 5000 UNT/ML Injectable Solution",
    "cilostazol 100 MG Oral Tablet",
    "meloxicam 15 MG Oral Tablet",
    "Mobic 7.5",
    "diclofenac sodium 75 MG Delayed Release Oral Tablet",
    "ketorolac tromethamine 10 MG Oral Tablet",
    "Fish Oil 1000 MG Oral Capsule",
    "Ginkgo biloba extract 60 mg",
]


@pytest.mark.parametrize("shape", ["scd", "text", "local", "referenced"])
@pytest.mark.parametrize("name", REAL_WORLD_NAMES)
def test_real_world_codings_of_hold_drugs_get_their_holds(name: str, shape: str) -> None:
    concept: dict[str, Any] = {
        "scd": {"coding": [{"system": RXNORM, "code": "999000111", "display": name}]},
        "text": {"text": name},
        "local": {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.698288", "code": "L-1", "display": name}]},
        "referenced": {"text": name},
    }[shape]
    if shape == "referenced":
        medication = {"resourceType": "Medication", "id": "med1", "code": concept}
        bundle = one_medication_record({"medicationReference": {"reference": "Medication/med1"}}, medication)
    else:
        bundle = one_medication_record({"medicationCodeableConcept": concept})
    wanted = _expected_hold_actions(bundle, date(2026, 6, 1))
    assert wanted, f"the test's own reading found no hold drug in {name!r}"
    decision = decide(json.dumps(bundle), as_of=date(2026, 6, 1), policy=V11, decision_id="p", evaluated_at="x")
    assert wanted <= _keys(decision), f"{name!r} as {shape}: got {sorted(_keys(decision))}"
    assert not decision.unrecognised
