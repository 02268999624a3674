"""`drg-eligibility`: the command line, mirroring the API.

Exit codes: 0 success; 1 a check found a problem (verify, replay difference); 2 bad input or
usage (one line on stderr naming where the problem is); 3 the audit trail could not record, so
no decision was released.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer

from eligibility.cli_support import actor_name, fail
from eligibility.errors import AuditError, EligibilityError, InputError, PolicyError
from eligibility.explain import render_text
from eligibility.policy import installed_policies, load_policy
from eligibility.settings import get_settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="drg-eligibility",
    help="DRG stimulation candidacy decision support: evaluate FHIR records, explain, audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(help="Show and check the installed candidacy policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


def parse_day(value: str | None, option: str) -> date:
    if value is None:
        return date.today()  # the CLI is an edge: it may read the clock, the engine never does
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")
        raise  # unreachable; keeps type checkers sure of the return


def read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
        raise


@app.command()
def evaluate(
    path: Annotated[str, typer.Argument(help="FHIR R4 Bundle or NDJSON file of one patient ('-' for stdin).")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (default: today).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="json (the decision record) or text.")] = "text",
    policy: Annotated[str | None, typer.Option(help="Policy id@version (default: the configured one).")] = None,
) -> None:
    """Evaluate one patient's record; the decision is recorded in the audit trail before it is shown."""
    from eligibility.service import evaluate_and_record

    if output_format not in {"json", "text"}:
        fail(f"--format must be json or text, not {output_format!r}")
    day = parse_day(as_of, "--as-of")
    raw = read_input(path)
    try:
        decision = evaluate_and_record(raw, as_of=day, actor=actor_name(), channel="cli", policy=policy)
    except InputError as exc:
        fail(f"{path}: {exc.one_line()}")
    except AuditError as exc:
        fail(f"no decision released: {exc.one_line()}", code=3)
    except EligibilityError as exc:
        fail(exc.one_line())
    if output_format == "json":
        sys.stdout.buffer.write(orjson.dumps(decision.to_json_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        typer.echo(render_text(decision))


@policy_app.command("show")
def policy_show(
    policy: Annotated[str | None, typer.Argument(help="id@version (default: the configured policy).")] = None,
) -> None:
    """Print a policy's id, version, hash and thresholds."""
    try:
        chosen = load_policy(policy)
    except PolicyError as exc:
        fail(exc.one_line())
    typer.echo(f"policy   {chosen.id}")
    typer.echo(f"version  {chosen.version}")
    typer.echo(f"title    {chosen.title}")
    typer.echo(f"sha256   {chosen.sha256}")
    typer.echo(f"path     {chosen.path}")
    typer.echo("thresholds:")
    for name, value in chosen.thresholds.items():
        if not name.startswith("_"):
            typer.echo(f"  {name:<40} {json.dumps(value)}")
    typer.echo(f"value sets: {', '.join(k for k in chosen.valuesets if not k.startswith('_'))}")
    typer.echo(f"hold table: {len(chosen.holds['entries'])} entries ({chosen.holds['guideline']})")


@policy_app.command("list")
def policy_list() -> None:
    """List the installed policy versions."""
    default = get_settings().default_policy
    for p in installed_policies():
        mark = "*" if p.key == default else " "
        typer.echo(f"{mark} {p.key:<28} {p.sha256[:16]}  {p.title}")


def _register_commands() -> None:
    """Each part of the product adds its own commands, so there is one CLI mirroring the API.

    Batch registers the `report` group first (`report cohort`); the compliance reports join it.
    """
    from eligibility.api.cli import register as register_api
    from eligibility.audit.cli import register as register_audit
    from eligibility.batch.cli import register as register_batch
    from reports.cli import register as register_reports

    for register in (register_audit, register_batch, register_reports, register_api):
        register(app)


# Files this process creates are the patient's data and its audit trail: the database and its WAL,
# the witness, batch outputs and spill files, exports, reports and evidence packs. Under the usual
# umask 022 they were world-readable; every entry point (the CLI and `serve`) creates them 0600 and
# directories 0700 (issue 12). Files that already exist keep their mode.
PRIVATE_UMASK = 0o077


def main() -> None:
    os.umask(PRIVATE_UMASK)
    _register_commands()
    app()


if __name__ == "__main__":
    main()
