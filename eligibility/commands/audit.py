"""The audit commands of `drg-eligibility`: `audit …`, `replay`, `whatif`.

Exit codes (as the rest of the CLI): 0 success; 1 a check found a problem (verification failed,
replay differs); 2 usage or input error; 3 the audit trail could not record or refused to start.

Reading a decision, exporting, listing, replaying and what-if runs are themselves recorded (an
access record, committed) before anything is shown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from eligibility.commands.support import CHANNEL, EXIT_PROBLEM, EXIT_USAGE, domain_errors, record_access
from eligibility.commands.support import audit_engine_or_exit as _engine
from eligibility.commands.support import fail as _fail
from eligibility.commands.worklist import promote_command, reindex_command
from eligibility.review_reasons import REVIEW_REASONS, check_reason
from eligibility.settings import get_settings

if TYPE_CHECKING:  # the audit store and SQLAlchemy are imported by the commands that use them (--help: 0.7 s less)

    from eligibility.audit import store
    from eligibility.audit.replay import ReplayResult
    from eligibility.audit.verify import VerifyReport
    from eligibility.audit.whatif import WhatIfReport
    from eligibility.audit.worklist_rebuild import IndexCheck

__all__ = ["register"]


# Piped output (files, docs, CI logs) gets room for whole ids and hashes instead of 80 columns.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)

FromOption = Annotated[
    str | None, typer.Option("--from", help="Start, inclusive: YYYY-MM-DD or an ISO datetime (UTC if no zone).")
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="End: YYYY-MM-DD includes that whole day; a datetime is exclusive.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


def _bounds(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    from eligibility.audit.clock import parse_bound

    try:
        return (
            None if start is None else parse_bound(start, upper=False),
            None if end is None else parse_bound(end, upper=True),
        )
    except ValueError as exc:
        _fail(f"--from/--to: {exc}", EXIT_USAGE)


def _print_json(document: Any) -> None:
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


# --- audit verify / checkpoint / migrate ---------------------------------------------------------


def verify_command(
    anchor: Annotated[
        list[str] | None,
        typer.Option("--anchor", help="A head kept by an auditor, SEQ:CHAIN_HASH (from `audit checkpoint`)."),
    ] = None,
    witness_path: Annotated[
        Path | None,
        typer.Option("--witness", help="The witness file to compare with (default: the configured one)."),
    ] = None,
    no_witness: Annotated[
        bool, typer.Option("--no-witness", help="Check the database alone (a tail cut then goes unseen).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Walk the chain, the signed checkpoints, the stored inputs and the witness; name the first bad record."""
    from eligibility.audit.checkpoints import signer_from_settings, witness_from_settings
    from eligibility.audit.database import read_session
    from eligibility.audit.verify import parse_anchor, verify
    from eligibility.audit.witness import Witness, read_witness
    from eligibility.audit.worklist_rebuild import check_index

    try:
        anchors = [parse_anchor(token) for token in anchor or []]
    except ValueError as exc:
        _fail(str(exc), EXIT_USAGE)
    engine = _engine()
    settings = get_settings()
    url = engine.url.render_as_string(hide_password=False)
    witness = None
    if not no_witness:
        witness = read_witness(
            Witness.at(witness_path) if witness_path is not None else witness_from_settings(settings, url)
        )
    with domain_errors(), read_session(engine) as session:
        report = verify(
            session, signer=signer_from_settings(settings, database_url=url), anchors=anchors, witness=witness
        )
        index = check_index(session)  # the derived worklist index against what the trail says
    if as_json:
        _print_json({**_verify_document(report), "worklist_index": _index_document(index)})
    else:
        _print_verify(report)
        _print_index(index)
    if not report.ok or not index.ok:
        raise typer.Exit(EXIT_PROBLEM)


def _index_document(index: IndexCheck) -> dict[str, Any]:
    return {"ok": index.ok, "rows": index.rows, "problems": index.problems, "more_problems": index.more}


def _print_index(index: IndexCheck) -> None:
    if index.ok:
        console.print(f"worklist index: {index.rows:,} rows, as the trail says.")
        return
    console.print(
        f"[bold red]worklist index: {len(index.problems) + index.more} difference(s) from the trail[/] "
        "(it is derived: `drg-eligibility audit reindex` recomputes it)"
    )
    for problem in index.problems:
        console.print(f"  {problem}")


