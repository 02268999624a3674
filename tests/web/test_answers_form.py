"""The referrer's answers form: rendered from the Questionnaire, messages beside the fields, the new decision
on its case page with what changed, the worklist marker; only the submitting referrer answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eligibility.audit.store import iter_records
from tests.web.answering import app_for, seed_unknown
from tests.web.conftest import csrf_of, login


def test_a_referrer_answers_in_the_form_and_gets_a_new_explained_decision(tmp_path: Path) -> None:
    seeded, old = seed_unknown(tmp_path / "answers.db")
    with TestClient(app_for(seeded), base_url="http://testserver", follow_redirects=False) as client:  # type: ignore[arg-type]
        login(client, seeded.tokens["dr.rivera"])
        case = client.get(f"/ui/decisions/{old}")
        assert 'id="answer-link"' in case.text
        form = client.get(f"/ui/decisions/{old}/answers")
        assert form.status_code == 200
        assert 'name="pain_severity.0.score"' in form.text and 'type="number"' in form.text
        assert "<script" not in form.text  # server-side HTML, no framework JS
        csrf = csrf_of(form.text)

        bad = client.post(
            f"/ui/decisions/{old}/answers",
            data={"csrf": csrf, "pain_severity.0.score": "11", "pain_severity.0.date": "2026-05-20"},
        )
        assert bad.status_code == 400
        message = re.search(r'<p class="field-error" id="f-pain_severity-0-score-err"[^>]*>([^<]+)</p>', bad.text)
        assert message and "outside 0-10" in message[1]
        with seeded.session() as session:
            rejections = [r for r in iter_records(session, kinds=["rejection"]) if r.channel == "web"]
        assert len(rejections) == 1 and rejections[0].actor == "dr.rivera"

        done = client.post(
            f"/ui/decisions/{old}/answers",
            data={"csrf": csrf, "pain_severity.0.score": "7", "pain_severity.0.date": "2026-05-20"},
        )
        assert done.status_code == 303, done.text
        new_page = client.get(done.headers["location"])
        assert new_page.status_code == 200
        assert "Answered, re-decided" in new_page.text and old[:8] in new_page.text
        changes = new_page.text[new_page.text.index('id="changes"') :]
        assert "pain severity" in changes[:600] and "Unknown" in changes[:600] and "Met" in changes[:600]
        assert "reported by dr.rivera on " in new_page.text and "(questionnaire)" in new_page.text

        again = client.get(f"/ui/decisions/{old}")
        assert 'id="superseded-banner"' in again.text and 'id="answer-link"' not in again.text
        worklist = client.get("/ui/worklist?state=all")
        assert worklist.text.count("answered, re-decided") == 1


def test_only_the_submitting_referrer_answers(tmp_path: Path) -> None:
    seeded, old = seed_unknown(tmp_path / "answers.db")
    with TestClient(app_for(seeded), base_url="http://testserver", follow_redirects=False) as client:  # type: ignore[arg-type]
        login(client, seeded.tokens["dr.okafor"])
        assert client.get(f"/ui/decisions/{old}/answers").status_code == 404
    with TestClient(app_for(seeded), base_url="http://testserver", follow_redirects=False) as client:  # type: ignore[arg-type]
        login(client, seeded.tokens["dr.chen"])  # a specialist reads the case but does not answer for the referrer
        assert client.get(f"/ui/decisions/{old}/answers").status_code == 403
        assert 'id="answer-link"' not in client.get(f"/ui/decisions/{old}").text


def test_compliance_counts_decisions_completed_by_questionnaire(tmp_path: Path) -> None:
    seeded, old = seed_unknown(tmp_path / "answers.db")
    with TestClient(app_for(seeded), base_url="http://testserver", follow_redirects=False) as client:  # type: ignore[arg-type]
        login(client, seeded.tokens["dr.rivera"])
        csrf = csrf_of(client.get(f"/ui/decisions/{old}/answers").text)
        fields = {"csrf": csrf, "pain_severity.0.score": "8", "pain_severity.0.date": "2026-05-20"}
        assert client.post(f"/ui/decisions/{old}/answers", data=fields).status_code == 303
    with TestClient(app_for(seeded), base_url="http://testserver", follow_redirects=False) as client:  # type: ignore[arg-type]
        login(client, seeded.tokens["ms.ward"])
        page = client.get("/ui/compliance").text
        assert "<dt>Decisions completed by questionnaire</dt><dd>1</dd>" in page
        # under an hour a delay reads in minutes, like the review times (reports/durations.py)
        minutes = re.search(r"<dt>Median hours from data request to answer</dt><dd>([0-9]+) min</dd>", page)
        assert minutes and 0 <= int(minutes[1]) < 60  # answered seconds after the request, in this test
        words = page.replace("<wbr>", "")  # outcome codes may wrap at their underscores in table cells
        assert 'id="table-completed_by_questionnaire"' in page and "INSUFFICIENT_INFORMATION" in words


def test_the_evidence_pack_shows_the_chain_old_decision_answers_new_decision(tmp_path: Path) -> None:
    from reports.evidence_pack import evidence_pack_html

    seeded, old = seed_unknown(tmp_path / "answers.db")
    with TestClient(app_for(seeded), base_url="http://testserver", follow_redirects=False) as client:  # type: ignore[arg-type]
        login(client, seeded.tokens["dr.rivera"])
        csrf = csrf_of(client.get(f"/ui/decisions/{old}/answers").text)
        fields = {"csrf": csrf, "pain_severity.0.score": "8", "pain_severity.0.date": "2026-05-20"}
        new = client.post(f"/ui/decisions/{old}/answers", data=fields).headers["location"].split("/")[-1].split("?")[0]
    with seeded.session() as session:
        pack = evidence_pack_html(session, new)
        before = evidence_pack_html(session, old)
    assert "Made from the referrer&#39;s answers." in pack or "Made from the referrer's answers." in pack
    assert old in pack and "QuestionnaireResponse/" in pack and "pain_severity: unknown → <strong>met</strong>" in pack
    assert "reported by dr.rivera on " in pack
    assert "Superseded." in before and new in before


@pytest.mark.parametrize(
    ("case", "names"),
    [
        ("039-meds-none-on-record", ["failed_medications.0~0.drug", "failed_medications.0~2.start"]),
        ("048-pt-adequate-no-outcome-unknown", ["failed_physical_therapy.0.outcome"]),
        ("061-psych-older-than-twelve-months", ["psychological_evaluation.0.done", "psychological_evaluation.0.date"]),
        ("018-dx-no-pain-diagnosis", ["qualifying_diagnosis.0.diagnosis", "pain_location.0.body-site"]),
    ],
)
def test_the_form_renders_every_kind_of_question(tmp_path: Path, case: str, names: list[str]) -> None:
    seeded, old = seed_unknown(tmp_path / "answers.db", case)
    with TestClient(app_for(seeded), base_url="http://testserver", follow_redirects=False) as client:  # type: ignore[arg-type]
        login(client, seeded.tokens["dr.rivera"])
        page = client.get(f"/ui/decisions/{old}/answers")
        assert page.status_code == 200
        for name in names:
            assert f'name="{name}"' in page.text, name
        if case.startswith("048"):  # the course on record is shown, not asked
            assert "Course started:</strong> 2025-" in page.text
