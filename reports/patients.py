"""Who the patients of a report are: "Ana Rivera · MRN 0012345 · born 1978-03-14", per decision.

Decision records name a patient only by reference; a compliance officer reading Table 7 (time to
first review) or an evidence pack needs the person. The header is read from each decision's stored
input (fhir_adapters/patient_header.py) when the report is made, for the roles that may read every
decision (compliance, admin, and the CLI's operator); it is never written back into the trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.errors import AuditError
from fhir_adapters.patient_header import PatientHeader, patient_header
from reports.compliance import ComplianceReport

__all__ = ["candidate_names", "header_of", "patient_label", "with_patients"]

_UNKNOWN = "–"


def patient_label(header: PatientHeader | None) -> str:
    """Name, MRN and birth date: enough to tell two patients apart in a table row."""
    if header is None:
        return _UNKNOWN
    parts = [header.name or "(no name on record)"]
    if header.mrn:
        parts.append(f"MRN\u00a0{header.mrn}")  # no-break spaces: a narrow column wraps between parts
    if header.birth_date:
        parts.append(f"born\u00a0{header.birth_date}")
    return " · ".join(parts)


def header_of(session: Session, decision_id: str) -> PatientHeader | None:
    """The patient header of a recorded decision's input; None when the trail has no input for it."""
    record = store.get_decision_record(session, decision_id)
    if record is None or record.input_sha256 is None:
        return None
    try:
        return patient_header(store.get_input(session, record.input_sha256))
    except AuditError:  # a missing or altered input: the evidence pack says so; here the name is unknown
        return None


def _labels(session: Session, decision_ids: Iterable[str]) -> dict[str, str]:
    return {decision_id: patient_label(header_of(session, decision_id)) for decision_id in set(decision_ids)}


def with_patients(session: Session, report: ComplianceReport) -> ComplianceReport:
    """`report` with a `patient` column in the time-to-review table (Table 7), after the decision."""
    table = report.time_to_review.copy()
    labels = _labels(session, table["decision_id"])
    table.insert(1, "patient", [labels[d] for d in table["decision_id"]])
    table["patient"] = table["patient"].astype("str")
    return replace(report, time_to_review=table)


def candidate_names(session: Session, decision_ids: Iterable[str]) -> dict[str, str]:
    """decision id -> patient label, for the decisions this trail holds with their input (batch runs
    record each patient's canonical input, Patient included); others are left out."""
    found: dict[str, str] = {}
    for decision_id in set(decision_ids):
        header = header_of(session, decision_id) if decision_id else None
        if header is not None:
            found[decision_id] = patient_label(header)
    return found
