"""Validated read resources (plain JSON dicts) -> the typed facts of `eligibility.facts`.

Projection reads the dicts rather than the pydantic models: the resources were validated just before,
and reading dicts is several times faster than walking the models. Statuses are kept as sent; the
engine decides what counts (facts.py). References the facts need are resolved here and must resolve.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from eligibility.errors import DanglingReferenceError
from eligibility.facts import (
    AllergyFact,
    Coding,
    ConditionFact,
    DeviceFact,
    EncounterFact,
    MedicationFact,
    ObservationFact,
    PatientFact,
    ProcedureFact,
)

from .codes import cc_text, codings, codings_of_all, extension_codings, first_code
from .dates import add_months, day_before, first_day, last_day
from .parsing import with_article
from .references import IndexedEntry, ResourceIndex, Target, reference_type

__all__ = ["SUBJECT_FIELDS", "Fact", "Projector"]

Fact = ConditionFact | MedicationFact | ProcedureFact | ObservationFact | EncounterFact | DeviceFact | AllergyFact

# The element that ties each read resource to its patient.
SUBJECT_FIELDS: dict[str, str] = {
    "AllergyIntolerance": "patient",
    "Condition": "subject",
    "Device": "patient",
    "Encounter": "subject",
    "MedicationAdministration": "subject",
    "MedicationRequest": "subject",
    "MedicationStatement": "subject",
    "Observation": "subject",
    "Procedure": "subject",
}

ASSERTED_DATE_URL = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"

# Days per UCUM unit of time; "mo" and "a" are UCUM's mean Julian month and year.
_DAYS_PER_UNIT: dict[str, float] = {
    "s": 1 / 86400,
    "min": 1 / 1440,
    "h": 1 / 24,
    "d": 1.0,
    "wk": 7.0,
    "mo": 30.4375,
    "a": 365.25,
}
_UNIT_WORDS: dict[str, str] = {
    "day": "d",
    "days": "d",
    "week": "wk",
    "weeks": "wk",
    "month": "mo",
    "months": "mo",
    "year": "a",
    "years": "a",
    "hour": "h",
    "hours": "h",
}
_MONTHS_PER_AGE_UNIT: dict[str, int] = {"a": 12, "mo": 1, "year": 12, "years": 12, "month": 1, "months": 1}


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


# Bounds on numbers that feed date arithmetic (issue 12): beyond them, dates overflowed the calendar.
_MAX_AGE_MONTHS = 200 * 12
_MAX_REPEATS = 100
_MAX_SUPPLY_DAYS = 3660


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _concept_label(concept: Any) -> str | None:
    """A CodeableConcept's text, else its first coding display (codes are not a drug name)."""
    text = _text(_get(concept, "text"))
    if text is not None:
        return text
    return next((c.display.strip() for c in codings(concept) if c.display and c.display.strip()), None)


def _flatten_reasons(concepts: list[Any]) -> str | None:
    texts = [text for text in (cc_text(concept) for concept in concepts) if text]
    return "; ".join(texts) if texts else None


def _body_sites(concepts: Any) -> tuple[Coding, ...]:
    if isinstance(concepts, dict):
        concepts = [concepts]
    if not isinstance(concepts, list):
        return ()
    return tuple(c for concept in concepts for c in (*codings(concept), *extension_codings(concept)))


