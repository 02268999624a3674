"""`drg-eligibility terms`: the codes a policy did not recognise, most frequent first."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from eligibility.cli import _register_commands, app
from eligibility.policy import load_policy
from eligibility.terms import collect_terms

CASES = Path(__file__).parent / "cases"
SAMPLES = Path(__file__).resolve().parents[1] / "examples" / "fhir-samples"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
V11 = load_policy("drg-clinic@1.1.0")


def _rows(paths: list[Path]) -> dict[tuple[str, str, str], tuple[int, str, str]]:
    report = collect_terms(paths, V11, as_of=date(2026, 6, 1))
    return {(r.term.kind, r.term.system, r.term.code): (r.count, r.example, r.term.display) for r in report.rows}


def _case_bundles(directory: Path) -> Path:
    """The decision cases' records as the plain FHIR Bundle files an EHR would send."""
    directory.mkdir()
    for case in sorted(CASES.glob("[0-9][0-9][0-9]-*.json")):
        (directory / case.name).write_text(json.dumps(json.loads(case.read_text())["bundle"]))
    return directory


def test_the_decision_cases_list_exactly_what_the_policy_cannot_read(tmp_path: Path) -> None:
    rows = _rows([_case_bundles(tmp_path / "records")])
    assert rows[("medication", RXNORM, "2601723")][0] == 1
    assert rows[("medication", "", "")][2] == "kratom capsules (herbal)"
    assert ("unmapped-system", "", "G90.521") in rows
    # RxCUI 42463 is pravastatin, known to the policy: not a terminology gap (its text conflict is a decision note)
    assert not [k for k in rows if k[2] == "42463"]
    assert not [k for k in rows if k[0] == "medication" and k[2] in {"197806", "198014", "1364445"}]


def test_the_public_samples_surface_their_local_and_unknown_codes() -> None:
    rows = _rows([SAMPLES])
    kinds = {kind for kind, _, _ in rows}
    assert kinds <= {"medication", "unmapped-system", "local-code"}
    # Liz Conn's hydrochlorothiazide is identified (a known ingredient without a role): nothing to map
    assert not [k for k in rows if k[2] == "316049"]


def test_a_bulk_export_is_read_with_its_referenced_medications(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    patients = [{"resourceType": "Patient", "id": f"p{i}"} for i in range(3)]
    medication = {
        "resourceType": "Medication",
        "id": "m-local",
        "code": {"coding": [{"system": "urn:oid:1.2.3.4", "code": "LOC-77", "display": "COMPOUNDED PAIN CREAM"}]},
    }
    requests = [
        {
            "resourceType": "MedicationRequest",
            "id": f"r{i}",
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"Patient/p{i}"},
            "medicationReference": {"reference": "Medication/m-local"},
        }
        for i in range(3)
    ] + [
        {
            "resourceType": "MedicationRequest",
            "id": "r-known",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p0"},
            "medicationCodeableConcept": {"text": "Eliquis 5 mg"},
        }
    ]
    for name, resources in (("Patient", patients), ("Medication", [medication]), ("MedicationRequest", requests)):
        (export / f"{name}.ndjson").write_text("".join(json.dumps(r) + "\n" for r in resources))
    (export / "Condition.ndjson").write_text(
        json.dumps(
            {
                "resourceType": "Condition",
                "id": "c1",
                "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": "ICD10", "code": "G90.522", "display": "CRPS I left lower limb"}]},
            }
        )
        + "\n{oops\n"
    )

    report = collect_terms([export], V11, as_of=date(2026, 6, 1))
    top = report.rows[0]
    assert (top.term.kind, top.term.code, top.count) == ("medication", "LOC-77", 3)
    assert top.example.startswith("MedicationRequest/r")
    assert [(r.term.kind, r.term.code) for r in report.rows[1:]] == [("unmapped-system", "G90.522")]
    assert report.problems == ["Condition.ndjson line 2: not JSON"]


def test_the_cli_prints_the_worklist_and_writes_a_csv(tmp_path: Path) -> None:
    _register_commands()
    out = tmp_path / "terms.csv"
    records = _case_bundles(tmp_path / "records")
    result = CliRunner().invoke(app, ["terms", str(records), "--csv", str(out), "--top", "5"])
    assert result.exit_code == 0, result.output
    assert "records" in result.output and "distinct codes not recognised" in result.output
    assert "G90.521" in result.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {"count", "kind", "system", "code", "display", "seems", "example"} == set(rows[0])
    assert any(r["display"] == "kratom capsules (herbal)" and r["seems"] == "kratom capsules (herbal)" for r in rows)
