"""Batch decisions equal the single-patient path's, whatever executes them."""

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


@pytest.mark.parametrize("where", ["workers=1", "workers=2", "dask"])
def test_batch_decisions_equal_single_patient_decisions(
    where: str,
    clean_export: Path,
    expected: dict[str, dict[str, object]],
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
    )
    summary = run_batch(options)

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
    assert summary.unlinked == {"Practitioner": 20, "Organization": 5}

    # Each decision is in the audit trail, once, with the decision written out.
    recorded = audit_records(audit, "decision")
    assert sorted(r.patient_ref or "" for r in recorded) == sorted(got)
    assert all(r.channel == "batch" for r in recorded)
    assert not (tmp_path / "decisions.ndjson.work").exists()