class Projector:
    """Projects the read resources of one record whose single Patient is `patient`."""

    def __init__(self, index: ResourceIndex, patient: IndexedEntry, warnings: list[str]) -> None:
        self._index = index
        self._patient = patient
        self._patient_key = patient.identity or ""
        self._warnings = warnings
        self._birth_last = last_day(patient.resource.get("birthDate"))

    def patient_fact(self) -> PatientFact:
        resource = self._patient.resource
        gender = resource.get("gender")
        return PatientFact(
            reference=self._patient_key,
            # A partial birthDate ("1990") reads as its last day: a patient is never made older than
            # the record proves, which is the safe direction for the `adult` criterion.
            birth_date=last_day(resource.get("birthDate")),
            gender=gender if isinstance(gender, str) else None,
        )

    def project(self, item: IndexedEntry) -> Fact | None:
        """The fact of one read resource (None for Patient and Medication, which are read elsewhere)."""
        resource_type = item.resource["resourceType"]
        if resource_type in SUBJECT_FIELDS:
            self._check_subject(item, SUBJECT_FIELDS[resource_type])
        if resource_type == "Condition":
            return self._condition(item)
        if resource_type in ("MedicationRequest", "MedicationStatement", "MedicationAdministration"):
            return self._medication(item)
        if resource_type == "Procedure":
            return self._procedure(item)
        if resource_type == "Observation":
            return self._observation(item)
        if resource_type == "Encounter":
            return self._encounter(item)
        if resource_type == "Device":
            return self._device(item)
        if resource_type == "AllergyIntolerance":
            return self._allergy(item)
        return None

    def _warn(self, location: str, message: str) -> None:
        self._warnings.append(f"{location}: {message}")

    def _check_subject(self, item: IndexedEntry, field: str) -> None:
        locator = item.raw.locator
        subject = item.resource.get(field)
        if subject is None:
            # Only Observation, Encounter and Device may lack one (R4 validation enforces the rest).
            self._warn(locator.at(field), f"no {field}; read as belonging to {self._patient_key}")
            return
        literal = subject.get("reference") if isinstance(subject, dict) else None
        if not isinstance(literal, str):
            self._warn(
                locator.at(field),
                f"{field} has no literal reference; read as belonging to {self._patient_key}",
            )
            return
        target = self._index.resolve(literal, item.resource, locator)
        if target is None:
            raise DanglingReferenceError(
                f"{field} reference {literal!r} does not resolve in this record",
                location=locator.at(f"{field}.reference"),
            )
        if target.key != self._patient_key:
            raise DanglingReferenceError(
                f"{field} reference {literal!r} is {target.key or 'another resource'}, not the record's "
                f"Patient {self._patient_key}",
                location=locator.at(f"{field}.reference"),
            )

    def _condition(self, item: IndexedEntry) -> ConditionFact:
        resource = item.resource
        asserted = next(
            (
                last_day(extension.get("valueDateTime"))
                for extension in resource.get("extension", ())
                if isinstance(extension, dict) and extension.get("url") == ASSERTED_DATE_URL
            ),
            None,
        )
        # Onset, recorded and asserted dates start the pain-duration criterion: a partial date ("2019-05")
        # is read as the LAST day it can mean, so that a duration is never overstated (first day would
        # add up to a year).
        onset = (
            last_day(resource.get("onsetDateTime"))
            or last_day(_get(resource, "onsetPeriod", "start"))
            or self._onset_from_age(resource.get("onsetAge"))
        )
        categories = tuple(c.code for c in codings_of_all(resource.get("category")) if c.code)
        return ConditionFact(
            reference=item.identity or "",
            codes=codings(resource.get("code")),
            clinical_status=first_code(resource.get("clinicalStatus")),
            verification_status=first_code(resource.get("verificationStatus")),
            onset=onset,
            recorded=last_day(resource.get("recordedDate")),
            asserted=asserted,
            # "_abatementDateTime" alone (a data-absent-reason extension) still says it abated.
            abated=any(key.lstrip("_").startswith("abatement") for key in resource),
            body_sites=_body_sites(resource.get("bodySite")),
            categories=categories,
            text=cc_text(resource.get("code")),
        )

    def _onset_from_age(self, age: Any) -> date | None:
        """onsetAge with the birth date: the last day of that year (month) of life, as for partial onsets."""
        value = _number(_get(age, "value"))
        unit = _get(age, "code") or _get(age, "unit")
        months = _MONTHS_PER_AGE_UNIT.get(unit) if isinstance(unit, str) else None
        if value is None or months is None or self._birth_last is None or value < 0 or value != int(value):
            return None
        if value * months > _MAX_AGE_MONTHS:  # issue 12: a huge age overflowed the calendar
            return None
        return day_before(add_months(self._birth_last, (int(value) + 1) * months))

    def _medication(self, item: IndexedEntry) -> MedicationFact:
        resource = item.resource
        kind = resource["resourceType"]
        codes, text = self._drug(item)
        concept_text, form = self._drug_names_and_form(item)
        form_codes, form_texts = _form_and_route(resource, form)
        validity_end: date | None = None
        supply_days: float | None = None
        repeats: int | None = None
        if kind == "MedicationRequest":
            start = first_day(resource.get("authoredOn"))
            end = None
            dispense = resource.get("dispenseRequest")
            validity_end = first_day(_get(dispense, "validityPeriod", "end"))
            supply_days = self._supply_days(item, _get(dispense, "expectedSupplyDuration"))
            allowed = _get(dispense, "numberOfRepeatsAllowed")
            repeats = allowed if isinstance(allowed, int) and not isinstance(allowed, bool) else None
            if repeats is not None and not 0 <= repeats <= _MAX_REPEATS:  # issue 12: overflowed the calendar
                self._warn(item.raw.locator.at("dispenseRequest.numberOfRepeatsAllowed"), f"{repeats} repeats not read")
                repeats = None
            status_reason = _flatten_reasons([resource.get("statusReason")])
        else:
            start = first_day(resource.get("effectiveDateTime")) or first_day(
                _get(resource, "effectivePeriod", "start")
            )
            end = first_day(_get(resource, "effectivePeriod", "end"))
            status_reason = _flatten_reasons(list(resource.get("statusReason", ())))
        return MedicationFact(
            reference=item.identity or "",
            kind=kind,
            codes=codes,
            status=_text(resource.get("status")),
            status_reason=status_reason,
            start=start,
            end=end,
            validity_end=validity_end,
            expected_supply_days=supply_days,
            repeats=repeats,
            reason_codes=codings_of_all(resource.get("reasonCode")) + self._reason_condition_codes(item),
            text=text,
            concept_text=concept_text,
            reference_display=_text(_get(resource, "medicationReference", "display")),
            form_codes=form_codes,
            form_texts=form_texts,
        )

    def _drug_names_and_form(self, item: IndexedEntry) -> tuple[str | None, Any]:
        """The drug concept's own text (not a display) and the Medication.form, when a Medication is referenced."""
        resource = item.resource
        text = _text(_get(resource, "medicationCodeableConcept", "text"))
        literal = _get(resource, "medicationReference", "reference")
        if not isinstance(literal, str):
            return text, None
        target = self._index.resolve(literal, resource, item.raw.locator)
        if target is None or target.resource_type != "Medication":
            return text, None  # _drug has raised already for a dangling reference
        return text or _text(_get(target.resource, "code", "text")), target.resource.get("form")

    def _drug(self, item: IndexedEntry) -> tuple[tuple[Coding, ...], str | None]:
        """The codes and name of the drug: its own concept, or the referenced / contained Medication."""
        resource = item.resource
        concept = resource.get("medicationCodeableConcept")
        codes = list(codings(concept))
        text = _concept_label(concept)
        reference = resource.get("medicationReference")
        if isinstance(reference, dict):
            literal = reference.get("reference")
            where = item.raw.locator.at("medicationReference.reference")
            if isinstance(literal, str):
                target = self._index.resolve(literal, resource, item.raw.locator)
                if target is None or target.resource_type != "Medication":
                    found = "does not resolve" if target is None else f"is {with_article(target.resource_type)}"
                    raise DanglingReferenceError(
                        f"medicationReference {literal!r} {found}; the drug cannot be identified",
                        location=where,
                    )
                codes.extend(self._medication_codes(target, {target.key}))
                text = text or _concept_label(target.resource.get("code"))
            else:
                self._warn(where, "medicationReference has no literal reference; only its display is read")
            text = text or _text(reference.get("display"))
        return tuple(codes), text

    def _medication_codes(self, medication: Target, seen: set[str]) -> list[Coding]:
        """Medication.code codings, then each ingredient's codings (itemReference followed)."""
        found = list(codings(medication.resource.get("code")))
        for index, ingredient in enumerate(medication.resource.get("ingredient", ())):
            if not isinstance(ingredient, dict):
                continue
            found.extend(codings(ingredient.get("itemCodeableConcept")))
            literal = _get(ingredient, "itemReference", "reference")
            if not isinstance(literal, str):
                continue
            where = medication.locator.at(f"ingredient[{index}].itemReference.reference")
            item = self._index.resolve(literal, medication.container, medication.container_locator)
            if item is None:
                if reference_type(literal) == "Substance":
                    # Substance is not a read type: a missing one loses a code, it does not void the record.
                    self._warn(where, f"ingredient {literal!r} is not in this record; its code is not read")
                    continue
                raise DanglingReferenceError(
                    f"ingredient itemReference {literal!r} does not resolve in this record", location=where
                )
            if item.resource_type == "Substance":
                found.extend(codings(item.resource.get("code")))
            elif item.resource_type == "Medication":
                if item.key not in seen:
                    found.extend(self._medication_codes(item, seen | {item.key}))
            else:
                raise DanglingReferenceError(
                    f"ingredient itemReference {literal!r} is {with_article(item.resource_type)}, "
                    "not a Substance or Medication",
                    location=where,
                )
        return found

    def _reason_condition_codes(self, item: IndexedEntry) -> tuple[Coding, ...]:
        found: list[Coding] = []
        for index, reason in enumerate(item.resource.get("reasonReference", ())):
            literal = _get(reason, "reference")
            if not isinstance(literal, str):
                continue
            target = self._index.resolve(literal, item.resource, item.raw.locator)
            if target is None:
                # Only references that may be a Condition are followed; Observation/DiagnosticReport
                # reasons are not read, so their absence is not an error.
                if reference_type(literal) in (None, "Condition"):
                    raise DanglingReferenceError(
                        f"reasonReference {literal!r} does not resolve in this record",
                        location=item.raw.locator.at(f"reasonReference[{index}].reference"),
                    )
                continue
            if target.resource_type == "Condition":
                found.extend(codings(target.resource.get("code")))
        return tuple(found)

    def _supply_days(self, item: IndexedEntry, duration: Any) -> float | None:
        if not isinstance(duration, dict):
            return None
        value = _number(duration.get("value"))
        code = duration.get("code")
        unit = duration.get("unit")
        key = code if isinstance(code, str) and code in _DAYS_PER_UNIT else None
        if key is None and isinstance(unit, str):
            word = unit.strip().lower()
            key = word if word in _DAYS_PER_UNIT else _UNIT_WORDS.get(word)
        if value is None or key is None:
            self._warn(
                item.raw.locator.at("dispenseRequest.expectedSupplyDuration"),
                f"duration {value!r} {code or unit!r} is not a number of time units; supply days not read",
            )
            return None
        days = value * _DAYS_PER_UNIT[key]
        if not 0 <= days <= _MAX_SUPPLY_DAYS:  # issue 12: a huge supply overflowed the calendar
            self._warn(
                item.raw.locator.at("dispenseRequest.expectedSupplyDuration"),
                f"a supply of {days:g} days is outside 0-{_MAX_SUPPLY_DAYS}; supply days not read",
            )
            return None
        return days

    def _procedure(self, item: IndexedEntry) -> ProcedureFact:
        resource = item.resource
        start: date | None = first_day(resource.get("performedDateTime"))
        end = start
        if start is None:
            start = first_day(_get(resource, "performedPeriod", "start"))
            end = first_day(_get(resource, "performedPeriod", "end"))
        return ProcedureFact(
            reference=item.identity or "",
            codes=codings(resource.get("code")),
            status=_text(resource.get("status")),
            start=start,
            end=end,
            outcome=codings(resource.get("outcome")),
            body_sites=_body_sites(resource.get("bodySite")),
            text=cc_text(resource.get("code")),
        )

    def _observation(self, item: IndexedEntry) -> ObservationFact:
        resource = item.resource
        effective = (
            first_day(resource.get("effectiveDateTime"))
            or first_day(_get(resource, "effectivePeriod", "start"))
            or first_day(resource.get("effectiveInstant"))
            or first_day(resource.get("issued"))
        )
        number, unit = _value_number(resource)
        concept = resource.get("valueCodeableConcept")
        components = tuple(
            (codings(component.get("code")), _value_number(component)[0])
            for component in resource.get("component", ())
            if isinstance(component, dict)
        )
        return ObservationFact(
            reference=item.identity or "",
            codes=codings(resource.get("code")),
            status=_text(resource.get("status")),
            effective=effective,
            value_number=number,
            value_unit=unit,
            value_codes=codings(concept),
            value_text=_text(resource.get("valueString")) or _text(_get(concept, "text")),
            body_sites=_body_sites(resource.get("bodySite")),
            components=components,
        )

    def _encounter(self, item: IndexedEntry) -> EncounterFact:
        resource = item.resource
        types = codings_of_all(resource.get("type")) + codings(resource.get("serviceType"))
        encounter_class = resource.get("class")
        if isinstance(encounter_class, dict):
            types += codings({"coding": [encounter_class]})
        return EncounterFact(
            reference=item.identity or "",
            types=types,
            status=_text(resource.get("status")),
            start=first_day(_get(resource, "period", "start")),
            end=first_day(_get(resource, "period", "end")),
            reason_codes=codings_of_all(resource.get("reasonCode")),
        )

    def _device(self, item: IndexedEntry) -> DeviceFact:
        resource = item.resource
        names = [name for name in (_text(_get(n, "name")) for n in resource.get("deviceName", ())) if name]
        return DeviceFact(
            reference=item.identity or "",
            types=codings(resource.get("type")),
            status=_text(resource.get("status")),
            date=None,  # R4 has no implant date on Device; manufactureDate is not clinical
            text="; ".join(names) if names else cc_text(resource.get("type")),
        )

    def _allergy(self, item: IndexedEntry) -> AllergyFact:
        resource = item.resource
        return AllergyFact(
            reference=item.identity or "",
            codes=codings(resource.get("code")),
            clinical_status=first_code(resource.get("clinicalStatus")),
            verification_status=first_code(resource.get("verificationStatus")),
            date=first_day(resource.get("onsetDateTime"))
            or first_day(_get(resource, "onsetPeriod", "start"))
            or first_day(resource.get("recordedDate")),
        )


