"""The evidence pack: the decision, its evidence, reviews, reads and chain proof, from the real trail."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import weasyprint  # type: ignore[import-untyped]
from reports_helpers import AS_OF, Built, case_bytes, tamper
from sqlalchemy.orm import Session

from eligibility import service
from eligibility.audit import store
from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import read_session
from eligibility.errors import InputError
from reports.evidence_pack import evidence_pack_html, evidence_pack_pdf, load_evidence_pack

GENERATED = "2026-07-02T08:00:00Z"


def test_pack_holds_decision_criteria_reviews_reads_and_proof(sqlite_trail: Built, signer: Signer) -> None:
    decision_id = sqlite_trail.trail.decisions["D7"]
    with read_session(sqlite_trail.engine) as session:
        pack = load_evidence_pack(session, decision_id, signer=signer)
        html = evidence_pack_html(session, decision_id, signer=signer, generated_at=GENERATED)
        record = store.get_decision_record(session, decision_id)
    assert record is not None
    d = pack.decision
    assert (d.outcome, d.stage, d.label_status) == ("NEEDS_REVIEW", "trial", "ON_LABEL")
    for text in (
        "NEEDS_REVIEW",
        d.policy.sha256,
        d.input_sha256,
        d.engine_version,
        "stored input matches its SHA-256",
        "Condition/cond-2",  # the pacemaker evidence of no_relative_contraindication
    ):
        assert text in html, text
    # Every criterion with its status (ids may carry <wbr> break hints after underscores).
    plain = html.replace("_<wbr>", "_")
    for criterion in d.criteria:
        assert f"<td>{criterion.id}</td>" in plain
    # The review (V5: dr.kim overrode to ELIGIBLE_FOR_TRIAL) and the three reads (A2, A3, A4).
    assert [r.actor for r in pack.reviews] == ["dr.kim"]
    assert "NEEDS_REVIEW → ELIGIBLE_FOR_TRIAL" in plain and "clinical-judgement" in html
    assert [(r.actor, r.data()["purpose"]) for r in pack.reads] == [
        ("dr.kim", "read"),
        ("dr.kim", "read"),
        ("auditor@clinic", "show"),
    ]
    # Chain proof: the stored hashes, recomputed; checkpoints every 5 records, so seq 15 is sealed by seq 15's.
    proof = pack.proof
    assert (record.seq, proof.content_ok, proof.link_ok) == (sqlite_trail.trail.seqs["D7"], True, True)
    for value in (record.content_sha256, record.prev_hash, record.chain_hash):
        assert value in html
    assert proof.checkpoint is not None
    assert proof.checkpoint.record_seq == -(-record.seq // 5) * 5 == proof.verified_through
    assert proof.checkpoint_signature_ok is True
    assert proof.ok and "Chain proof: PASSED." in html
    assert f"Verification of the trail up to seq {proof.verified_through}: PASSED." in html


def test_pack_of_a_decision_with_actions_and_data_requests(sqlite_trail: Built, signer: Signer) -> None:
    with read_session(sqlite_trail.engine) as session:
        html = evidence_pack_html(session, sqlite_trail.trail.decisions["D12"], signer=signer, generated_at=GENERATED)
        unknown = evidence_pack_html(session, sqlite_trail.trail.decisions["D5"], signer=signer)
    assert "hold_<wbr>medication" in html and "ibuprofen" in html and "smoking_<wbr>cessation" in html
    assert "Record a current 0-10 pain score (LOINC 72514-3)." in unknown
    assert "http://loinc.org|72514-3" in unknown
    assert "this decision has not been reviewed" in unknown


def test_record_not_yet_under_a_checkpoint(fresh_sqlite: Built, signer: Signer) -> None:
    decision = service.evaluate_and_record(
        case_bytes("001-baseline-crps-foot-eligible"),
        as_of=AS_OF,
        actor="dr.ames",
        channel="api",
        session_factory=lambda: Session(fresh_sqlite.engine),
    )
    with read_session(fresh_sqlite.engine) as session:
        pack = load_evidence_pack(session, decision.decision_id, signer=signer)
        html = evidence_pack_html(session, decision.decision_id, signer=signer)
    assert pack.record.seq == 34 and pack.proof.checkpoint is None  # checkpoints at 5, 10, … 30
    assert pack.proof.verified_through == 34 and pack.proof.ok
    assert "No signed checkpoint covers seq 34 yet" in html


def test_tampering_before_the_checkpoint_fails_the_proof(fresh_sqlite: Built, signer: Signer) -> None:
    trail = fresh_sqlite.trail
    earlier = trail.seqs["D6"]  # 14, sealed by the same checkpoint (15) as D7
    tamper(fresh_sqlite.engine, f"UPDATE audit_record SET actor = 'dr.mallory' WHERE seq = {earlier}")
    with read_session(fresh_sqlite.engine) as session:
        pack = load_evidence_pack(session, trail.decisions["D7"], signer=signer)
        after_checkpoint = load_evidence_pack(session, trail.decisions["D13"], signer=signer)
        html = evidence_pack_html(session, trail.decisions["D7"], signer=signer)
    proof = pack.proof
    assert proof.content_ok and proof.link_ok  # D7's own record is intact…
    assert not proof.ok  # …but the chain up to its checkpoint is not
    assert proof.problems[0].seq == earlier
    assert "Chain proof: FAILED." in html and f"seq {earlier}: record {earlier} was altered" in html
    # A decision sealed by a later checkpoint is proven through it, so the earlier edit fails it too.
    assert not after_checkpoint.proof.ok


def test_tampering_with_the_decision_itself(fresh_sqlite: Built, signer: Signer) -> None:
    seq = fresh_sqlite.trail.seqs["D2"]
    tamper(
        fresh_sqlite.engine,
        'UPDATE audit_record SET payload = replace(payload, \'"outcome":"NOT_ELIGIBLE"\', '
        f'\'"outcome":"ELIGIBLE_FOR_TRIAL"\') WHERE seq = {seq}',
    )
    with read_session(fresh_sqlite.engine) as session:
        pack = load_evidence_pack(session, fresh_sqlite.trail.decisions["D2"], signer=signer)
        html = evidence_pack_html(session, fresh_sqlite.trail.decisions["D2"], signer=signer)
    assert pack.decision.outcome == "ELIGIBLE_FOR_TRIAL"  # what the edited row now says…
    assert not pack.proof.content_ok and not pack.proof.ok  # …and why it must not be believed
    assert "recomputed: DOES NOT MATCH" in html


def test_unknown_decision(sqlite_trail: Built, signer: Signer) -> None:
    with read_session(sqlite_trail.engine) as session, pytest.raises(InputError, match="no decision 'nope'"):
        load_evidence_pack(session, "nope", signer=signer)


def test_pdf(sqlite_trail: Built, signer: Signer) -> None:
    decision_id = sqlite_trail.trail.decisions["D10"]
    with read_session(sqlite_trail.engine) as session:
        pdf = evidence_pack_pdf(session, decision_id, signer=signer, generated_at=GENERATED)
        html = evidence_pack_html(session, decision_id, signer=signer, generated_at=GENERATED)
    assert pdf.startswith(b"%PDF-")
    assert 2 <= len(weasyprint.HTML(string=html).render().pages) <= 8
    assert re.search(r"Generated 2026-07-02T08:00:00Z", html)
    assert date.fromisoformat(re.findall(r"<dt>As of</dt><dd>([\d-]+)</dd>", html)[0]) == AS_OF


def _first_page_text(pdf: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler's pdftotext is not installed")
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_the_first_page_names_the_patient_and_the_outcome_after_review(
    sqlite_trail: Built, signer: Signer, tmp_path: Path
) -> None:
    """Issue 11: the pack showed only `Patient/…` and the engine's outcome, though D7 was overridden."""
    overridden = sqlite_trail.trail.decisions["D7"]  # NEEDS_REVIEW, overridden by dr.kim to ELIGIBLE_FOR_TRIAL
    with read_session(sqlite_trail.engine) as session:
        page = _first_page_text(evidence_pack_pdf(session, overridden, signer=signer, generated_at=GENERATED), tmp_path)
        unreviewed = evidence_pack_html(
            session, sqlite_trail.trail.decisions["D6"], signer=signer, generated_at=GENERATED
        )
    assert "Robert King · MRN MRN-6146716 · born 1949-11-11 (76 on 2026-06-01) · male" in page
    lines = [line.strip() for line in page.splitlines() if line.strip()]
    engine_at = lines.index("Outcome (engine)")
    after_at = lines.index("Outcome after review")
    assert engine_at < after_at
    assert "NEEDS_REVIEW" in lines
    assert any(line.startswith("ELIGIBLE_FOR_TRIAL: overridden by dr.kim") for line in lines)
    assert "(reason clinical-judgement)" in page
    assert "not reviewed yet: the engine's outcome is a recommendation until a clinician reviews it" in unreviewed
