"""The `report` commands of `drg-eligibility`: the compliance report and the evidence pack.

    drg-eligibility report compliance --from 2026-06-01 --to 2026-06-30 --format pdf --out june.pdf
    drg-eligibility report evidence-pack DECISION_ID --out pack.pdf

Exit codes, as the rest of the CLI: 0 written and the audit chain verifies; 1 written, but the chain
verification failed (the file says where); 2 usage or input error (one line on stderr); 3 the audit
trail could not be opened or could not record the access.

Both commands are reads of the audit trail and are recorded first (an access record, committed)
before anything is written: the compliance report as a query of the period, the evidence pack as a
read of its decision.

`register(app)` adds the commands to the app's `report` group, creating the group only if no other
module (e.g. bulk screening's `report cohort`) registered one already; `report_group(app)` is that
find-or-create step, for any module that adds report commands.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from eligibility.commands.support import EXIT_PROBLEM, EXIT_USAGE, domain_errors, record_access
from eligibility.commands.support import actor_name as _actor
from eligibility.commands.support import audit_engine_or_exit as _engine
from eligibility.commands.support import fail as _fail
from eligibility.settings import get_settings

if TYPE_CHECKING:  # the store, SQLAlchemy, pandas and WeasyPrint load with the commands that use them

    from reports.compliance import ComplianceReport

__all__ = ["GROUP_NAME", "register", "report_group"]

GROUP_NAME: Final = "report"
COMPLIANCE_FORMATS: Final = ("html", "pdf", "csv")
PACK_FORMATS: Final = ("pdf", "html")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", EXIT_USAGE)


def _format(chosen: str | None, out: Path, allowed: tuple[str, ...]) -> str:
    """--format, or the --out suffix when --format is not given."""
    value = (chosen or out.suffix.lstrip(".")).lower()
    if value not in allowed:
        given = f"--format {chosen!r}" if chosen else f"the suffix of {out.name!r}"
        _fail(f"{given} is not one of {', '.join(allowed)}", EXIT_USAGE)
    return value


def _check_out(out: Path) -> None:
    if out.is_dir():
        _fail(f"--out {out} is a directory; give a file name", EXIT_USAGE)
    if not out.parent.is_dir():
        _fail(f"--out {out}: directory {out.parent} does not exist", EXIT_USAGE)


def _write(out: Path, data: bytes) -> None:
    """Write through a temporary file in the same directory, so a reader never sees half a report."""
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    umask = os.umask(0)
    os.umask(umask)
    try:
        # mkstemp makes the file owner-only; give it the mode any new file of this user would get.
        os.fchmod(handle, 0o666 & ~umask)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def _errors() -> Iterator[None]:
    """The domain's errors through the one exit-code table; a file that cannot be written, usage."""
    try:
        with domain_errors():
            yield
    except OSError as exc:
        _fail(f"cannot write the output: {exc.strerror or exc}", EXIT_USAGE)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _render(report: ComplianceReport, output_format: str, actor: str) -> bytes:
    from reports.render import compliance_csv, compliance_html, html_to_pdf  # pandas, WeasyPrint: when used

    if output_format == "csv":
        return compliance_csv(report).encode("utf-8")
    html = compliance_html(report, generated_by=actor)
    return html_to_pdf(html) if output_format == "pdf" else html.encode("utf-8")