def _form_and_route(resource: dict[str, Any], form: Any) -> tuple[tuple[Coding, ...], tuple[str, ...]]:
    """Medication.form and every dosage route / method / site as codings and texts (as sent)."""
    concepts: list[Any] = [form]
    for key in ("dosageInstruction", "dosage"):
        dosages = resource.get(key)
        if isinstance(dosages, dict):  # MedicationAdministration.dosage is a single element
            dosages = [dosages]
        for dosage in dosages if isinstance(dosages, list) else ():
            if isinstance(dosage, dict):
                concepts += [dosage.get("route"), dosage.get("method"), dosage.get("site")]
                if isinstance(dosage.get("text"), str):
                    concepts.append({"text": dosage["text"]})
    found = tuple(c for concept in concepts for c in codings(concept))
    texts = [_text(_get(concept, "text")) for concept in concepts]
    texts += [c.display for c in found if c.display]
    return found, tuple(t for t in texts if t)


def _value_number(element: dict[str, Any]) -> tuple[float | None, str | None]:
    """valueQuantity.value (Synthea writes pain scores as 3.0) or valueInteger, with the unit."""
    quantity = element.get("valueQuantity")
    if isinstance(quantity, dict):
        unit = _text(quantity.get("unit")) or _text(quantity.get("code"))
        return _number(quantity.get("value")), unit
    return _number(element.get("valueInteger")), None