def _verify_document(report: VerifyReport) -> dict[str, Any]:
    first = report.first_problem
    return {
        "ok": report.ok,
        "records": report.records,
        "checkpoints": report.checkpoints,
        "inputs": report.inputs,
        "head": {"seq": report.head_seq, "chain_hash": report.head_hash},
        "unsealed_records": report.unsealed,
        "witness": None
        if not report.witness_paths
        else {"paths": report.witness_paths, "heads": report.witnessed_heads, "newest_seq": report.witnessed_seq},
        "other_key": report.other_key,
        "notes": report.notes,
        "elapsed_s": round(report.elapsed_s, 3),
        "first_bad_record": None if first is None else {"seq": first.seq, "record_id": first.record_id},
        "problems": [{"seq": p.seq, "record_id": p.record_id, "message": p.message} for p in report.problems],
    }


def _print_verify(report: VerifyReport) -> None:
    rate = report.records / report.elapsed_s if report.elapsed_s else 0.0
    console.print(
        f"checked {report.records} records, {report.checkpoints} checkpoints, {report.inputs} stored inputs "
        f"in {report.elapsed_s:.2f} s ({rate:,.0f} records/s)"
    )
    console.print(f"head: seq {report.head_seq}  chain hash {report.head_hash}")
    if report.stopped_at_key:
        console.print("nothing else was checked: with another key every link and signature would fail.")
    elif report.witness_paths and not all(Path(path).is_file() for path in report.witness_paths):
        console.print(f"[bold red]witness: MISSING[/] ({', '.join(report.witness_paths)})")
    elif report.witness_paths:
        console.print(
            f"witness: {report.witnessed_heads} signed heads, newest seq {report.witnessed_seq} "
            f"({', '.join(report.witness_paths)})"
        )
    else:
        console.print("[bold yellow]witness: not checked (--no-witness)[/]: records cut off the end go unseen.")
    for note in report.notes:
        console.print(f"note: {note}")
    first = report.first_problem
    if first is None:
        console.print("[bold green]OK[/]: the audit trail is intact.")
        if report.unsealed:
            tail = "record is" if report.unsealed == 1 else f"{report.unsealed} records are"
            console.print(
                f"note: the last {tail} chained but not yet under a signed checkpoint "
                "(`drg-eligibility audit checkpoint` seals the head)."
            )
        return
    record = f" (record {first.record_id})" if first.record_id else ""
    where = f"first bad record at seq {first.seq}{record}" if first.seq is not None else f"{first.area}"
    console.print(f"[bold red]FAILED[/]: {where}: {first.message}")
    table = Table("seq", "record", "problem", title=f"{len(report.problems)} problem(s)", title_justify="left")
    for problem in sorted(report.problems, key=lambda p: (p.seq is None, p.seq or 0))[:50]:
        table.add_row(str(problem.seq or "-"), problem.record_id or "-", problem.message)
    console.print(table)


def checkpoint_command() -> None:
    """Sign the current head now and print the anchor an auditor should keep."""
    from sqlalchemy.orm import Session

    from eligibility.audit import store

    engine = _engine()
    with domain_errors(), Session(engine) as session:
        checkpoint = store.seal_head(session)
        if checkpoint is None:
            _fail("the audit trail is empty: nothing to sign", EXIT_USAGE)
        session.commit()
    console.print(f"checkpoint {checkpoint.id} signs the head at seq {checkpoint.record_seq}.")
    console.print("Keep this anchor; `drg-eligibility audit verify --anchor` checks it later:")
    typer.echo(checkpoint.token())


def migrate_command() -> None:
    """Create or upgrade the audit schema (also done automatically on first use)."""
    from eligibility.audit.migrate import current_revision

    engine = _engine()
    console.print(f"audit schema at revision {current_revision(engine)} ({engine.url.render_as_string()})")


# --- audit export / log / show / review ----------------------------------------------------------


