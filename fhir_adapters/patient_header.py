"""Who the patient is, for people: name, MRN, birth date and sex from a record's Patient resource.

A decision names its patient only by reference (`Patient/d78af07c-…`), which nobody can tell apart on a
screen. The header is read from the input the decision was made from (the stored canonical input, or
the submission at hand), when a decision is shown to a role that may read it — it is never written
into the decision record, the hash-chained audit metadata or the logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

__all__ = ["PatientHeader", "patient_header"]

# Identifier types of an MRN (HL7 v2-0203 "MR"), and system names sites use for one.
_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


@dataclass(frozen=True, slots=True)
class PatientHeader:
    name: str | None
    mrn: str | None
    birth_date: str | None  # as sent (may be partial: "1971", "1971-03")
    sex: str | None  # administrative gender as sent

    def age_on(self, day: date) -> int | None:
        if not self.birth_date or len(self.birth_date) < 10:
            return None
        try:
            born = date.fromisoformat(self.birth_date[:10])
        except ValueError:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def line(self, as_of: date | None = None) -> str:
        """"Maria Okafor · MRN 0012345 · born 1971-03-14 (55 on 2026-06-01) · female"."""
        parts = [self.name or "(no name on record)"]
        if self.mrn:
            parts.append(f"MRN {self.mrn}")
        if self.birth_date:
            age = self.age_on(as_of) if as_of else None
            on = f" ({age} on {as_of.isoformat()})" if as_of is not None and age is not None else ""
            parts.append(f"born {self.birth_date}{on}")
        if self.sex:
            parts.append(self.sex)
        return " · ".join(parts)


def patient_header(raw: bytes | dict[str, Any]) -> PatientHeader | None:
    """The header of the record's one Patient (a Bundle, NDJSON or a lone Patient); None when there is none."""
    patient = _patient(raw)
    if patient is None:
        return None
    birth = patient.get("birthDate")
    gender = patient.get("gender")
    return PatientHeader(
        name=_name(patient.get("name")),
        mrn=_mrn(patient.get("identifier")),
        birth_date=birth if isinstance(birth, str) else None,
        sex=gender if isinstance(gender, str) else None,
    )


def _patient(raw: bytes | dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(raw, dict):
        document: Any = raw
    else:
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            lines = (orjson.loads(line) for line in raw.splitlines() if line.strip())
            return next((r for r in lines if isinstance(r, dict) and r.get("resourceType") == "Patient"), None)
    if not isinstance(document, dict):
        return None
    if document.get("resourceType") == "Patient":
        return document
    for entry in document.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            return resource
    return None


def _name(names: Any) -> str | None:
    if not isinstance(names, list):
        return None
    usable = [n for n in names if isinstance(n, dict)]
    # official first, then usual, then whatever comes first; never an old or nickname one if others exist
    rank = {"official": 0, "usual": 1}
    usable.sort(key=lambda n: rank.get(str(n.get("use")), 2 if n.get("use") not in ("old", "nickname") else 3))
    for name in usable:
        text = name.get("text")
        if isinstance(text, str) and text.strip():
            return text.strip()
        given = [g for g in name.get("given") or () if isinstance(g, str)]
        family = name.get("family")
        full = " ".join([*given, family if isinstance(family, str) else ""]).strip()
        if full:
            return full
    return None


def _mrn(identifiers: Any) -> str | None:
    if not isinstance(identifiers, list):
        return None
    usable = [i for i in identifiers if isinstance(i, dict) and isinstance(i.get("value"), str)]
    for identifier in usable:
        codings = (identifier.get("type") or {}).get("coding") or ()
        if any(isinstance(c, dict) and c.get("system") == _V2_0203 and c.get("code") == "MR" for c in codings):
            return str(identifier["value"])
    for identifier in usable:
        if "mrn" in str(identifier.get("system", "")).lower():
            return str(identifier["value"])
    return None  # never another identifier in its place (it may be a social security or licence number)
