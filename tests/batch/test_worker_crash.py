"""A worker process that dies loses no patient and does not stop the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.synthetic_export import iter_patients
from eligibility.audit.database import SessionFactory
from eligibility.batch import BatchOptions, run_batch

from .conftest import AS_OF, PATIENTS, SEED, audit_records, ndjson
from .crashing import CRASH_MARKER_ENV, evaluate_or_die


def test_the_crashing_patient_is_rejected_and_the_others_decided(
    clean_export: Path,
    expected_read: dict[str, dict[str, object]],
    audit: SessionFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    victim = next(p for i, p in enumerate(iter_patients(PATIENTS, seed=SEED)) if i == 4).resources[0]["id"]
    monkeypatch.setenv(CRASH_MARKER_ENV, f"Patient/{victim}")  # spawned workers inherit the environment
    out = tmp_path / "decisions.ndjson"
    options = BatchOptions(clean_export, out, as_of=AS_OF, workers=2, chunk_patients=3, session_factory=audit)

    summary = run_batch(options, evaluate=evaluate_or_die)

    (rejected,) = ndjson(out.with_name(out.name + ".rejected.ndjson"))
    assert rejected["patient"] == {"reference": f"Patient/{victim}"}
    assert rejected["error"]["type"] == "EngineError"
    assert "worker process died" in rejected["error"]["message"]
    decided = {d["patient"]["reference"]: d for d in ndjson(out)}
    assert set(decided) == set(expected_read) - {f"Patient/{victim}"}
    for reference, record in decided.items():
        record.pop("decision_id")
        record.pop("evaluated_at")
        assert record == expected_read[reference]
    assert (summary.decided, summary.rejected, summary.crashed) == (PATIENTS - 1, 1, 1)
    assert len(audit_records(audit, "decision")) == PATIENTS - 1
    assert len(audit_records(audit, "rejection")) == 1
