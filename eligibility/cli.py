"""`drg-eligibility`: the command line, mirroring the API.

Exit codes: 0 success; 1 a check found a problem (verify, replay difference); 2 bad input or
usage (one line on stderr naming where the problem is); 3 the audit trail could not record, so
no decision was released.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer

from eligibility.commands.support import EXIT_AUDIT, EXIT_USAGE, actor_name, domain_errors, fail, refuse_far_future
from eligibility.errors import InputError, PolicyError
from eligibility.explain import render_text
from eligibility.policy import installed_policies, load_policy
from eligibility.settings import get_settings
from eligibility.version import ENGINE_VERSION

__all__ = ["app", "main"]

app = typer.Typer(
    name="drg-eligibility",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(help="Show and check the installed candidacy policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"drg-eligibility {version('drg-eligibility')} (engine {ENGINE_VERSION})")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """DRG stimulation candidacy decision support: evaluate FHIR records, explain, audit."""


@app.command()
def info() -> None:
    """Where things are: version, default policy, audit database, key mode, data and policy folders."""
    import hashlib
    from importlib.metadata import version

    from eligibility.policy import policy_roots
    from eligibility.settings import DEV_HMAC_KEY

    settings = get_settings()
    typer.echo(f"version       drg-eligibility {version('drg-eligibility')} (engine {ENGINE_VERSION})")
    typer.echo(f"environment   {settings.environment}")
    try:
        chosen = load_policy()
        typer.echo(f"policy        {chosen.key} (sha256 {chosen.sha256[:16]}…), the default")
    except PolicyError as exc:
        typer.echo(f"policy        {settings.default_policy}: {exc.one_line()}")
    typer.echo(f"policies      {', '.join(p.key for p in installed_policies())}")
    typer.echo(f"policy dirs   {os.pathsep.join(str(r) for r in policy_roots())}")
    typer.echo(f"audit trail   {_without_password(settings.database_url)}")
    typer.echo(f"data dir      {settings.data_dir}")
    if settings.audit_hmac_key == DEV_HMAC_KEY:
        mode = "development key (insecure; set DRG_ELIGIBILITY_AUDIT_HMAC_KEY outside development)"
    else:
        mode = f"configured key, fingerprint {hashlib.sha256(settings.audit_hmac_key.encode()).hexdigest()[:16]}"
    typer.echo(f"signing key   {mode}")


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


def _evaluation_inputs(paths: list[str]) -> list[str]:
    """The files `evaluate` reads: each file as given, each folder's *.json / *.ndjson files, sorted."""
    found: list[str] = []
    for path in paths:
        folder = Path(path)
        if path == "-" or not folder.is_dir():
            found.append(path)
            continue
        if (folder / "Patient.ndjson").is_file() or (folder / "Patient.ndjson.gz").is_file():
            fail(
                f"{path} looks like a Bulk Data export (one file per resource type): "
                f"use `drg-eligibility batch {path} --as-of YYYY-MM-DD --out decisions.ndjson`"
            )
        files = sorted(str(p) for p in folder.iterdir() if p.is_file() and p.suffix in (".json", ".ndjson"))
        if not files:
            fail(f"{path} is a folder with no .json or .ndjson record in it")
        found += files
    return found


