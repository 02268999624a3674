"""A batch run is one screening run: its decisions carry the run id, the screening list shows it with
the patients named, and none of them lands in the review queue."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from eligibility.audit.database import SessionFactory
from eligibility.audit.worklist_rebuild import check_index
from eligibility.batch import BatchOptions, run_batch
from eligibility.batch.summary import summary_table
from eligibility.web.screening import load_run, load_runs
from eligibility.web.worklist import Filters, load_worklist

from .conftest import AS_OF, PATIENTS, audit_records


def test_a_batch_run_is_a_screening_run_and_not_in_the_review_queue(
    clean_export: Path, audit: SessionFactory, tmp_path: Path
) -> None:
    summary = run_batch(
        BatchOptions(clean_export, tmp_path / "decisions.ndjson", as_of=AS_OF, chunk_patients=5, session_factory=audit)
    )
    assert len(summary.run_id) == 36
    records = audit_records(audit, "decision")
    assert len(records) == PATIENTS and {r.data()["batch_run"] for r in records} == {summary.run_id}
    with audit() as session:
        assert load_worklist(session, Filters(state="all")).page.total == 0
        (run,) = load_runs(session).runs
        assert (run.run_id, run.decisions, run.actor) == (summary.run_id, PATIENTS, "batch")
        assert sum(n for _, n in run.outcome_counts) == PATIENTS
        page = load_run(session, summary.run_id, Filters())
        assert page is not None and all(row.patient is not None and row.patient.name for row in page.rows)
        assert check_index(session).ok
    console = Console(record=True, width=200)
    console.print(summary_table(summary))
    assert f"web: /ui/screening/{summary.run_id}" in console.export_text()
