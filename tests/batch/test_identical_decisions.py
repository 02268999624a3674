"""Batch decisions equal the single-patient path's, whatever executes them.

By default a run reads what the policy reads (fhir_adapters/read_set.py): its decisions equal the
single-patient decisions on those lines, input hash included, and the single-patient decisions on the
whole records in everything but the input hash (the `expected_read` fixture checks that). With
--read-all they equal the whole-record decisions outright.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eligibility.audit.database import SessionFactory
from eligibility.batch import BatchOptions, run_batch

from .conftest import AS_OF, PATIENTS, audit_records, ndjson


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.mark.parametrize(
    ("where", "read_all"), [("workers=1", False), ("workers=2", False), ("dask", False), ("workers=2", True)]
)
def test_batch_decisions_equal_single_patient_decisions(
    where: str,
    read_all: bool,
    clean_export: Path,
    audit: SessionFactory,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    out = tmp_path / "decisions.ndjson"
    dask = request.getfixturevalue("dask_cluster") if where == "dask" else None
    options = BatchOptions(
        clean_export,
        out,
        as_of=AS_OF,
        workers=2 if where == "workers=2" else 1,
        dask_address=dask,
        chunk_patients=3,  # several chunks, so order and chunking are exercised
        session_factory=audit,
        read_all=read_all,
    )
    summary = run_batch(options)
    expected = request.getfixturevalue("expected" if read_all else "expected_read")

    decisions = ndjson(out)
    got = {}
    for record in decisions:
        record.pop("decision_id")
        record.pop("evaluated_at")
        got[record["patient"]["reference"]] = record
    assert len(decisions) == PATIENTS == len(got)
    assert got == expected
    assert ndjson(out.with_name(out.name + ".rejected.ndjson")) == []
    assert (summary.decided, summary.rejected, summary.patients) == (PATIENTS, 0, PATIENTS)
    if read_all:
        assert summary.unlinked == {"Practitioner": 20, "Organization": 5}
        assert summary.unread_files == {} and summary.not_read == {}
    else:
        # Files of types no rule reads are not opened; vitals and routine visits are parsed, not read.
        unread = {name.split(".")[0] for name in summary.unread_files}
        assert unread == {
            "Claim", "DiagnosticReport", "DocumentReference", "ExplanationOfBenefit", "Immunization", "Organization",
            "Practitioner",
        }  # fmt: skip
        assert summary.not_read.keys() == {"Observation", "Encounter"}
        assert summary.not_read["Observation"] > 10 * PATIENTS
        assert summary.unlinked == {}

    # Each decision is in the audit trail, once, with the decision written out.
    recorded = audit_records(audit, "decision")
    assert sorted(r.patient_ref or "" for r in recorded) == sorted(got)
    assert all(r.channel == "batch" for r in recorded)
    assert not (tmp_path / "decisions.ndjson.work").exists()