def export_command(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the NDJSON files into.")],
    start: FromOption = None,
    end: ToOption = None,
    output_format: Annotated[str, typer.Option("--format", help="fhir, raw or all.")] = "all",
) -> None:
    """Export FHIR AuditEvent + Provenance and raw records as NDJSON for a time range."""
    from eligibility.audit.database import read_session
    from eligibility.audit.export import FORMATS, Format, export

    if output_format not in (*FORMATS, "all"):
        _fail(f"--format must be fhir, raw or all, not {output_format!r}", EXIT_USAGE)
    formats: list[Format] = list(FORMATS) if output_format == "all" else [output_format]  # type: ignore[list-item]
    lower, upper = _bounds(start, end)
    engine = _engine()
    with domain_errors():
        record_access(engine, purpose="export", query={"from": lower, "to": upper, "formats": formats})
        with read_session(engine) as session:
            result = export(session, directory=out, start=lower, end=upper, formats=formats)
    for path in result.files:
        console.print(f"{result.counts[path.name]:>8}  {path}")


def log_command(
    start: FromOption = None,
    end: ToOption = None,
    kind: Annotated[str | None, typer.Option(help="decision, rejection, review or access.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (the newest).")] = 50,
) -> None:
    """List audit records (who, when, what, through which channel)."""
    from eligibility.audit import store
    from eligibility.audit.database import read_session

    lower, upper = _bounds(start, end)
    engine = _engine()
    with domain_errors():
        record_access(engine, purpose="log", query={"from": lower, "to": upper, "kind": kind})
        with read_session(engine) as session:
            records = list(store.iter_records(session, start=lower, end=upper, kinds=[kind] if kind else None))
    table = Table("seq", "created_at (UTC)", "kind", "actor", "channel")
    table.add_column("decision", no_wrap=True)
    table.add_column("patient", no_wrap=True)
    table.add_column("detail")
    for record in records[-limit:]:
        table.add_row(
            str(record.seq),
            record.created_at[:19],
            record.kind,
            record.actor,
            record.channel,
            record.decision_id or "-",
            record.patient_ref or "-",
            _detail(record),
        )
    console.print(table)


def _detail(record: store.StoredRecord) -> str:
    data = record.data()
    if record.kind == "decision":
        return str(data["decision"]["outcome"])
    if record.kind == "rejection":
        return f"{data['error']['type']}: {data['error']['message']}"
    if record.kind == "review":
        return f"{data['action']} ({data['reason_code']}) -> {data['outcome']}"
    return str(data["purpose"])


def show_command(
    decision_id: Annotated[str, typer.Argument(help="The decision id (or its first 8 characters).")],
) -> None:
    """Show a recorded decision and everything linked to it (reviews, reads)."""
    from eligibility.audit import store
    from eligibility.audit.database import read_session
    from eligibility.audit.ids import resolve_decision_id

    engine = _engine()
    with domain_errors():
        with read_session(engine) as session:
            decision_id = resolve_decision_id(session, decision_id)
        record_access(engine, purpose="show", decision_id=decision_id)
        with read_session(engine) as session:
            history = store.decision_history(session, decision_id)
    decision = history[0].data()["decision"]
    console.print(f"decision {decision_id}  {decision['outcome']}  ({decision['stage']}, {decision['label_status']})")
    console.print(
        f"patient {decision['patient']['reference']}  as_of {decision['as_of']}  "
        f"policy {decision['policy']['id']}@{decision['policy']['version']}  input {decision['input_sha256'][:16]}…"
    )
    table = Table("seq", "created_at", "kind", "actor", "channel", "detail")
    for record in history:
        table.add_row(str(record.seq), record.created_at, record.kind, record.actor, record.channel, _detail(record))
    console.print(table)