@app.command()
def evaluate(
    paths: Annotated[
        list[str],
        typer.Argument(help="FHIR R4 Bundle or NDJSON file(s) of one patient each, folders of them, or '-' (stdin)."),
    ],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (default: today).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="json (the decision record) or text.")] = "text",
    policy: Annotated[str | None, typer.Option(help="Policy id@version (default: the configured one).")] = None,
    read_all: Annotated[
        bool,
        typer.Option(
            "--read-all",
            help="Validate every resource of a read type, not only what the policy reads "
            "(a problem in an unread resource then rejects the record instead of a warning).",
        ),
    ] = False,
) -> None:
    """Evaluate each patient's record; every decision is recorded in the audit trail before it is shown.

    Several files (or a folder of them) are evaluated one by one: text output separates them with a rule,
    JSON output is one decision record per line. A Bulk Data export goes to `drg-eligibility batch`.
    """
    if output_format not in {"json", "text"}:
        fail(f"--format must be json or text, not {output_format!r}")
    day = parse_day(as_of, "--as-of")
    files = _evaluation_inputs(paths)
    refuse_far_future(day, option="--as-of", channel="cli")
    failed = 0
    for index, path in enumerate(files):
        if len(files) > 1 and output_format == "text":
            typer.echo(("\n" if index else "") + f"── {path} " + "─" * max(0, 70 - len(path)))
        try:
            _evaluate_one(
                path,
                day=day,
                output_format=output_format,
                policy=policy,
                several=len(files) > 1,
                read_all=read_all or get_settings().read_all,
            )
        except typer.Exit as exit_:
            if len(files) == 1 or exit_.exit_code == EXIT_AUDIT:
                raise
            failed += 1
    if failed:
        typer.echo(f"drg-eligibility: {failed} of {len(files)} records were not decided (see above)", err=True)
        raise typer.Exit(EXIT_USAGE)


def _evaluate_one(
    path: str, *, day: date, output_format: str, policy: str | None, several: bool, read_all: bool
) -> None:
    from eligibility.service import evaluate_and_record_result

    raw = read_input(path)
    with domain_errors(input_prefix=f"{path}: ", audit_prefix="no decision released: "):
        try:
            result = evaluate_and_record_result(
                raw, as_of=day, actor=actor_name(), channel="cli", policy=policy, read_all=read_all
            )
        except InputError as exc:
            if exc.location == "asOf":  # say it with the option's name on the command line
                fail(f"{path}: {exc.message.replace('asOf', '--as-of', 1)}")
            raise
    decision = result.decision
    for problem in result.unread_problems:  # on stderr: stdout is exactly the decision (--format json)
        typer.echo(f"drg-eligibility: warning: {path}: {problem.location}: {problem.message}", err=True)
    if output_format == "json":
        option = 0 if several else orjson.OPT_INDENT_2  # several: one decision record per line
        sys.stdout.buffer.write(orjson.dumps(decision.to_json_dict(), option=option) + b"\n")
    else:
        from fhir_adapters.patient_header import patient_header

        header = patient_header(raw)
        typer.echo(render_text(decision, patient=header.line(day) if header else None))


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


@policy_app.command("seal")
def policy_seal(
    directory: Annotated[Path, typer.Argument(help="A policy version's folder (<id>/<version>/).")],
) -> None:
    """Rewrite a draft policy version's manifest with the SHA-256 of each data file (after an edit)."""
    from eligibility.policy import seal_policy

    if not (directory / "manifest.json").is_file():
        fail(f"{directory}: no manifest.json (give a policy version's folder)")
    manifest = seal_policy(directory)
    hashes = ", ".join(f"{name} {digest[:12]}…" for name, digest in manifest["files"].items())
    typer.echo(f"sealed {manifest['id']}@{manifest['version']}: {hashes}")


@policy_app.command("import-rxnorm")
def policy_import_rxnorm(
    rrf_dir: Annotated[Path, typer.Argument(help="An unpacked RxNorm release (its folder or its rrf/ folder).")],
    source: Annotated[str, typer.Option("--from", help="The policy to extend, id@version.")],
    version: Annotated[str, typer.Option("--version", help="The new version, e.g. 1.1.0-site1.")],
    out: Annotated[
        Path | None, typer.Option(help="Where policy versions live (default: the first DRG_ELIGIBILITY_POLICY_DIRS)")
    ] = None,
) -> None:
    """Write a new policy version whose product table maps every SCD/SBD/GPCK/BPCK of the release that
    contains an ingredient of the policy (RXNCONSO.RRF and RXNREL.RRF, streamed)."""
    from eligibility.policy import policy_roots
    from eligibility.rxnorm_import import import_rxnorm

    try:
        base = load_policy(source)
        roots = policy_roots()
        report = import_rxnorm(rrf_dir, base, version, out_root=out or (roots[1] if len(roots) > 1 else roots[0]))
    except PolicyError as exc:
        fail(exc.one_line())
    except OSError as exc:
        fail(f"{rrf_dir}: {exc.strerror or exc}")
    typer.echo(f"read {report.concepts_read:,} RXNCONSO rows and {report.relationships_read:,} RXNREL rows")
    typer.echo(
        f"mapped {report.products_mapped:,} products (" + ", ".join(f"{t} {n:,}" for t, n in report.by_tty.items())
        + f"); {report.kept_from_source} entries of {base.key} kept"
    )
    typer.echo(f"wrote {base.id}@{version} in {report.policy_dir}")
    if out is not None or len(policy_roots()) == 1:
        typer.echo(f"to use it: export DRG_ELIGIBILITY_POLICY_DIRS={report.policy_dir.parent.parent}"
                   f" and DRG_ELIGIBILITY_DEFAULT_POLICY={base.id}@{version} (or pass --policy)")


