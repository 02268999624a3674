"""Tokens and roles: 401 and 403 as OperationOutcomes (recorded), hashed tokens, audited user changes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from eligibility.api.tables import API_USER
from eligibility.api.token_cache import TOKEN_RECHECK_S, TokenCache
from eligibility.api.users import ApiUser, Role, add_user, find_by_token, revoke_user, token_sha256
from eligibility.commands.serve import register
from eligibility.errors import InputError
from tests.api.conftest import Api
from tests.api.helpers import AS_OF, example, records


def test_missing_and_wrong_tokens_are_401_with_a_challenge(api: Api) -> None:
    missing = api.http.post("/fhir/Patient/$drg-candidacy", content=example())
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="drg-eligibility"'
    assert missing.json()["issue"][0]["code"] == "login"

    wrong = api.operate(example(), Authorization="Bearer drg_not-a-real-token")
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    basic = api.operate(example(), Authorization="Basic dXNlcjpwYXNz")
    assert basic.status_code == 401

    refused = records(api.engine, "rejection")
    assert [r.data()["error"]["type"] for r in refused] == ["AuthenticationError"] * 3
    assert all(r.actor == "anonymous@127.0.0.1" and r.input_sha256 for r in refused)


@pytest.mark.parametrize("role", [Role.SPECIALIST, Role.COMPLIANCE])
def test_roles_that_may_not_submit_get_403(api: Api, role: Role) -> None:
    response = api.operate(example(), role=role, params={"asOf": AS_OF})
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"
    [rejection] = records(api.engine, "rejection")
    assert rejection.actor == f"dr.{role.value}"


def test_review_needs_the_specialist_role(api: Api) -> None:
    decision_id = api.operate(example(), params={"asOf": AS_OF}).json()["parameter"][0]["resource"]["identifier"][
        "value"
    ]
    body = {"action": "override", "reason_code": "clinical-judgement", "outcome": "NEEDS_REVIEW"}
    denied = api.http.post(f"/decisions/{decision_id}/review", json=body, headers=api.bearer(Role.REFERRER))
    assert denied.status_code == 403
    done = api.http.post(f"/decisions/{decision_id}/review", json=body, headers=api.bearer(Role.SPECIALIST))
    assert done.status_code == 200, done.text
    [review] = records(api.engine, "review")
    assert (review.actor, review.decision_id, review.data()["outcome"]) == (
        "dr.specialist",
        decision_id,
        "NEEDS_REVIEW",
    )

    history = api.http.get(f"/audit/decisions/{decision_id}", headers=api.bearer(Role.COMPLIANCE))
    assert history.status_code == 200
    assert [r["kind"] for r in history.json()["records"]] == ["decision", "review", "access"]
    assert api.http.get(f"/audit/decisions/{decision_id}", headers=api.bearer(Role.SPECIALIST)).status_code == 403


def test_revoked_token_stops_working_and_changes_are_audited(api: Api) -> None:
    with Session(api.engine) as session:
        revoke_user(session, name="dr.referrer", actor="admin-cli", channel="cli")
        session.commit()
    assert api.operate(example()).status_code == 401
    admin = [r.data()["query"] for r in records(api.engine, "access") if r.data()["purpose"] == "admin"]
    assert {"action": "user-revoke", "user": "dr.referrer"} in admin
    assert sum(q["action"] == "user-add" for q in admin) == len(Role)


def test_tokens_are_stored_only_as_hashes(api: Api) -> None:
    with Session(api.engine) as session:
        stored = session.execute(select(API_USER.c.name, API_USER.c.token_sha256)).all()
        token = api.tokens[Role.ADMIN]
        assert ("dr.admin", token_sha256(token)) in stored
        assert all(token not in row for row in stored)
        user = find_by_token(session, token)
        assert user is not None and user.role is Role.ADMIN
        assert find_by_token(session, token + "x") is None
        with pytest.raises(InputError, match="already has an active token"):
            add_user(session, name="dr.admin", role=Role.ADMIN, actor="t", channel="cli")


def test_users_cli_prints_the_token_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eligibility.audit.database import dispose_engines
    from eligibility.settings import get_settings

    monkeypatch.setenv("DRG_ELIGIBILITY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    try:
        added = runner.invoke(app, ["users", "add", "dr.who", "--role", "referrer"])
        assert added.exit_code == 0, added.output
        token = added.stdout.strip().splitlines()[-1]
        assert token.startswith("drg_")
        listed = runner.invoke(app, ["users", "list"])
        assert "dr.who" in listed.stdout and "referrer" in listed.stdout and token not in listed.stdout
        again = runner.invoke(app, ["users", "add", "dr.who", "--role", "admin"])
        assert again.exit_code == 2
        assert runner.invoke(app, ["users", "revoke", "dr.who"]).exit_code == 0
        assert "dr.who" not in runner.invoke(app, ["users", "list"]).stdout
        assert "revoked" in runner.invoke(app, ["users", "list", "--all"]).stdout
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_a_re_created_name_cannot_read_the_old_accounts_decisions(api: Api) -> None:
    """Issue 12 item 13: "read own" is bound to the account, not the name."""
    decision_id = api.operate(example(), params={"asOf": AS_OF}).json()["parameter"][0]["resource"]["identifier"][
        "value"
    ]
    path = f"/fhir/GuidanceResponse/{decision_id}"
    assert api.http.get(path, headers=api.bearer(Role.REFERRER)).status_code == 200  # the submitter reads it
    with Session(api.engine) as session:
        revoke_user(session, name="dr.referrer", actor="admin-cli", channel="cli")
        token = add_user(session, name="dr.referrer", role=Role.REFERRER, actor="admin-cli", channel="cli")
        session.commit()
    again = api.http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 404, again.text  # answered as a missing decision, like another's
    mine = api.operate(example(), Authorization=f"Bearer {token}", params={"asOf": AS_OF})
    new_id = mine.json()["parameter"][0]["resource"]["identifier"]["value"]
    assert (
        api.http.get(f"/fhir/GuidanceResponse/{new_id}", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_a_revoked_token_is_refused_within_the_recheck_bound_even_after_it_was_remembered(api: Api) -> None:
    """Tokens found active are remembered for TOKEN_RECHECK_S (api/token_cache.py); a revocation committed
    by another process (the CLI) is seen once that has passed."""
    assert api.operate(example()).status_code == 200  # the token is now remembered
    with Session(api.engine) as session:
        revoke_user(session, name="dr.referrer", actor="admin-cli", channel="cli")
        session.commit()
    revoked_at = time.monotonic()
    while True:
        sent_at = time.monotonic()
        status = api.operate(example()).status_code
        if status != 200:
            break
        assert sent_at - revoked_at < TOKEN_RECHECK_S  # served only inside the bound
    assert status == 401
    time.sleep(TOKEN_RECHECK_S)
    assert api.operate(example()).status_code == 401  # and never again


def test_the_token_cache_trusts_a_user_only_for_the_recheck_time_and_never_an_unknown_token() -> None:
    now = [100.0]
    cache = TokenCache(recheck_s=1.0, size=2, clock=lambda: now[0])
    user = ApiUser(name="dr.a", role=Role.REFERRER, created_at="2026-01-01T00:00:00Z", revoked_at=None)
    assert cache.get("drg_a") is None
    cache.put("drg_a", user, read_at=99.5)
    assert cache.get("drg_a") == user and cache.get("drg_b") is None
    now[0] = 100.5  # one second after the read, not after the put
    assert cache.get("drg_a") is None
    cache.put("drg_a", user, read_at=100.5)
    cache.put("drg_b", user, read_at=100.5)
    cache.put("drg_c", user, read_at=100.5)  # bounded: the oldest goes
    assert cache.get("drg_a") is None and cache.get("drg_c") == user
