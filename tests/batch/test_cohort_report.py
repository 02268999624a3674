"""The cohort report's tables, counted by hand on a small decisions file."""

from __future__ import annotations

from pathlib import Path

import orjson

from reports.cohort import load_cohort, summarize, write_csv, write_html


def _decision(patient: str, outcome: str, label: str, criteria: list[tuple[str, str, list[str]]]) -> dict[str, object]:
    return {
        "patient": {"reference": patient},
        "outcome": outcome,
        "label_status": label,
        "stage": "trial",
        "as_of": "2026-06-01",
        "policy": {"id": "drg-clinic", "version": "1.0.0", "sha256": "0" * 64},
        "criteria": [
            {
                "id": cid,
                "status": status,
                "data_requests": [{"description": d, "resource_type": "Procedure"} for d in asks],
            }
            for cid, status, asks in criteria
        ],
    }


def test_tables(tmp_path: Path) -> None:
    decisions = [
        _decision("Patient/a", "ELIGIBLE_FOR_TRIAL", "ON_LABEL", [("pain_location", "met", [])]),
        _decision(
            "Patient/b",
            "NOT_ELIGIBLE",
            "OFF_LABEL",
            [("pain_location", "not_met", []), ("failed_interventional", "unknown", ["Record ESIs"])],
        ),
        _decision(
            "Patient/c",
            "NOT_ELIGIBLE",
            "OFF_LABEL",
            [("pain_location", "not_met", []), ("pain_duration", "not_met", [])],
        ),
        _decision(
            "Patient/d", "INSUFFICIENT_INFORMATION", "ON_LABEL", [("failed_interventional", "unknown", ["Record ESIs"])]
        ),
    ]
    out = tmp_path / "decisions.ndjson"
    out.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in decisions))
    rejected = {
        "patient": {"reference": "Patient/e"},
        "source": None,
        "error": {"type": "PatientCountError", "message": "no Patient"},
    }
    (tmp_path / "decisions.ndjson.rejected.ndjson").write_bytes(orjson.dumps(rejected) + b"\n")

    summary = summarize(load_cohort(out))

    assert (summary.patients, summary.candidates, summary.rejected_count) == (4, 1, 1)
    outcomes = {(r.outcome, r.label_status): r.patients for r in summary.outcomes.itertuples()}
    assert outcomes == {
        ("NOT_ELIGIBLE", "OFF_LABEL"): 2,
        ("ELIGIBLE_FOR_TRIAL", "ON_LABEL"): 1,
        ("INSUFFICIENT_INFORMATION", "ON_LABEL"): 1,
    }
    assert list(summary.blocking.itertuples(index=False, name=None)) == [
        ("pain_location", 2, 1.0),
        ("pain_duration", 1, 0.5),
    ]
    assert list(summary.missing.itertuples(index=False, name=None)) == [
        ("failed_interventional", "Record ESIs", "Procedure", 2, 0.5)
    ]
    assert list(summary.rejected.itertuples(index=False, name=None)) == [("PatientCountError", 1, "no Patient")]

    assert list(summary.candidate_list[["name", "patient", "outcome"]].itertuples(index=False, name=None)) == [
        ("–", "Patient/a", "ELIGIBLE_FOR_TRIAL")  # unnamed until name_candidates reads the trail
    ]
    write_csv(summary, tmp_path / "cohort.csv")
    write_html(summary, tmp_path / "cohort.html")
    assert (tmp_path / "cohort.csv").read_text().splitlines()[0] == "section,item,detail,patients,share"
    assert "data:image/png;base64," in (tmp_path / "cohort.html").read_text()