@app.command()
def terms(
    paths: Annotated[list[Path], typer.Argument(help="Bundles, NDJSON files, folders of them, or Bulk Data exports.")],
    policy: Annotated[str | None, typer.Option(help="Policy id@version (default: the configured one).")] = None,
    top: Annotated[int, typer.Option(help="Rows to print (0: all).")] = 50,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write every row to this CSV file.")] = None,
) -> None:
    """List the codes the policy did not recognise, most frequent first: what to map next."""
    import csv

    from eligibility.terms import collect_terms

    try:
        chosen = load_policy(policy)
    except PolicyError as exc:
        fail(exc.one_line())
    report = collect_terms(paths, chosen, as_of=date.today())  # edge: as_of only bounds "active" here
    for problem in report.problems:
        typer.echo(f"skipped: {problem}", err=True)
    typer.echo(f"{report.records:,} records, {report.resources:,} resources read under {chosen.key}: "
               f"{len(report.rows):,} distinct codes not recognised")
    shown = report.rows if top == 0 else report.rows[:top]
    if shown:
        typer.echo(f"{'count':>7}  {'kind':<15} {'system':<45} {'code':<14} display / seems to be   (example)")
    for row in shown:
        t = row.term
        seems = f"  [seems: {row.seems}]" if row.seems and row.seems.lower() != (t.display or "").lower() else ""
        typer.echo(f"{row.count:>7}  {t.kind:<15} {t.system or '(no system)':<45} {t.code or '-':<14} "
                   f"{t.display or '-'}{seems}   ({row.example})")
    if csv_out is not None:
        with csv_out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["count", "kind", "system", "code", "display", "seems", "example"])
            for row in report.rows:
                t = row.term
                writer.writerow([row.count, t.kind, t.system, t.code, t.display, row.seems, row.example])
        typer.echo(f"wrote {len(report.rows):,} rows to {csv_out}")


def _register_commands() -> None:
    """Each part of the product adds its own commands, so there is one CLI mirroring the API.

    Batch registers the `report` group first (`report cohort`); the compliance reports join it.
    """
    from eligibility.commands.audit import register as register_audit
    from eligibility.commands.batch import register as register_batch
    from eligibility.commands.report import register as register_reports
    from eligibility.commands.serve import register as register_api

    for register in (register_audit, register_batch, register_reports, register_api):
        register(app)


# Files this process creates are the patient's data and its audit trail: the database and its WAL,
# the witness, batch outputs and spill files, exports, reports and evidence packs. Under the usual
# umask 022 they were world-readable; every entry point (the CLI and `serve`) creates them 0600 and
# directories 0700 (issue 12). Files that already exist keep their mode.
PRIVATE_UMASK = 0o077


def _without_password(url: str) -> str:
    """The database URL as `info` and `--help` show it (SQLAlchemy's own rendering costs 0.2 s to import)."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def main() -> None:
    os.umask(PRIVATE_UMASK)
    _register_commands()
    if app.registered_callback is not None:  # --help names the trail every command writes to
        trail = _without_password(get_settings().database_url)
        app.registered_callback.epilog = f"Audit trail: {trail} (DRG_ELIGIBILITY_DATABASE_URL; see `info`)."
    app()


if __name__ == "__main__":
    main()
