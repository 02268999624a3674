"""`report compliance` and `report evidence-pack` through Typer's runner, on a trail of their own."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest
import typer
from reports_helpers import Built, tamper
from typer.testing import CliRunner

from eligibility.audit import store
from eligibility.audit.database import read_session
from eligibility.commands.report import register, report_group

runner = CliRunner()
JUNE = ("--from", "2026-06-01", "--to", "2026-06-30")


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def last_record(built: Built) -> store.StoredRecord:
    with read_session(built.engine) as session:
        return list(store.iter_records(session))[-1]


def count(built: Built) -> int:
    with read_session(built.engine) as session:
        return store.count_records(session)


def test_compliance_csv_html_pdf(app: typer.Typer, fresh_sqlite: Built, tmp_path: Path) -> None:
    code, out, err = invoke(app, "report", "compliance", *JUNE, "--format", "csv", "--out", str(tmp_path / "june.csv"))
    assert code == 0, err
    assert "2026-06-01 to 2026-06-30, 12 decisions, 8 reviews (override rate 37.5 %), 2 rejections" in out
    assert "audit chain verification PASSED" in out
    data = pd.read_csv(io.StringIO((tmp_path / "june.csv").read_text()), dtype={"value": "str"})
    assert data[(data["table"] == "headline") & (data["metric"] == "decisions")]["value"].item() == "12"
    # The report is itself a query of the trail, recorded before anything was written.
    record = last_record(fresh_sqlite)
    assert (record.kind, record.actor, record.channel) == ("access", "auditor@clinic", "cli")
    assert record.data() == {
        "purpose": "compliance-report",
        "query": {"from": "2026-06-01", "to": "2026-06-30", "format": "csv"},
    }
    # --format from the suffix.
    for name in ("june.html", "june.pdf"):
        code, out, err = invoke(app, "report", "compliance", *JUNE, "--out", str(tmp_path / name))
        assert code == 0, err
    assert (tmp_path / "june.pdf").read_bytes().startswith(b"%PDF-")
    assert "Audit chain verification: PASSED." in (tmp_path / "june.html").read_text()
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "june.pdf").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's owner-only mode


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-06-30"], "--from '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["--from", "2026-06-01", "--to", "June"], "--to 'June' is not a date (YYYY-MM-DD)"),
        (["--from", "2026-06-30", "--to", "2026-06-01"], "--to 2026-06-01 is before --from 2026-06-30"),
        (["--from", "2026-06-01", "--to", "2026-06-30", "--format", "docx"], "--format 'docx' is not one of"),
    ],
)
def test_compliance_usage_errors(
    app: typer.Typer, fresh_sqlite: Built, tmp_path: Path, args: list[str], message: str
) -> None:
    before = count(fresh_sqlite)
    code, _, err = invoke(app, "report", "compliance", *args, "--out", str(tmp_path / "r.html"))
    assert code == 2
    assert err.startswith(f"drg-eligibility: error: {message}") and err.count("\n") == 1
    assert count(fresh_sqlite) == before  # refused before anything was read or recorded
    assert not (tmp_path / "r.html").exists()


def test_compliance_output_problems(app: typer.Typer, fresh_sqlite: Built, tmp_path: Path) -> None:
    code, _, err = invoke(app, "report", "compliance", *JUNE, "--out", str(tmp_path / "report.txt"))
    assert (code, err.strip()) == (2, "drg-eligibility: error: the suffix of 'report.txt' is not one of html, pdf, csv")
    code, _, err = invoke(app, "report", "compliance", *JUNE, "--out", str(tmp_path / "missing" / "r.pdf"))
    assert code == 2 and "does not exist" in err


def test_compliance_on_a_tampered_trail_writes_the_report_and_exits_1(
    app: typer.Typer, fresh_sqlite: Built, tmp_path: Path
) -> None:
    seq = fresh_sqlite.trail.seqs["V4"]
    tamper(fresh_sqlite.engine, f"UPDATE audit_record SET actor = 'dr.mallory' WHERE seq = {seq}")
    code, _, err = invoke(app, "report", "compliance", *JUNE, "--out", str(tmp_path / "june.html"))
    assert code == 1
    assert f"audit chain verification FAILED: first bad record at seq {seq}" in err
    assert f"First bad record: seq {seq}" in (tmp_path / "june.html").read_text()


def test_evidence_pack(app: typer.Typer, fresh_sqlite: Built, tmp_path: Path) -> None:
    decision_id = fresh_sqlite.trail.decisions["D7"]
    code, out, err = invoke(app, "report", "evidence-pack", decision_id, "--out", str(tmp_path / "d7.pdf"))
    assert code == 0, err
    assert f"decision {decision_id} NEEDS_REVIEW, 1 review(s), 4 read(s)" in out  # A2, A3, A4 and this one
    assert "chain proof PASSED" in out
    assert (tmp_path / "d7.pdf").read_bytes().startswith(b"%PDF-")
    record = last_record(fresh_sqlite)
    assert (record.kind, record.decision_id, record.actor, record.channel) == (
        "access",
        decision_id,
        "auditor@clinic",
        "cli",
    )
    assert record.data()["purpose"] == "evidence-pack"
    # The 8 characters the web app and the compliance report show name the decision too.
    code, out, err = invoke(app, "report", "evidence-pack", decision_id[:8], "--out", str(tmp_path / "d7.html"))
    assert code == 0, err
    assert f"decision {decision_id} NEEDS_REVIEW" in out
    assert "evidence-pack" in (tmp_path / "d7.html").read_text()  # the pack lists its own read


def test_evidence_pack_of_an_unknown_decision(app: typer.Typer, fresh_sqlite: Built, tmp_path: Path) -> None:
    before = count(fresh_sqlite)
    code, _, err = invoke(app, "report", "evidence-pack", "no-such-id", "--out", str(tmp_path / "x.pdf"))
    assert code == 2
    assert err.strip() == (
        "drg-eligibility: error: no decision 'no-such-id': no recorded decision id starts with it at decision_id"
    )
    assert count(fresh_sqlite) == before and not (tmp_path / "x.pdf").exists()


def test_register_joins_an_existing_report_group_and_is_idempotent() -> None:
    from eligibility.commands.batch import register as register_batch

    app = typer.Typer()
    register_batch(app)  # bulk screening's `report cohort`, registered first
    register(app)
    register(app)
    reports = [info for info in app.registered_groups if info.name == "report"]
    assert len(reports) == 1
    assert report_group(app) is reports[0].typer_instance
    commands = [info.name for info in reports[0].typer_instance.registered_commands]
    assert commands == ["cohort", "compliance", "evidence-pack"]
    code, out, _ = invoke(app, "report", "--help")
    assert code == 0 and all(name in out for name in commands)