def review_command(
    decision_id: Annotated[str, typer.Argument(help="The decision reviewed (its id or first 8 characters).")],
    reason: Annotated[str, typer.Option("--reason", help=f"Reason code: {', '.join(REVIEW_REASONS)}.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="The reviewing clinician (active specialist or admin).")],
    accept: Annotated[bool, typer.Option("--accept", help="Accept the decision as recorded.")] = False,
    override: Annotated[str | None, typer.Option("--override", help="Override with this outcome.")] = None,
    comment: Annotated[str, typer.Option(help="Free-text comment.")] = "",
) -> None:
    """Record a clinician's acceptance or override of a decision (the same rules as the web app's form)."""
    from sqlalchemy.orm import Session

    from eligibility.api.auth import REVIEW
    from eligibility.api.users import active_user
    from eligibility.audit.database import read_session
    from eligibility.audit.ids import resolve_decision_id
    from eligibility.service import record_review

    if accept == (override is not None):
        _fail("give exactly one of --accept or --override OUTCOME", EXIT_USAGE)
    problem = check_reason(reason)
    if problem is not None:
        _fail(problem, EXIT_USAGE)
    if override is not None and not comment.strip():
        _fail("an override needs --comment explaining it", EXIT_USAGE)
    engine = _engine()
    with domain_errors():
        with read_session(engine) as session:
            user = active_user(session, reviewer)
            decision_id = resolve_decision_id(session, decision_id)
        if user is None or user.role not in REVIEW:
            _fail(f"{reviewer!r} is not an active specialist or admin (drg-eligibility users list)", EXIT_USAGE)
        record = record_review(
            decision_id,
            reviewer=user.name,
            action="accept" if accept else "override",
            reason_code=reason,
            comment=comment,
            outcome=override,
            channel=CHANNEL,
            session_factory=lambda: Session(engine),
        )
    console.print(f"review recorded as seq {record.seq}: {_detail(record)}")


# --- replay / whatif -----------------------------------------------------------------------------


def replay_command(
    decision_id: Annotated[str, typer.Argument(help="The decision to re-evaluate.")], as_json: JsonOption = False
) -> None:
    """Re-evaluate a recorded decision under its recorded policy version and as_of."""
    from eligibility.audit.database import read_session
    from eligibility.audit.ids import resolve_decision_id
    from eligibility.audit.replay import replay

    engine = _engine()
    with domain_errors():
        with read_session(engine) as session:
            decision_id = resolve_decision_id(session, decision_id)
        record_access(engine, purpose="replay", decision_id=decision_id)
        with read_session(engine) as session:
            result = replay(session, decision_id)
    if as_json:
        _print_json(_replay_document(result))
    else:
        _print_replay(result)
    if not result.identical:
        raise typer.Exit(EXIT_PROBLEM)


def _replay_document(result: ReplayResult) -> dict[str, Any]:
    return {
        "decision_id": result.decision_id,
        "policy": result.policy,
        "as_of": result.as_of,
        "identical": result.identical,
        "recorded_outcome": result.recorded_outcome,
        "replayed_outcome": result.replayed_outcome,
        "differences": [{"path": d.path, "recorded": d.recorded, "now": d.now} for d in result.differences],
        "notes": result.notes,
    }


def _print_replay(result: ReplayResult) -> None:
    console.print(f"replay of {result.decision_id} under {result.policy}, as_of {result.as_of}")
    for note in result.notes:
        console.print(f"note: {note}")
    if result.identical:
        console.print(f"[bold green]IDENTICAL[/]: {result.recorded_outcome}, same criteria, actions and explanation.")
        return
    console.print(f"[bold red]DIFFERENT[/]: recorded {result.recorded_outcome}, now {result.replayed_outcome}")
    table = Table("field", "recorded", "now")
    for difference in result.differences:
        table.add_row(difference.path, _short(difference.recorded), _short(difference.now))
    console.print(table)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 200 else text[:199] + "…"


def whatif_command(
    policy: Annotated[str, typer.Option("--policy", help="Policy to compare against: id@version or a version.")],
    start: FromOption = None,
    end: ToOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-evaluate past decisions under another policy version; report what would change and why."""
    from eligibility.audit.database import read_session
    from eligibility.audit.whatif import whatif

    lower, upper = _bounds(start, end)
    if "@" not in policy:  # a bare version names a version of the configured policy
        policy = f"{get_settings().default_policy.split('@')[0]}@{policy}"
    engine = _engine()
    with domain_errors():
        record_access(engine, purpose="whatif", query={"policy": policy, "from": lower, "to": upper})
        with read_session(engine) as session:
            report = whatif(session, policy=policy, start=lower, end=upper)
    if as_json:
        _print_json(_whatif_document(report))
    else:
        _print_whatif(report)


def _whatif_document(report: WhatIfReport) -> dict[str, Any]:
    return {
        "policy": report.policy,
        "policy_sha256": report.policy_sha256,
        "from": report.start,
        "to": report.end,
        "examined": report.examined,
        "unchanged": report.unchanged,
        "changed": len(report.changes),
        "outcomes_changed": report.outcomes_changed,
        "transitions": [
            {"recorded": before, "would_be": after, "count": count}
            for (before, after), count in sorted(report.transitions.items())
        ],
        "criteria_changed": dict(sorted(report.criteria_changed.items())),
        "decisions": [
            {
                "decision_id": change.decision_id,
                "patient": change.patient,
                "as_of": change.as_of,
                "recorded_policy": change.recorded_policy,
                "recorded_outcome": change.recorded_outcome,
                "would_be_outcome": change.would_be_outcome,
                "criteria": [
                    {"id": c.criterion, "recorded": c.recorded, "would_be": c.would_be, "why": c.reason}
                    for c in change.criteria
                ],
                "label_status": list(change.label) if change.label else None,
                "actions_added": change.actions_added,
                "actions_removed": change.actions_removed,
                "unrecognised": change.unrecognised,
            }
            for change in report.changes
        ],
        "failures": [{"decision_id": d, "error": e} for d, e in report.failures],
    }


def _print_whatif(report: WhatIfReport) -> None:
    span = f"{report.start or 'the beginning'} to {report.end or 'now'}"
    console.print(f"what-if under {report.policy} ({report.policy_sha256[:16]}…), decisions recorded {span}")
    for change in report.changes:
        arrow = (
            f"{change.recorded_outcome} -> [bold]{change.would_be_outcome}[/]"
            if change.outcome_changed
            else f"{change.recorded_outcome} (unchanged)"
        )
        console.print(f"\n{change.decision_id}  {change.patient}  as_of {change.as_of}  {arrow}")
        for criterion in change.criteria:
            console.print(
                f"  {criterion.criterion}: {criterion.recorded} -> {criterion.would_be}  because: {criterion.reason}"
            )
        if change.label:
            console.print(f"  label_status: {change.label[0]} -> {change.label[1]}")
        for what, keys in (("action added", change.actions_added), ("action removed", change.actions_removed)):
            for key in keys:
                console.print(f"  {what}: {key}")
        for item in change.unrecognised:
            console.print(f"  not identified: {item}")
    for decision_id, error in report.failures:
        console.print(f"\n{decision_id}: [red]could not re-evaluate[/]: {error}")
    totals = Table("recorded outcome", "would be", "decisions", title="\ntotals", title_justify="left")
    for (before, after), count in sorted(report.transitions.items()):
        totals.add_row(before, after if after != before else f"{after} (same)", str(count))
    console.print(totals)
    if report.criteria_changed:
        console.print(
            "criteria that would change: "
            + ", ".join(f"{name} ({count})" for name, count in sorted(report.criteria_changed.items()))
        )
    console.print(
        f"{report.examined} examined: {report.outcomes_changed} outcome(s) would change, "
        f"{len(report.changes) - report.outcomes_changed} with other changes only, {report.unchanged} unchanged, "
        f"{len(report.failures)} could not be re-evaluated"
    )


def register(app: typer.Typer) -> None:
    """Add `audit …`, `replay` and `whatif` to the product's CLI."""
    audit_app = typer.Typer(
        help="The tamper-evident audit trail: verify, export, inspect, review, promote, reindex.",
        no_args_is_help=True,
    )
    audit_app.command("verify")(verify_command)
    audit_app.command("export")(export_command)
    audit_app.command("log")(log_command)
    audit_app.command("show")(show_command)
    audit_app.command("review")(review_command)
    audit_app.command("checkpoint")(checkpoint_command)
    audit_app.command("migrate")(migrate_command)
    audit_app.command("reindex")(reindex_command)
    audit_app.command("promote")(promote_command)
    app.add_typer(audit_app, name="audit")
    app.command("replay")(replay_command)
    app.command("whatif")(whatif_command)
