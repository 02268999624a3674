"""Case-authoring helper: small builders for the FHIR R4 resources the decision cases use.

Only `_build_cases.py` imports this. The committed JSON case files are the source of truth; the runner
(`tests/test_decision_cases.py`) reads only the JSON. Regenerate with

    python tests/cases/_build_cases.py

Resources are shaped as an EHR sends them: ids, `Patient/<id>` (or `urn:uuid:`) subject references,
dateTime strings with an offset, clinicalStatus/verificationStatus codings, categories. Every time is
mid-day, so converting a dateTime to UTC never moves it to another calendar day.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
UCUM = "http://unitsofmeasure.org"
COND_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
COND_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
MEDREQ_STATUS_REASON = "http://terminology.hl7.org/CodeSystem/medicationrequest-status-reason"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

# The product's own code for a patient-reported percentage of pain relief during the trial.
# No LOINC for "percent pain relief" could be verified (reference §6.6 says to use a local code with
# the instrument name when no LOINC is verified); the policy must list this system|code.
PERCENT_RELIEF_SYSTEM = "http://drg-clinic.example.org/fhir/CodeSystem/observation"
PERCENT_RELIEF_CODE = "percent-pain-relief"

SYSTEMS = {"icd10": ICD10, "snomed": SNOMED, "rxnorm": RXNORM, "loinc": LOINC, "cpt": CPT, "hcpcs": HCPCS}

POLICY = "drg-clinic@1.0.0"
POLICY_V11 = "drg-clinic@1.1.0"  # spec §7: medications as EHRs code them; label UNDETERMINED
# The payer profile (reference §3.2-3.3): pain for 3 months, no failed injection or block required.
POLICY_V20 = "drg-clinic@2.0.0"
DEFAULT_AS_OF = "2026-06-01"

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
ELIGIBLE = frozenset({"ELIGIBLE_FOR_TRIAL", "ELIGIBLE_WITH_CONDITIONS", "ELIGIBLE_FOR_IMPLANT"})
STANDARD_PREP = ("medication_reconciliation", "fasting_instructions")
# Spec §4 hold before the procedure, in days (aspirin: primary prevention; secondary has no day count).
HOLD_DAYS = {
    "ibuprofen": 1,
    "naproxen": 4,
    "aspirin": 6,
    "clopidogrel": 7,
    "prasugrel": 7,
    "ticagrelor": 5,
    "warfarin": 5,
    "apixaban": 3,
    "rivaroxaban": 3,
    "edoxaban": 3,
    "dabigatran": 4,
    "dipyridamole": 2,
}

_PREFIX = {
    "Patient": "pt",
    "Condition": "cond",
    "Observation": "obs",
    "MedicationRequest": "medrx",
    "MedicationStatement": "medst",
    "Medication": "med",
    "Procedure": "proc",
    "Encounter": "enc",
    "Device": "dev",
}


def _digits(text: str) -> str:
    """A stable 7-digit number derived from text (Python's hash() is salted per process)."""
    return f"{uuid.uuid5(uuid.NAMESPACE_URL, text).int % 10**7:07d}"


def day(s: str) -> date:
    return date.fromisoformat(s)


def plus(s: str, days: int) -> str:
    return (day(s) + timedelta(days=days)).isoformat()


def dt(s: str, time: str = "10:30:00-05:00") -> str:
    """A dateTime on calendar day `s` (mid-day local time, the same day in UTC)."""
    return f"{s}T{time}"


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding; an empty `system` leaves the element out (as EHRs that send bare codes do)."""
    out: dict[str, Any] = {"system": SYSTEMS.get(system, system), "code": code} if system else {"code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: tuple[str, str, str | None] | tuple[str, str], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding(*c) for c in codings]}
    if text:
        out["text"] = text
    return out


class Case:
    """One patient record under construction, plus its case metadata."""

    def __init__(
        self,
        slug: str,
        *,
        patient_id: str | None = None,
        urn: bool = False,
        bundle_type: str = "collection",
    ) -> None:
        self.slug = slug
        self.urn = urn
        self.bundle_type = bundle_type
        self.entries: list[dict[str, Any]] = []
        self._counter: Counter[str] = Counter()
        self.patient_id = patient_id or f"{slug}-pt"
        self.subject: dict[str, str] = {"reference": ""}
        self.tags: list[str] = []

    # -- plumbing -------------------------------------------------------------------------------
    def _new_id(self, rtype: str) -> str:
        self._counter[rtype] += 1
        if self.urn:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"drg-case/{self.slug}/{rtype}/{self._counter[rtype]}"))
        return f"{_PREFIX[rtype]}-{self._counter[rtype]}"

    def add(self, resource: dict[str, Any]) -> str:
        """Add a resource; return the reference string other resources use for it."""
        rtype = resource["resourceType"]
        rid = resource["id"]
        if self.urn:
            full_url = f"urn:uuid:{rid}"
            ref = full_url
        else:
            full_url = f"https://ehr.example.org/fhir/{rtype}/{rid}"
            ref = f"{rtype}/{rid}"
        entry: dict[str, Any] = {"fullUrl": full_url, "resource": resource}
        if self.bundle_type == "transaction":
            entry["request"] = {"method": "POST", "url": rtype}
        elif self.bundle_type == "searchset":
            entry["search"] = {"mode": "match" if rtype == "Patient" else "include"}
        self.entries.append(entry)
        return ref

    def bundle(self, as_of: str = DEFAULT_AS_OF) -> dict[str, Any]:
        out: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": f"{self.slug}-bundle",
            "type": self.bundle_type,
            "timestamp": f"{as_of}T07:00:00Z",  # exported on the morning of the evaluation
        }
        if self.bundle_type == "searchset":
            out["total"] = 1
        out["entry"] = self.entries
        return out

    # -- resources ------------------------------------------------------------------------------
    def patient(
        self,
        *,
        birth_date: str | None = "1971-03-14",
        gender: str | None = "female",
        family: str = "Testpatient",
        given: str = "Alex",
    ) -> str:
        rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"drg-case/{self.slug}/Patient")) if self.urn else self.patient_id
        res: dict[str, Any] = {
            "resourceType": "Patient",
            "id": rid,
            "identifier": [{"system": "https://ehr.example.org/mrn", "value": "MRN-" + _digits(self.slug)}],
            "name": [{"use": "official", "family": family, "given": [given]}],
        }
        if gender is not None:
            res["gender"] = gender
        if birth_date is not None:
            res["birthDate"] = birth_date
        ref = self.add(res)
        self.subject = {"reference": ref}
        return ref

    def condition(
        self,
        codes: list[tuple[str, str, str]],
        *,
        text: str | None = None,
        onset: str | None = None,
        recorded: str | None = None,
        clinical: str | None = "active",
        verification: str | None = "confirmed",
        body_site: list[tuple[str, str, str]] | None = None,
        abatement: str | None = None,
        category: str = "problem-list-item",
    ) -> str:
        res: dict[str, Any] = {"resourceType": "Condition", "id": self._new_id("Condition")}
        if clinical is not None:
            res["clinicalStatus"] = concept((COND_CLINICAL, clinical))
        if verification is not None:
            res["verificationStatus"] = concept((COND_VER, verification))
        res["category"] = [concept((COND_CATEGORY, category))]
        res["code"] = concept(*codes, text=text or codes[0][2])
        if body_site:
            res["bodySite"] = [concept(bs) for bs in body_site]
        res["subject"] = self.subject
        if onset:
            res["onsetDateTime"] = dt(onset)
        if abatement:
            res["abatementDateTime"] = dt(abatement)
        if recorded:
            res["recordedDate"] = dt(recorded, "11:00:00-05:00")
        return self.add(res)

    def _observation(
        self,
        code: dict[str, Any],
        category: str,
        effective: str,
        status: str = "final",
        **value: Any,
    ) -> str:
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self._new_id("Observation"),
            "status": status,
            "category": [concept((OBS_CATEGORY, category))],
            "code": code,
            "subject": self.subject,
            "effectiveDateTime": dt(effective, "09:45:00-05:00"),
        }
        res.update(value)
        return self.add(res)

    def pain_score(self, effective: str, value: float, *, status: str = "final") -> str:
        return self._observation(
            concept(("loinc", "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")),
            "vital-signs",
            effective,
            status,
            valueQuantity={"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"},
        )

    def smoking(self, effective: str, answer: str, text: str) -> str:
        return self._observation(
            concept(("loinc", "72166-2", "Tobacco smoking status"), text="Tobacco smoking status"),
            "social-history",
            effective,
            valueCodeableConcept=concept(("snomed", answer), text=text),
        )

    def pregnancy(self, effective: str, answer: tuple[str, str, str]) -> str:
        return self._observation(
            concept(("loinc", "82810-3", "Pregnancy status")),
            "social-history",
            effective,
            valueCodeableConcept=concept(answer),
        )

    def percent_relief(self, effective: str, percent: float) -> str:
        return self._observation(
            concept(
                (PERCENT_RELIEF_SYSTEM, PERCENT_RELIEF_CODE, "Patient-reported percent pain relief during trial"),
                text="Percent pain relief (patient-reported, DRG trial)",
            ),
            "survey",
            effective,
            valueQuantity={"value": percent, "unit": "%", "system": UCUM, "code": "%"},
        )

    def _medication_x(self, rx: tuple[str, str] | None, mode: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """medication[x] plus any contained resources. mode: concept | contained | reference."""
        if rx is None:
            raise ValueError("a medication needs rx or medication")
        rxcui, display = rx
        code = concept(("rxnorm", rxcui, display), text=display)
        if mode == "concept":
            return {"medicationCodeableConcept": code}, []
        med = {"resourceType": "Medication", "id": self._new_id("Medication"), "code": code}
        if mode == "contained":
            med["id"] = "med1"
            return {"medicationReference": {"reference": "#med1", "display": display}}, [med]
        ref = self.add(med)
        return {"medicationReference": {"reference": ref, "display": display}}, []

    def medication(self, code: dict[str, Any], *, form: dict[str, Any] | None = None) -> str:
        """A Medication resource of its own (for medicationReference); returns its reference."""
        med: dict[str, Any] = {"resourceType": "Medication", "id": self._new_id("Medication"), "code": code}
        if form:
            med["form"] = form
        return self.add(med)

    def med_request(
        self,
        rx: tuple[str, str] | None,
        *,
        status: str,
        authored: str,
        validity: tuple[str, str] | None = None,
        supply_days: int | None = None,
        repeats: int | None = None,
        status_reason: dict[str, Any] | None = None,
        reason: list[tuple[str, str, str]] | None = None,
        dosage: str | None = None,
        mode: str = "concept",
        medication: dict[str, Any] | None = None,
        contained: list[dict[str, Any]] | None = None,
    ) -> str:
        """`rx` as (RxCUI, display); or `medication` as sent (medication[x]) with its `contained`."""
        med_x, contained = (medication, contained or []) if medication else self._medication_x(rx, mode)
        res: dict[str, Any] = {"resourceType": "MedicationRequest", "id": self._new_id("MedicationRequest")}
        if contained:
            res["contained"] = contained
        res["status"] = status
        if status_reason:
            res["statusReason"] = status_reason
        res["intent"] = "order"
        res.update(med_x)
        res["subject"] = self.subject
        res["authoredOn"] = dt(authored, "11:15:00-05:00")
        if reason:
            res["reasonCode"] = [concept(r) for r in reason]
        if dosage:
            res["dosageInstruction"] = [{"text": dosage}]
        dispense: dict[str, Any] = {}
        if validity:
            dispense["validityPeriod"] = {"start": validity[0], "end": validity[1]}
        if repeats is not None:
            dispense["numberOfRepeatsAllowed"] = repeats
        if supply_days is not None:
            dispense["expectedSupplyDuration"] = {"value": supply_days, "unit": "days", "system": UCUM, "code": "d"}
        if dispense:
            res["dispenseRequest"] = dispense
        return self.add(res)

    def med_statement(
        self,
        rx: tuple[str, str] | None,
        *,
        status: str,
        start: str,
        end: str | None = None,
        status_reason: list[dict[str, Any]] | None = None,
        reason: list[tuple[str, str, str]] | None = None,
        dosage: str | None = None,
        mode: str = "concept",
        medication: dict[str, Any] | None = None,
        contained: list[dict[str, Any]] | None = None,
    ) -> str:
        med_x, contained = (medication, contained or []) if medication else self._medication_x(rx, mode)
        res: dict[str, Any] = {"resourceType": "MedicationStatement", "id": self._new_id("MedicationStatement")}
        if contained:
            res["contained"] = contained
        res["status"] = status
        if status_reason:
            res["statusReason"] = status_reason
        res.update(med_x)
        res["subject"] = self.subject
        period: dict[str, str] = {"start": start}
        if end:
            period["end"] = end
        res["effectivePeriod"] = period
        res["dateAsserted"] = dt(end or start, "12:00:00-05:00")
        if reason:
            res["reasonCode"] = [concept(r) for r in reason]
        if dosage:
            res["dosage"] = [{"text": dosage}]
        return self.add(res)

    def procedure(
        self,
        codes: list[tuple[str, str, str]],
        *,
        performed: str | None = None,
        period: tuple[str, str] | None = None,
        outcome: tuple[str, str, str] | None = None,
        body_site: list[tuple[str, str, str]] | None = None,
        status: str = "completed",
        note: str | None = None,
    ) -> str:
        res: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": self._new_id("Procedure"),
            "status": status,
            "code": concept(*codes, text=codes[0][2]),
            "subject": self.subject,
        }
        if performed:
            res["performedDateTime"] = dt(performed, "13:00:00-05:00")
        if period:
            res["performedPeriod"] = {"start": dt(period[0], "08:00:00-05:00"), "end": dt(period[1], "16:00:00-05:00")}
        if body_site:
            res["bodySite"] = [concept(bs) for bs in body_site]
        if outcome:
            res["outcome"] = concept(outcome)
        if note:
            res["note"] = [{"text": note}]
        return self.add(res)

    def encounter(self, codes: list[tuple[str, str, str]], *, start: str) -> str:
        res = {
            "resourceType": "Encounter",
            "id": self._new_id("Encounter"),
            "status": "finished",
            "class": coding(ACT_CODE, "AMB", "ambulatory"),
            "type": [concept(*codes, text=codes[0][2])],
            "subject": self.subject,
            "period": {"start": dt(start, "09:00:00-05:00"), "end": dt(start, "10:30:00-05:00")},
        }
        return self.add(res)

    def device(self, codes: list[tuple[str, str, str]], *, name: str, status: str = "active") -> str:
        res = {
            "resourceType": "Device",
            "id": self._new_id("Device"),
            "status": status,
            "deviceName": [{"name": name, "type": "user-friendly-name"}],
            "type": concept(*codes, text=name),
            "patient": self.subject,
        }
        return self.add(res)


def expect(
    outcome: str,
    *,
    stage: str = "trial",
    label: str = "ON_LABEL",
    actions: tuple[str, ...] | list[str] = (),
    absent: tuple[str, ...] | list[str] = (),
    aspirin_secondary: bool = False,
    **criteria: str,
) -> dict[str, Any]:
    """The expected block: every criterion defaults to `met`; standard preparation is appended
    exactly when the outcome is eligible (spec §4, §6 "Actions"); each hold gets its §4 day count
    (`action_details`), aspirin for secondary prevention none and the note "prescriber decision"."""
    ids = (*TRIAL_CRITERIA, "trial_response") if stage == "implant" else TRIAL_CRITERIA
    unknown_ids = set(criteria) - set(ids)
    if unknown_ids:
        raise ValueError(f"unknown criteria {sorted(unknown_ids)} for stage {stage}")
    crit = {cid: criteria.get(cid, "met") for cid in ids}
    acts = list(actions)
    if outcome in ELIGIBLE:
        acts += STANDARD_PREP
    out: dict[str, Any] = {
        "outcome": outcome,
        "stage": stage,
        "label_status": label,
        "criteria": crit,
        "actions": acts,
    }
    if absent:
        out["absent_actions"] = list(absent)
    details: dict[str, Any] = {}
    for key in acts:
        kind, _, drug = key.partition(":")
        if kind != "hold_medication":
            continue
        if drug == "aspirin" and aspirin_secondary:
            details[key] = {"days_before": None, "note_contains": "prescriber decision"}
        else:
            details[key] = {"days_before": HOLD_DAYS[drug], "note_contains": "confirm with the prescriber"}
    if details:
        out["action_details"] = details
    return out


def write_case(
    directory: Path,
    number: int,
    case: Case,
    *,
    description: str,
    expected: dict[str, Any],
    as_of: str = DEFAULT_AS_OF,
    policy: str = POLICY,
    under: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """`under`: the other policy versions the case also runs under, each with what its expectation
    changes (criteria merge; any other key replaces)."""
    data: dict[str, Any] = {
        "name": case.slug,
        "description": description,
        "as_of": as_of,
        "policy": policy,
        "tags": sorted(set(case.tags)),
        "expected": expected,
    }
    if under:
        data["expected_under"] = under
    data["bundle"] = case.bundle(as_of)
    path = directory / f"{number:03d}-{case.slug}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
