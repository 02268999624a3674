"""Patients with bad data are rejected, reported with their place in the export, recorded, and the run goes on."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import orjson

from benchmarks.synthetic_export import write_export
from eligibility.audit.database import SessionFactory
from eligibility.batch import BatchOptions, run_batch
from eligibility.from_fhir import decide

from .conftest import AS_OF, audit_records, ndjson, patient_bundle

URN_PATIENT = "5b1c2c4e-9a57-4a35-8d5e-6c1f4f0b9a11"


def _append(path: Path, *lines: bytes) -> int:
    """Append lines; the number of the first appended line."""
    before = len(path.read_bytes().splitlines())
    with open(path, "ab") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))
    return before + 1


def _broken_export(directory: Path) -> dict[str, object]:
    write_export(directory, 6, seed=3)
    first_patient = orjson.loads((directory / "Patient.ndjson").read_bytes().splitlines()[0])["id"]
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "valueQuantity": {"value": 7},
    }
    bad_json = _append(
        directory / "Observation.ndjson",
        b'{"resourceType": "Observation", "id": ',
        b"[1, 2]",
        orjson.dumps({**observation, "id": "orphan-1", "subject": {"reference": "Patient/ghost"}}),
        orjson.dumps(
            {**observation, "id": "bad-status", "status": 123, "subject": {"reference": f"Patient/{first_patient}"}}
        ),
        orjson.dumps({**observation, "id": "urn-obs", "subject": {"reference": f"urn:uuid:{URN_PATIENT}"}}),
    )
    no_id = _append(
        directory / "Patient.ndjson",
        b'{"resourceType": "Patient", "gender": "female"}',
        orjson.dumps({"resourceType": "Patient", "id": URN_PATIENT, "birthDate": "1970-01-01"}),
    )
    # One file compressed, as exports often are.
    condition = directory / "Condition.ndjson"
    (directory / "Condition.ndjson.gz").write_bytes(gzip.compress(condition.read_bytes()))
    condition.unlink()
    return {"first_patient": first_patient, "bad_json": bad_json, "no_id": no_id}


def test_bad_patients_and_lines_are_rejected_recorded_and_reported(audit: SessionFactory, tmp_path: Path) -> None:
    export = tmp_path / "export"
    facts = _broken_export(export)
    out = tmp_path / "out" / "decisions.ndjson"
    summary = run_batch(BatchOptions(export, out, as_of=AS_OF, workers=1, chunk_patients=4, session_factory=audit))

    decided = {d["patient"]["reference"] for d in ndjson(out)}
    rejected = ndjson(out.with_name(out.name + ".rejected.ndjson"))
    by_key = {(r["patient"] or {}).get("reference") or r["source"]: r for r in rejected}
    line = facts["bad_json"]
    assert by_key[f"Observation.ndjson line {line}"]["error"]["type"] == "NotJSONError"
    assert by_key[f"Observation.ndjson line {line}"]["patient"] is None
    assert by_key[f"Observation.ndjson line {line + 1}"]["error"]["type"] == "NotFHIRError"
    assert by_key[f"Patient.ndjson line {facts['no_id']}"]["error"]["type"] == "InvalidResourceError"

    orphan = by_key["Patient/ghost"]
    assert orphan["error"]["type"] == "PatientCountError"

    invalid = by_key[f"Patient/{facts['first_patient']}"]
    assert invalid["error"]["type"] == "InvalidResourceError"
    assert invalid["error"]["location"].startswith("Bundle.entry[")
    assert invalid["source"] == f"Observation.ndjson line {line + 3}: status"

    # urn:uuid references group with their Patient; the adapter resolves urn:uuid only through a fullUrl,
    # which NDJSON has none of - batch gives what the single-patient path gives for these resources.
    urn = by_key[f"Patient/{URN_PATIENT}"]
    assert urn["error"]["type"] == "DanglingReferenceError"

    assert len(decided) == 5  # 6 generated, one with an invalid Observation
    assert len(rejected) == 6  # 3 unplaceable lines, the orphan, the invalid and the urn:uuid patient
    assert (summary.decided, summary.rejected, summary.bad_lines) == (5, 6, 3)
    assert len(audit_records(audit, "decision")) == 5
    assert len(audit_records(audit, "rejection")) == 6


def test_urn_uuid_group_matches_the_single_patient_path(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "id": URN_PATIENT, "birthDate": "1970-01-01"}
    observation = {
        "resourceType": "Observation",
        "id": "urn-obs",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "subject": {"reference": f"urn:uuid:{URN_PATIENT}"},
    }
    try:
        decide(patient_bundle([patient, observation]), as_of=AS_OF, decision_id="x", evaluated_at="t")
    except Exception as exc:
        assert type(exc).__name__ == "DanglingReferenceError"
    else:
        raise AssertionError("the single-patient path accepted an unresolvable urn:uuid subject")


def test_the_summary_counts_distinct_unrecognised_medications(audit: SessionFactory, tmp_path: Path) -> None:
    """Spec §7: what the policy cannot identify is counted for the run (distinct drugs, patients each)."""
    from eligibility.batch.summary import summary_table

    export = tmp_path / "export"
    write_export(export, 4, seed=5)
    patients = [orjson.loads(line)["id"] for line in (export / "Patient.ndjson").read_bytes().splitlines()]

    def request(rid: str, patient: str, text: str) -> bytes:
        return orjson.dumps(
            {
                "resourceType": "MedicationRequest",
                "id": rid,
                "status": "active",
                "intent": "order",
                "subject": {"reference": f"Patient/{patient}"},
                "authoredOn": "2025-01-01",
                "medicationCodeableConcept": {"text": text},
            }
        )

    _append(
        export / "MedicationRequest.ndjson",
        request("u1", patients[0], "kratom capsules"),
        request("u2", patients[1], "kratom capsules"),
        request("u3", patients[1], "Zzyzx 10 mg"),
        request("k1", patients[2], "Eliquis 5 mg"),  # identified by its brand: not counted
    )
    out = tmp_path / "out" / "decisions.ndjson"
    summary = run_batch(BatchOptions(export, out, as_of=AS_OF, workers=1, session_factory=audit))
    assert summary.unrecognised == {("", "", "kratom capsules"): 2, ("", "", "Zzyzx 10 mg"): 1}
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(summary_table(summary))
    assert re.search(r"unrecognised medications\s*│\s*2\s*│\s*│ distinct; most common: kratom", console.export_text())
