"""`drg-eligibility batch` and `drg-eligibility report cohort`: population screening from the command line.

Wired into the main CLI with `register(app)`. Exit codes follow eligibility.commands.support: 0 the run finished
(patients with bad data are rejected, reported and recorded - they do not fail the run); 2 bad input
or usage; 3 the audit trail could not record, so nothing more was released; 130 interrupted.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from reports.cohort import CohortSummary

__all__ = ["register"]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def batch(
    export_dir: Annotated[Path, typer.Argument(help="Directory of a FHIR Bulk Data export (.ndjson / .ndjson.gz).")],
    as_of: Annotated[str, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (the same on every rerun).")],
    out: Annotated[Path, typer.Option("--out", help="Decisions NDJSON; rejections go to <out>.rejected.ndjson.")],
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Local worker processes (they also scan the export with --dask).")
    ] = os.cpu_count() or 1,
    dask: Annotated[
        str | None, typer.Option("--dask", help="Decide on an existing Dask cluster, e.g. tcp://127.0.0.1:8786.")
    ] = None,
    policy: Annotated[str | None, typer.Option(help="Policy id@version (default: the configured one).")] = None,
    chunk_patients: Annotated[int | None, typer.Option(min=1, help="Patients per chunk (audit transaction).")] = None,
    read_all: Annotated[
        bool,
        typer.Option(
            "--read-all",
            help="Read and validate every line, keeping whole records in the audit store (slower), instead of "
            "only the resource types and codes the policy reads.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Decide every patient of a bulk export; rerun with the same --out to resume an interrupted run."""
    from eligibility.batch import BatchOptions, run_batch
    from eligibility.batch.progress import QuietProgress, RichProgress
    from eligibility.batch.summary import summary_table
    from eligibility.commands.support import actor_name, domain_errors, fail, refuse_far_future

    day = _day(as_of)
    refuse_far_future(day, option="--as-of", channel="batch")
    options = BatchOptions(
        export_dir,
        out,
        as_of=day,
        policy=policy,
        workers=workers,
        dask_address=dask,
        actor=actor_name(),
        chunk_patients=chunk_patients,
        read_all=read_all,
    )
    console = Console(stderr=True)
    try:
        with domain_errors(
            audit_prefix="stopped, nothing more released: ", audit_suffix="; rerun the same command to resume"
        ):
            summary = run_batch(options, progress=QuietProgress() if quiet else RichProgress(console))
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        fail("interrupted; every decision written is recorded - rerun the same command to resume", code=130)
    Console().print(summary_table(summary))


def cohort(
    decisions: Annotated[Path, typer.Argument(help="Decisions NDJSON written by `batch`.")],
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the tables as one CSV.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report with a chart.")] = None,
) -> None:
    """Candidates by outcome and label status, blocking criteria, data most often missing."""
    from eligibility.commands.support import fail
    from reports.cohort import load_cohort, summarize, write_csv, write_html

    try:
        summary = summarize(load_cohort(decisions))
    except (OSError, ValueError) as exc:
        fail(f"{decisions}: {exc}")
    summary = _named(summary, decisions)
    if csv is not None:
        write_csv(summary, csv)
    if html is not None:
        write_html(summary, html)
    console = Console()
    for title, frame in summary.tables():
        table = Table(title=title, title_justify="left")
        for column in frame.columns:
            table.add_column(str(column), justify="right" if column in ("patients", "share") else "left")
        for row in frame.itertuples(index=False):
            table.add_row(*(f"{v:.1%}" if isinstance(v, float) else str(v) for v in row))
        console.print(table)


def _named(summary: CohortSummary, decisions: Path) -> CohortSummary:
    """The candidates named from the audit trail that recorded the run (their stored inputs); reading
    the names is recorded as a query of the trail first. A trail that does not hold them leaves '–'."""
    from sqlalchemy.orm import Session

    from eligibility.audit import store
    from eligibility.commands.support import actor_name, audit_engine_or_exit
    from reports.cohort import name_candidates
    from reports.patients import candidate_names

    ids = [d for d in summary.candidate_list["decision_id"] if d]
    if not ids:
        return summary
    with Session(audit_engine_or_exit()) as session:
        query = {"decisions": str(decisions), "candidates": len(ids)}
        store.append_access(session, actor=actor_name(), channel="cli", purpose="cohort-report", query=query)
        session.commit()
        names = candidate_names(session, ids)
    if len(names) < len(ids):
        typer.echo(
            f"drg-eligibility: note: {len(ids) - len(names)} of {len(ids)} candidates are not in this audit trail "
            "(DRG_ELIGIBILITY_DATABASE_URL): they are listed by reference only",
            err=True,
        )
    return name_candidates(summary, names)


def register(app: typer.Typer) -> None:
    """Add `batch` and the `report cohort` group to the main CLI."""
    app.command("batch")(batch)
    report_app = typer.Typer(
        help="Reports: cohort (batch results), compliance and evidence packs (audit trail).", no_args_is_help=True
    )
    report_app.command("cohort")(cohort)
    app.add_typer(report_app, name="report")