def compliance_command(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC), included.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    output_format: Annotated[
        str | None, typer.Option("--format", help="html, pdf or csv (default: from the --out suffix).")
    ] = None,
) -> None:
    """Write the compliance report for a period: decisions, reviews, blocking criteria, reads, verification."""
    from eligibility.audit.checkpoints import signer_from_settings
    from eligibility.audit.database import read_session
    from eligibility.audit.verify import verify

    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        _fail(f"--to {last.isoformat()} is before --from {first.isoformat()}", EXIT_USAGE)
    chosen = _format(output_format, out, COMPLIANCE_FORMATS)
    _check_out(out)
    engine = _engine()
    actor = _actor()
    with _errors():
        query = {"from": first.isoformat(), "to": last.isoformat(), "format": chosen}
        record_access(engine, purpose="compliance-report", query=query)
        from reports.compliance import compliance_summary, load_period
        from reports.patients import with_patients

        with read_session(engine) as session:
            frames = load_period(session, start=first, end=last)
            report = compliance_summary(
                frames, verification=verify(session, signer=signer_from_settings(get_settings()))
            )
            report = with_patients(session, report)  # the CLI's operator may read every decision
        data = _render(report, chosen, actor)
        _write(out, data)
    h, v = report.headline, report.verification
    typer.echo(
        f"wrote {out} ({len(data):,} bytes, {chosen}): {first.isoformat()} to {last.isoformat()}, "
        f"{h.decisions} decisions, {h.reviews} reviews (override rate {_percent(h.override_rate)}), "
        f"{h.rejections} rejections"
    )
    if v.ok:
        typer.echo(f"audit chain verification PASSED ({v.records} records, head seq {v.head_seq})")
        return
    where = f"seq {v.first_bad_seq}" if v.first_bad_seq is not None else "the checkpoints"
    typer.echo(f"audit chain verification FAILED: first bad record at {where}: {v.first_problem}", err=True)
    raise typer.Exit(EXIT_PROBLEM)


def evidence_pack_command(
    decision_id: Annotated[str, typer.Argument(help="The decision id (or its first 8 characters).")],
    out: Annotated[Path, typer.Option("--out", help="File to write (.pdf or .html).")],
    output_format: Annotated[
        str | None, typer.Option("--format", help="pdf or html (default: from the --out suffix).")
    ] = None,
) -> None:
    """Write one decision's evidence pack: decision, criteria and evidence, reviews, reads, chain proof."""
    from eligibility.audit.checkpoints import signer_from_settings
    from eligibility.audit.database import read_session

    chosen = _format(output_format, out, PACK_FORMATS)
    _check_out(out)
    engine = _engine()
    actor = _actor()
    with _errors():
        from eligibility.audit.ids import resolve_decision_id

        with read_session(engine) as session:  # the 8 characters the web app and the reports show will do
            decision_id = resolve_decision_id(session, decision_id)
        # Unknown decision: append_access raises InputError before anything is recorded.
        record_access(engine, purpose="evidence-pack", decision_id=decision_id)
        from reports.evidence_pack import load_evidence_pack, render_evidence_pack
        from reports.render import html_to_pdf

        with read_session(engine) as session:
            pack = load_evidence_pack(session, decision_id, signer=signer_from_settings(get_settings()))
        html = render_evidence_pack(pack, generated_by=actor)
        data = html_to_pdf(html) if chosen == "pdf" else html.encode("utf-8")
        _write(out, data)
    typer.echo(
        f"wrote {out} ({len(data):,} bytes, {chosen}): decision {decision_id} {pack.decision.outcome}, "
        f"{len(pack.reviews)} review(s), {len(pack.reads)} read(s)"
    )
    if pack.proof.ok:
        typer.echo(f"chain proof PASSED (seq {pack.record.seq}, verified through seq {pack.proof.verified_through})")
        return
    typer.echo(f"chain proof FAILED for seq {pack.record.seq}: see the pack's section 6", err=True)
    raise typer.Exit(EXIT_PROBLEM)


def report_group(app: typer.Typer) -> typer.Typer:
    """The app's `report` group: the one already registered, or a new one added to the app."""
    for info in app.registered_groups:
        instance = info.typer_instance
        name = info.name or (instance.info.name if instance is not None else None)
        if name == GROUP_NAME and instance is not None:
            return instance
    group = typer.Typer(help="Reports from the audit trail (compliance, evidence packs).", no_args_is_help=True)
    app.add_typer(group, name=GROUP_NAME)
    return group


def register(app: typer.Typer) -> None:
    """Add `report compliance` and `report evidence-pack` (idempotent: a second call adds nothing)."""
    group = report_group(app)
    present = {info.name for info in group.registered_commands}
    if "compliance" not in present:
        group.command("compliance")(compliance_command)
    if "evidence-pack" not in present:
        group.command("evidence-pack")(evidence_pack_command)
