"""The `audit`, `replay` and `whatif` commands, through Typer's runner, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import typer
from audit_helpers import AS_OF, bundle, factory_for, tamper
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from eligibility import service
from eligibility.audit import guard
from eligibility.audit.database import dispose_engines
from eligibility.commands.audit import register
from eligibility.settings import get_settings

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def witness_path(tmp_path: Path) -> Path:
    return tmp_path / "witness" / "trail.witness.jsonl"


@pytest.fixture
def cli_env(
    engine: Engine, db_url: str, witness_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("DRG_ELIGIBILITY_DATABASE_URL", db_url)
    monkeypatch.setenv("DRG_ELIGIBILITY_AUDIT_WITNESS_PATH", str(witness_path))
    monkeypatch.setenv("DRG_ELIGIBILITY_ACTOR", "auditor@clinic")
    get_settings.cache_clear()
    factory = factory_for(engine)
    ids = {
        name: service.evaluate_and_record(
            bundle(name), as_of=AS_OF, actor="dr.a", channel="api", session_factory=factory
        ).decision_id
        for name in ("crps-foot-eligible", "pain-duration-five-months")
    }
    yield ids
    dispose_engines()
    guard.forget_known_heads()
    get_settings.cache_clear()


def invoke(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_verify_ok_then_tampered(app: typer.Typer, cli_env: dict[str, str], engine: Engine) -> None:
    code, output = invoke(app, "audit", "verify")
    assert code == 0, output
    assert "OK: the audit trail is intact" in output
    tamper(engine, "UPDATE audit_record SET actor = 'mallory' WHERE seq = 2")
    code, output = invoke(app, "audit", "verify", "--json")
    assert code == 1
    document = orjson.loads(output)
    assert document["ok"] is False
    assert document["first_bad_record"]["seq"] == 2


def test_verify_compares_with_the_witness_and_fails_loudly_without_one(
    app: typer.Typer, cli_env: dict[str, str], engine: Engine, witness_path: Path
) -> None:
    code, output = invoke(app, "audit", "checkpoint")  # the first append signed seq 1; this signs seq 2
    assert code == 0, output
    code, output = invoke(app, "audit", "verify")
    assert code == 0, output
    assert f"witness: 2 signed heads, newest seq 2 ({witness_path})" in output
    tamper(
        engine,
        "DELETE FROM audit_record WHERE seq = 2",
        "DELETE FROM audit_checkpoint WHERE id = 2",
        "DELETE FROM audit_input WHERE sha256 NOT IN (SELECT input_sha256 FROM audit_record)",
    )
    assert invoke(app, "audit", "verify", "--no-witness")[0] == 0  # the database alone: "intact"
    code, output = invoke(app, "audit", "verify")
    assert code == 1
    assert "FAILED: first bad record at seq 2: records 2..2 are missing: the witness holds the head seq 2" in output
    witness_path.unlink()
    code, output = invoke(app, "audit", "verify")
    assert code == 1
    assert f"no witness at {witness_path}" in output
    code, output = invoke(app, "audit", "verify", "--no-witness")
    assert code == 0 and "witness: not checked (--no-witness)" in output


def test_checkpoint_anchor_round_trip(app: typer.Typer, cli_env: dict[str, str], engine: Engine) -> None:
    code, output = invoke(app, "audit", "checkpoint")
    assert code == 0, output
    anchor = output.strip().splitlines()[-1]
    assert invoke(app, "audit", "verify", "--anchor", anchor)[0] == 0
    seq = int(anchor.split(":")[0])
    tamper(engine, f"DELETE FROM audit_record WHERE seq = {seq}", "DELETE FROM audit_checkpoint")
    code, output = invoke(app, "audit", "verify", "--anchor", anchor)
    assert code == 1
    assert "auditor" in output
    assert invoke(app, "audit", "verify", "--anchor", "garbage")[0] == 2


def test_replay_identical_different_and_unknown(app: typer.Typer, cli_env: dict[str, str], engine: Engine) -> None:
    decision_id = cli_env["pain-duration-five-months"]
    code, output = invoke(app, "replay", decision_id)
    assert code == 0, output
    assert "IDENTICAL" in output
    tamper(
        engine,
        "UPDATE audit_record SET payload = replace(payload, 'NOT_ELIGIBLE', 'ELIGIBLE_FOR_TRIAL') "
        "WHERE decision_id = :d AND kind = 'decision'",
        params={"d": decision_id},
    )
    code, output = invoke(app, "replay", decision_id, "--json")
    assert code == 1
    document = orjson.loads(output)
    assert {"path": "outcome", "recorded": "ELIGIBLE_FOR_TRIAL", "now": "NOT_ELIGIBLE"} in document["differences"]
    code, output = invoke(app, "replay", "no-such-decision")
    assert code == 2
    assert "no decision 'no-such-decision'" in output


def test_whatif_by_version(app: typer.Typer, cli_env: dict[str, str]) -> None:
    code, output = invoke(app, "whatif", "--policy", "2.0.0", "--json")
    assert code == 0, output
    document = orjson.loads(output)
    assert document["policy"] == "drg-clinic@2.0.0"
    assert (document["examined"], document["outcomes_changed"]) == (2, 1)
    [changed] = [d for d in document["decisions"] if d["recorded_outcome"] != d["would_be_outcome"]]
    assert changed["decision_id"] == cli_env["pain-duration-five-months"]
    assert {"id": "pain_duration", "recorded": "not_met", "would_be": "met"}.items() <= changed["criteria"][0].items()
    code, output = invoke(app, "whatif", "--policy", "2.0.0")
    assert code == 0 and "1 outcome(s) would change" in output
    assert invoke(app, "whatif", "--policy", "9.9.9")[0] == 2
    assert invoke(app, "whatif", "--policy", "2.0.0", "--from", "yesterday")[0] == 2


def test_export_log_show_review_are_recorded(app: typer.Typer, cli_env: dict[str, str], tmp_path: Path) -> None:
    decision_id = cli_env["crps-foot-eligible"]
    out = tmp_path / "export"
    code, output = invoke(app, "audit", "export", "--out", str(out), "--from", "2000-01-01")
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == [
        "AuditEvent.ndjson",
        "Provenance.ndjson",
        "audit-checkpoints.ndjson",
        "audit-records.ndjson",
    ]
    from eligibility.api.users import Role, add_user
    from eligibility.audit.database import get_engine

    with Session(get_engine()) as session:
        add_user(session, name="dr.lee", role=Role.SPECIALIST, actor="setup", channel="cli")
        session.commit()
    code, output = invoke(app, "audit", "review", decision_id, "--accept", "--reason", "agree", "--reviewer", "dr.lee")
    assert code == 0, output
    assert invoke(app, "audit", "review", decision_id, "--reason", "agree", "--reviewer", "dr.lee")[0] == 2  # neither
    code, output = invoke(app, "audit", "show", decision_id)
    assert code == 0, output
    assert "ELIGIBLE_FOR_TRIAL" in output
    code, output = invoke(app, "audit", "log", "--kind", "access")
    assert code == 0, output
    for purpose in ("export", "show", "log"):
        assert purpose in output
    assert "auditor@clinic" in output


def test_unfit_key_refuses_to_start(app: typer.Typer, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRG_ELIGIBILITY_ENVIRONMENT", "production")
    get_settings.cache_clear()
    code, output = invoke(app, "audit", "verify")
    assert code == 3
    assert "refusing to start" in output


def test_review_from_the_cli_names_a_real_clinician_a_coded_reason_and_takes_a_short_id(
    app: typer.Typer, cli_env: dict[str, str]
) -> None:
    """Issue 11: the CLI reviews by the web app's rules: one reason vocabulary, a named reviewer who is an
    active specialist, and the 8-character ids the web app shows."""
    from eligibility.api.users import Role, add_user
    from eligibility.audit.database import get_engine

    with Session(get_engine()) as session:
        add_user(session, name="dr.kim", role=Role.SPECIALIST, actor="setup", channel="cli")
        add_user(session, name="dr.ref", role=Role.REFERRER, actor="setup", channel="cli")
        session.commit()
    decision_id = cli_env["crps-foot-eligible"]
    short = decision_id[:8]
    code, output = invoke(app, "audit", "review", short, "--accept", "--reason", "banana", "--reviewer", "dr.kim")
    assert code == 2 and "not a review reason" in output and "clinical-judgement" in output
    code, output = invoke(app, "audit", "review", short, "--accept", "--reason", "agree", "--reviewer", "dr.ref")
    assert code == 2 and "not an active specialist" in output
    code, output = invoke(app, "audit", "review", short, "--accept", "--reason", "agree", "--reviewer", "nobody")
    assert code == 2
    code, output = invoke(
        app,
        "audit",
        "review",
        short,
        "--override",
        "NOT_ELIGIBLE",
        "--reason",
        "clinical-judgement",
        "--reviewer",
        "dr.kim",
    )
    assert code == 2 and "needs --comment" in output
    code, output = invoke(app, "audit", "review", short, "--accept", "--reason", "agree", "--reviewer", "dr.kim")
    assert code == 0, output
    code, output = invoke(app, "audit", "show", short)
    assert code == 0 and decision_id in output and "dr.kim" in output
    assert invoke(app, "audit", "show", "0000")[0] == 2  # too short to be a prefix
    assert invoke(app, "replay", short)[0] == 0
