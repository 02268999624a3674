"""The /ui routes through FastAPI's TestClient: sign-in, roles, CSRF, the pages, the audit records."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from eligibility.api.users import revoke_user
from eligibility.audit import store
from eligibility.audit.checkpoints import signer_from_settings
from eligibility.audit.models import KIND_ACCESS, KIND_REVIEW
from eligibility.audit.verify import verify
from eligibility.decision import Decision
from eligibility.settings import Settings
from eligibility.web.sign_in import LOGIN_COOKIE, SESSION_COOKIE
from eligibility.web.sign_in_records import list_open
from reports.compliance import compliance_summary, load_period
from tests.postgres import postgres_schema
from tests.web.conftest import csrf_of, login, make_client
from tests.web.seed import Seeded, seed


def _records(seeded: Seeded, decision_id: str, kind: str) -> list[store.StoredRecord]:
    with seeded.session() as session:
        return [r for r in store.decision_history(session, decision_id) if r.kind == kind]


# --- signing in ----------------------------------------------------------------------------------


def test_without_a_session_every_page_redirects_to_the_login_page(client: TestClient, seeded: Seeded) -> None:
    for path in ("/ui/worklist", f"/ui/decisions/{seeded.decisions['example']}", "/ui/compliance"):
        response = client.get(path + "?state=all")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/ui/login?next=%2Fui%2F")
    assert client.get("/ui").headers["location"] == "/ui/worklist"


def test_login_sets_a_signed_httponly_strict_cookie_without_the_token(client: TestClient, seeded: Seeded) -> None:
    token = seeded.tokens["dr.chen"]
    page = client.get("/ui/login?next=/ui/worklist%3Fstate%3Dall")
    assert page.status_code == 200 and 'type="password"' in page.text
    response = client.post("/ui/login", data={"token": token, "csrf": csrf_of(page.text), "next": "/ui/worklist"})
    assert response.status_code == 303 and response.headers["location"] == "/ui/worklist"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert token not in cookie and token[4:20] not in cookie
    assert "Signed in as <strong>dr.chen</strong>" in client.get("/ui/worklist").text


def test_login_refuses_an_unknown_token_and_a_forged_form(client: TestClient) -> None:
    page = client.get("/ui/login")
    wrong = client.post("/ui/login", data={"token": "drg_nope", "csrf": csrf_of(page.text)})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    page = client.get("/ui/login")
    forged = client.post("/ui/login", data={"token": "drg_nope", "csrf": "guess"})
    assert forged.status_code == 403 and "expired" in forged.text
    client.cookies.delete(LOGIN_COOKIE, path="/ui")
    assert client.post("/ui/login", data={"token": "x", "csrf": csrf_of(page.text)}).status_code == 403


def test_login_csrf_is_a_signed_value_not_a_bare_cookie_match(client: TestClient, seeded: Seeded) -> None:
    client.cookies.set(LOGIN_COOKIE, "planted-value", path="/ui")  # e.g. from a sibling subdomain
    data = {"token": seeded.tokens["dr.chen"], "csrf": "planted-value", "next": "/ui/worklist"}
    assert client.post("/ui/login", data=data).status_code == 403  # was 303: cookie == form sufficed
    client.cookies.clear()
    page = client.get("/ui/login")
    assert csrf_of(page.text) != client.cookies.get(LOGIN_COOKIE)  # the form holds the signed token


def test_login_never_redirects_off_site(client: TestClient, seeded: Seeded) -> None:
    page = client.get("/ui/login")
    data = {"token": seeded.tokens["dr.chen"], "csrf": csrf_of(page.text), "next": "//evil.example/ui/"}
    assert client.post("/ui/login", data=data).headers["location"] == "/ui/worklist"


def test_a_tampered_cookie_is_no_session(client: TestClient, seeded: Seeded) -> None:
    login(client, seeded.tokens["dr.chen"])
    value = client.cookies.get(SESSION_COOKIE)
    assert value is not None
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"), path="/ui")
    assert client.get("/ui/worklist").status_code == 303


def test_revoking_the_token_ends_the_browser_session(tmp_path: Path, seeded: Seeded) -> None:
    data = seed(f"sqlite:///{tmp_path}/revoke.db", cases=0)
    with make_client(data) as client:
        login(client, data.tokens["dr.chen"])
        assert client.get("/ui/worklist").status_code == 200
        with Session(data.engine) as session:
            revoke_user(session, name="dr.chen", actor="test", channel="cli")
            session.commit()
        assert client.get("/ui/worklist").status_code == 303
    data.engine.dispose()


def test_logout_needs_the_csrf_token_and_clears_the_session(client: TestClient, seeded: Seeded) -> None:
    login(client, seeded.tokens["dr.chen"])
    assert client.post("/ui/logout", data={"csrf": "nope"}).status_code == 403
    csrf = csrf_of(client.get("/ui/worklist").text)
    response = client.post("/ui/logout", data={"csrf": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    assert client.get("/ui/worklist").status_code == 303


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_trail(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (browser sessions are stored: both must keep them)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/web.db"
        return
    with postgres_schema("web_test") as url:
        yield url


def test_logout_ends_the_session_on_the_server_and_both_are_recorded(empty_trail: str) -> None:
    data = seed(empty_trail, cases=0)
    with make_client(data) as client:
        login(client, data.tokens["dr.chen"])
        copied = client.cookies.get(SESSION_COOKIE)
        with Session(data.engine) as session:
            [open_] = list_open(session, now=time.time())
        assert open_.user_name == "dr.chen"
        csrf = csrf_of(client.get("/ui/worklist").text)
        assert client.post("/ui/logout", data={"csrf": csrf}).status_code == 303
        assert copied is not None
        client.cookies.set(SESSION_COOKIE, copied, path="/ui")  # the cookie copied before logout
        assert client.get("/ui/worklist").status_code == 303  # was: it worked for 8 more hours
        with Session(data.engine) as session:
            assert list_open(session, now=time.time()) == []
            purposes = [(r.actor, r.data()["purpose"]) for r in store.iter_records(session, kinds=[KIND_ACCESS])]
        assert ("dr.chen", "login") in purposes and ("dr.chen", "logout") in purposes
    data.engine.dispose()


def test_admins_list_the_open_browser_sessions(empty_trail: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from eligibility.audit.database import dispose_engines
    from eligibility.commands.serve import register
    from eligibility.settings import get_settings

    data = seed(empty_trail, cases=0, example=False)
    monkeypatch.setenv("DRG_ELIGIBILITY_DATABASE_URL", empty_trail)
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    try:
        with make_client(data) as client:
            login(client, data.tokens["dr.chen"])
            listed = CliRunner().invoke(app, ["users", "sessions"])
            assert listed.exit_code == 0, listed.output
            assert "dr.chen" in listed.output and "ms.ward" not in listed.output
            client.post("/ui/logout", data={"csrf": csrf_of(client.get("/ui/worklist").text)})
            after = CliRunner().invoke(app, ["users", "sessions"])
            assert after.exit_code == 0 and "dr.chen" not in after.output
    finally:
        data.engine.dispose()
        dispose_engines()
        get_settings.cache_clear()


# --- the worklist --------------------------------------------------------------------------------


def test_worklist_lists_every_decision_for_a_specialist_with_counts(client: TestClient, seeded: Seeded) -> None:
    login(client, seeded.tokens["dr.chen"])
    page = client.get("/ui/worklist?state=all").text
    for decision_id in seeded.decisions.values():
        assert decision_id in page
    assert f"{len(seeded.decisions)} decisions" in page
    assert '<span class="n">' in page


def test_worklist_filters(client: TestClient, seeded: Seeded) -> None:
    login(client, seeded.tokens["dr.chen"])
    okafor = [d for d, who in seeded.submitted_by.items() if who == "dr.okafor"]
    page = client.get("/ui/worklist?state=all&referrer=dr.okafor").text
    assert all(d in page for d in okafor)
    assert seeded.decisions["example"] not in page  # dr.rivera's
    today = datetime.now(UTC).date().isoformat()
    assert seeded.decisions["example"] in client.get(f"/ui/worklist?state=all&from={today}&to={today}").text
    empty = client.get("/ui/worklist?state=all&from=2001-01-01&to=2001-01-02")
    assert "No decision matches these filters" in empty.text
    implant = client.get("/ui/worklist?state=all&stage=implant&outcome=NOT_ELIGIBLE")
    assert implant.status_code == 200
    bad = client.get("/ui/worklist?from=yesterday")
    assert bad.status_code == 400 and "Bad date" in bad.text and "text/html" in bad.headers["content-type"]
    assert client.get("/ui/worklist?outcome=MAYBE").status_code == 400


def test_a_referrer_sees_only_their_own_decisions(client: TestClient, seeded: Seeded) -> None:
    login(client, seeded.tokens["dr.okafor"])
    page = client.get("/ui/worklist?state=all").text
    for decision_id, who in seeded.submitted_by.items():
        assert (decision_id in page) == (who == "dr.okafor")
    others = client.get(f"/ui/decisions/{seeded.decisions['example']}")
    assert others.status_code == 404 and "There is no decision" in others.text  # was 403: it exists


def test_empty_trail_says_so(tmp_path: Path) -> None:
    data = seed(f"sqlite:///{tmp_path}/empty.db", cases=0, example=False)  # users only, no decision
    with make_client(data) as client:
        login(client, data.tokens["dr.chen"])
        assert "No decisions yet" in client.get("/ui/worklist").text
    data.engine.dispose()


# --- a case --------------------------------------------------------------------------------------


def test_case_page_shows_the_decision_and_records_the_read(client: TestClient, seeded: Seeded) -> None:
    decision_id = seeded.decisions["example"]
    login(client, seeded.tokens["dr.chen"])
    before = len(_records(seeded, decision_id, KIND_ACCESS))
    page = client.get(f"/ui/decisions/{decision_id}").text
    reads = _records(seeded, decision_id, KIND_ACCESS)
    assert len(reads) == before + 1
    assert (reads[-1].actor, reads[-1].channel, reads[-1].data()["purpose"]) == ("dr.chen", "web", "web-case")
    assert "Pain severity" in page or "pain severity" in page
    assert "✓</span> Met" in page  # status as symbol and word, not colour alone
    assert f'href="/ui/decisions/{decision_id}/resources/Observation/pain-1"' in page
    assert "<svg" in page and "Pain scores over time" in page and "Therapeutic exercise" in page
    assert 'name="csrf"' in page and "Record the review" in page


def test_evidence_link_shows_the_resource_from_the_stored_input(client: TestClient, seeded: Seeded) -> None:
    decision_id = seeded.decisions["example"]
    login(client, seeded.tokens["dr.chen"])
    page = client.get(f"/ui/decisions/{decision_id}/resources/Observation/pain-1")
    assert page.status_code == 200 and "&#34;id&#34;: &#34;pain-1&#34;" in page.text  # raw JSON behind a toggle
    assert '<details id="raw-json">' in page.text
    # and element by element, readable
    assert '<th scope="row" class="mono">code.coding[0].code</th><td>72514-3</td>' in page.text
    assert _records(seeded, decision_id, KIND_ACCESS)[-1].data()["purpose"] == "web-evidence"
    missing = client.get(f"/ui/decisions/{decision_id}/resources/Observation/nope")
    assert missing.status_code == 404 and "not in the record" in missing.text
    assert client.get("/ui/decisions/no-such-decision").status_code == 404


def test_compliance_may_view_a_case_but_not_review_it(client: TestClient, seeded: Seeded) -> None:
    decision_id = seeded.decisions["example"]
    login(client, seeded.tokens["ms.ward"])
    page = client.get(f"/ui/decisions/{decision_id}").text
    assert "Only specialists record reviews" in page and "evidence-pack.pdf" in page
    csrf = csrf_of(page)
    data = {"csrf": csrf, "action": "accept", "reason_code": "clinical-judgement"}
    denied = client.post(f"/ui/decisions/{decision_id}/review", data=data)
    assert denied.status_code == 403 and "may not review decisions" in denied.text
    assert _records(seeded, decision_id, KIND_REVIEW) == []


def test_review_needs_csrf_a_reason_and_for_an_override_a_comment(client: TestClient, seeded: Seeded) -> None:
    decision_id = seeded.decisions["002-chest-post-thoracotomy-off-label"]
    login(client, seeded.tokens["dr.chen"])
    csrf = csrf_of(client.get(f"/ui/decisions/{decision_id}").text)
    url = f"/ui/decisions/{decision_id}/review"
    assert client.post(url, data={"action": "accept", "reason_code": "other"}).status_code == 403
    incomplete = client.post(url, data={"csrf": csrf, "action": "override", "reason_code": "", "outcome": ""})
    assert incomplete.status_code == 400
    for message in ("Choose a reason", "needs the outcome", "needs a comment"):
        assert message in incomplete.text
    # the refusal is said at the top of the page too, not only beside the form at its foot
    top = incomplete.text.index('id="top-errors"')
    assert top < incomplete.text.index("<h1>") and "Choose a reason" in incomplete.text[top : top + 400]
    assert _records(seeded, decision_id, KIND_REVIEW) == []


def test_override_is_recorded_and_shown_on_the_case(client: TestClient, seeded: Seeded) -> None:
    decision_id = seeded.decisions["003-abdomen-acnes-explicit-block-failure"]
    login(client, seeded.tokens["dr.chen"])
    page = client.get(f"/ui/decisions/{decision_id}").text
    recorded = next(line for line in page.splitlines() if 'class="outcome big"' in line)
    new = "NEEDS_REVIEW" if "NEEDS_REVIEW" not in recorded else "NOT_ELIGIBLE"
    data = {
        "csrf": csrf_of(page),
        "action": "override",
        "outcome": new,
        "reason_code": "data-incorrect",
        "comment": "The block was done at the wrong level.",
    }
    response = client.post(f"/ui/decisions/{decision_id}/review", data=data)
    assert response.status_code == 303
    assert response.headers["location"] == f"/ui/decisions/{decision_id}?saved=override#review"
    [review] = _records(seeded, decision_id, KIND_REVIEW)
    assert (review.actor, review.channel) == ("dr.chen", "web")
    assert review.data()["outcome"] == new and review.data()["reason_code"] == "data-incorrect"
    shown = client.get(response.headers["location"]).text
    assert "Review recorded" in shown and "Overridden" in shown and f"→ <strong>{new}</strong>" in shown
    assert decision_id not in client.get("/ui/worklist").text  # left the queue
    assert decision_id in client.get("/ui/worklist?state=reviewed").text
    # Overriding to the recorded outcome is refused by the audit store, and said on the page.
    same = {**data, "outcome": review.data()["recorded_outcome"]}
    assert "already has outcome" in client.post(f"/ui/decisions/{decision_id}/review", data=same).text


# --- compliance ----------------------------------------------------------------------------------


def test_dashboard_shows_the_report_numbers(client: TestClient, seeded: Seeded) -> None:
    today = datetime.now(UTC).date()
    login(client, seeded.tokens["ms.ward"])
    page = client.get(f"/ui/compliance?from={today}&to={today}").text
    with seeded.session() as session:
        verification = verify(session, signer=signer_from_settings(Settings(environment="test")))
        expected = compliance_summary(load_period(session, start=today, end=today), verification=verification).headline
    assert f"<dt>Decisions</dt><dd>{expected.decisions}</dd>" in page
    assert f"<dt>Reviews</dt><dd>{expected.reviews}</dd>" in page
    assert f"<dt>Overridden</dt><dd>{expected.overrides}</dd>" in page
    assert "Audit chain verified" in page
    if verification.checkpoints:  # checkpoints are signed on the first append and then every N records / T s
        assert f"{verification.unsealed} after the newest signed checkpoint" in page
    else:
        assert "no signed checkpoint yet" in page and "after the newest signed checkpoint" not in page
    with seeded.session() as session:
        queries = [r for r in store.iter_records(session, kinds=[KIND_ACCESS]) if r.decision_id is None]
    assert queries[-1].data()["purpose"] == "compliance-dashboard" and queries[-1].channel == "web"
    assert "Nothing was recorded" in client.get("/ui/compliance?from=2001-01-01&to=2001-01-31").text
    assert client.get("/ui/compliance?from=2026-02-01&to=2026-01-01").status_code == 400


@pytest.mark.parametrize(
    ("output", "media", "start"), [("csv", "text/csv", b"table,"), ("pdf", "application/pdf", b"%PDF")]
)
def test_report_downloads(client: TestClient, seeded: Seeded, output: str, media: str, start: bytes) -> None:
    today = datetime.now(UTC).date()
    login(client, seeded.tokens["ms.ward"])
    response = client.get(f"/ui/compliance/report?from={today}&to={today}&format={output}")
    assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    assert response.content.startswith(start) and "attachment" in response.headers["content-disposition"]


def test_evidence_pack_download_is_recorded(client: TestClient, seeded: Seeded) -> None:
    decision_id = seeded.decisions["example"]
    login(client, seeded.tokens["ms.ward"])
    response = client.get(f"/ui/decisions/{decision_id}/evidence-pack.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert _records(seeded, decision_id, KIND_ACCESS)[-1].data()["purpose"] == "evidence-pack"


def test_roles_get_a_403_page(client: TestClient, seeded: Seeded) -> None:
    login(client, seeded.tokens["dr.chen"])
    for path in ("/ui/compliance", f"/ui/decisions/{seeded.decisions['example']}/evidence-pack.pdf"):
        denied = client.get(path)
        assert denied.status_code == 403 and "text/html" in denied.headers["content-type"]
        assert "Not allowed" in denied.text


# --- the app around the pages --------------------------------------------------------------------


def test_unknown_ui_page_is_an_html_404_and_the_api_keeps_operation_outcomes(client: TestClient) -> None:
    page = client.get("/ui/nowhere")
    assert page.status_code == 404 and "Page not found" in page.text
    api = client.get("/fhir/GuidanceResponse/x")
    assert api.status_code == 401 and orjson.loads(api.content)["resourceType"] == "OperationOutcome"


def test_pages_are_not_in_the_openapi_document_and_the_stylesheet_is_served(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]
    css = client.get("/ui/static/web.css")
    assert css.status_code == 200 and ":focus-visible" in css.text


def _submit_case(seeded: Seeded, name: str) -> Decision:
    """A decision case's record submitted by dr.rivera as the API would (a decision of the test's own)."""
    from eligibility.service import evaluate_and_record

    case = orjson.loads((Path(__file__).resolve().parents[1] / "cases" / f"{name}.json").read_bytes())
    return evaluate_and_record(
        orjson.dumps(case["bundle"]),
        as_of=date.fromisoformat(case["as_of"]),
        actor="dr.rivera",
        channel="fhir-api",
        session_factory=seeded.session,
    )


def test_case_page_lists_what_the_policy_could_not_identify(client: TestClient, seeded: Seeded) -> None:
    """Spec §7: unrecognised medications and codes are shown to the specialist, with evidence links."""
    decision = _submit_case(seeded, "132-med-unrecognised-listed")
    login(client, seeded.tokens["dr.chen"])
    page = client.get(f"/ui/decisions/{decision.decision_id}").text
    assert "Not identified by the policy" in page and "not counted toward any criterion or checked for a hold" in page
    assert "kratom capsules (herbal)" in page
    assert f'href="/ui/decisions/{decision.decision_id}/resources/MedicationRequest/medrx-2"' in page
    assert "2601723" in page
    assert "identified by ingredient code" in page  # the gabapentin evidence says how it was identified


def test_case_page_names_the_patient_from_the_stored_input(client: TestClient, seeded: Seeded) -> None:
    login(client, seeded.tokens["dr.chen"])
    page = client.get(f"/ui/decisions/{seeded.decisions['example']}").text
    assert "Ana Rivera — Decision" in page
    assert "Ana Rivera · born 1978-03-14 (48 on 2026-11-20) · female" in page
    baseline = client.get(f"/ui/decisions/{seeded.decisions['001-baseline-crps-foot-eligible']}").text
    assert "Maria Okafor" in baseline and "MRN MRN-8820333" in baseline


def test_the_worklist_names_patients_and_finds_them_by_name_or_mrn(client: TestClient, seeded: Seeded) -> None:
    """Issue 11: a specialist can find "Maria Okafor" by name or by MRN."""
    login(client, seeded.tokens["dr.chen"])
    everything = client.get("/ui/worklist?state=all").text
    assert "<strong>Maria Okafor</strong>" in everything and "<strong>Ana Rivera</strong>" in everything
    by_name = client.get("/ui/worklist?state=all&patient=okafor").text
    assert "Maria Okafor" in by_name and "Ana Rivera" not in by_name
    assert seeded.decisions["001-baseline-crps-foot-eligible"][:8] in by_name
    by_mrn = client.get("/ui/worklist?state=all&patient=MRN-8820333").text
    assert "Maria Okafor" in by_mrn and by_mrn.count("<strong>") == by_name.count("<strong>")
    assert "0 decisions" in client.get("/ui/worklist?state=all&patient=nobody-at-all").text


def test_a_needs_review_case_offers_to_confirm_the_review_outcome(client: TestClient, seeded: Seeded) -> None:
    decision = _submit_case(seeded, "074-pacemaker-needs-review")
    assert decision.outcome == "NEEDS_REVIEW"
    login(client, seeded.tokens["dr.chen"])
    page = client.get(f"/ui/decisions/{decision.decision_id}").text
    assert "Confirm the review outcome" in page and "Accept the outcome NEEDS_REVIEW" not in page


def test_ui_with_or_without_the_slash_is_the_worklist(client: TestClient) -> None:
    for path in ("/ui", "/ui/"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/ui/worklist", path
