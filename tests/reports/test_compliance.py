"""compliance.py against the hand-counted trail of reports_helpers (see its table for every number)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from reports_helpers import PERIOD, Built, tamper
from sqlalchemy import Engine

from eligibility.audit import store
from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import read_session
from eligibility.audit.verify import verify
from eligibility.policy import load_policy
from reports.compliance import ComplianceReport, compliance_summary, load_period, parse_timestamps

DEFAULT_POLICY = load_policy()  # the scenario decides under the configured default


def summarise(engine: Engine, signer: Signer, start: date = PERIOD[0], end: date = PERIOD[1]) -> ComplianceReport:
    with read_session(engine) as session:
        frames = load_period(session, start=start, end=end)
        return compliance_summary(frames, verification=verify(session, signer=signer))


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in frame[list(columns)].itertuples(index=False, name=None)]


def assert_june_numbers(report: ComplianceReport) -> None:
    """Every table of June, counted by hand from the scenario table."""
    h = report.headline
    assert (h.decisions, h.rejections, h.reviews, h.accepts, h.overrides) == (12, 2, 8, 5, 3)
    assert h.override_rate == 3 / 8
    # First reviews in June: V1 2 h, V2 16 h, V3 24 h, V4 3 h, V5 5 h, V7 48 h, V8 72 h (V6 is a second review).
    assert h.median_hours_to_review == 16.0
    assert h.p90_hours_to_review == pytest.approx(48 + 0.4 * (72 - 48))  # position 0.9 * 6 = 5.4
    assert (h.reviewed_decisions, h.awaiting_review) == (6, 6)  # D1 D2 D4 D7 D8 D9 reviewed; P0 is May's
    assert (h.decision_reads, h.readers, h.trail_queries) == (4, 2, 1)

    assert rows(report.by_outcome, "outcome", "decisions") == [
        ("ELIGIBLE_FOR_TRIAL", 2),
        ("ELIGIBLE_WITH_CONDITIONS", 1),
        ("NEEDS_REVIEW", 1),
        ("INSUFFICIENT_INFORMATION", 5),
        ("NOT_ELIGIBLE", 1),
        ("ELIGIBLE_FOR_IMPLANT", 1),
        ("TRIAL_FAILED", 1),
    ]
    assert report.by_outcome["share"].sum() == pytest.approx(1.0)
    assert rows(report.by_stage, "stage", "decisions") == [("trial", 10), ("implant", 2)]
    by_referrer = report.by_referrer.set_index("referrer")
    assert by_referrer["decisions"].to_dict() == {"dr.chen": 5, "dr.ames": 4, "dr.baker": 3}
    assert by_referrer.loc["dr.chen", "INSUFFICIENT_INFORMATION"] == 3
    assert by_referrer.loc[
        "dr.ames", ["ELIGIBLE_FOR_TRIAL", "NOT_ELIGIBLE", "ELIGIBLE_FOR_IMPLANT", "TRIAL_FAILED"]
    ].tolist() == [1, 1, 1, 1]
    assert by_referrer.loc["dr.baker", ["ELIGIBLE_FOR_TRIAL", "INSUFFICIENT_INFORMATION"]].tolist() == [1, 2]
    assert rows(report.by_policy, "policy_id", "policy_version", "decisions") == [
        ("drg-clinic", DEFAULT_POLICY.version, 11),
        ("drg-clinic", "2.0.0", 1),
    ]
    assert report.by_policy["policy_sha256"].iloc[0] == DEFAULT_POLICY.sha256

    assert rows(report.by_specialist, "reviewer", "reviews", "accepts", "overrides", "override_rate") == [
        ("dr.kim", 4, 3, 1, 0.25),
        ("dr.lopez", 4, 2, 2, 0.5),
    ]
    # dr.kim's first reviews 2, 24, 5, 72 h; dr.lopez's 16, 3, 48 h.
    assert report.by_specialist["median_hours_to_review"].tolist() == [14.5, 16.0]
    assert rows(report.override_reasons, "reviewer", "reason_code", "recorded_outcome", "outcome", "overrides") == [
        ("dr.kim", "clinical-judgement", "NEEDS_REVIEW", "ELIGIBLE_FOR_TRIAL", 1),
        ("dr.lopez", "outcome-documented-elsewhere", "INSUFFICIENT_INFORMATION", "ELIGIBLE_FOR_TRIAL", 1),
        ("dr.lopez", "trial-data-incomplete", "TRIAL_FAILED", "NEEDS_REVIEW", 1),
    ]
    assert report.time_to_review["hours_to_review"].tolist() == [2.0, 16.0, 24.0, 3.0, 5.0, 48.0, 72.0]

    assert rows(report.blocking_criteria, "criterion", "not_met", "unknown", "decisions") == [
        ("failed_interventional", 0, 3, 3),  # D4, D10, D11
        ("psychological_evaluation", 0, 3, 3),  # D6, D10, D11
        ("no_relative_contraindication", 2, 0, 2),  # D6, D7
        ("pain_severity", 0, 2, 2),  # D5, D10
        ("pain_duration", 1, 0, 1),  # D2 (D3, the same case under policy 2, is met)
        ("trial_response", 1, 0, 1),  # D9
    ]
    requested = rows(report.data_requested, "criterion", "resource_type", "decisions")
    assert requested == [
        ("psychological_evaluation", "Procedure", 3),
        ("pain_severity", "Observation", 2),
        ("failed_interventional", "Procedure", 2),  # "Record epidural steroid injections…": D10, D11
        ("failed_interventional", "Procedure", 1),  # "Record the outcome of the injection…": D4
    ]
    assert report.data_requested["description"].iloc[1] == "Record a current 0-10 pain score (LOINC 72514-3)."

    assert rows(report.readers, "actor", "patient_ref", "channel", "purposes", "reads") == [
        ("auditor@clinic", "Patient/baseline-crps-foot-eligible-pt", "cli", "show", 1),
        ("auditor@clinic", "Patient/pacemaker-needs-review-pt", "cli", "show", 1),
        ("dr.kim", "Patient/pacemaker-needs-review-pt", "api", "read", 2),
    ]
    kim = report.readers.iloc[2]
    assert (kim["first_read"], kim["last_read"]) == (
        pd.Timestamp("2026-06-03T16:00:00Z"),
        pd.Timestamp("2026-06-03T16:30:00Z"),
    )
    assert rows(report.trail_queries, "actor", "purpose", "queries") == [("auditor@clinic", "export", 1)]
    assert rows(report.rejections, "error_code", "error_type", "rejections") == [
        ("business-rule", "PatientCountError", 1),
        ("structure", "NotJSONError", 1),
    ]


def test_june_numbers_match_the_hand_count(sqlite_trail: Built, signer: Signer) -> None:
    report = summarise(sqlite_trail.engine, signer)
    assert_june_numbers(report)
    assert report.verification.ok
    assert report.verification.records == 33  # the whole trail, not only June
    assert report.verification.first_bad_seq is None


def test_decisions_and_readers_name_the_right_records(sqlite_trail: Built, signer: Signer) -> None:
    report = summarise(sqlite_trail.engine, signer)
    ids = sqlite_trail.trail.decisions
    assert report.time_to_review["decision_id"].tolist() == [ids[s] for s in ("D1", "P0", "D2", "D4", "D7", "D9", "D8")]
    assert report.readers["decision_id"].tolist() == [ids["D1"], ids["D7"], ids["D7"]]


def test_frames_have_parsed_utc_timestamps(sqlite_trail: Built) -> None:
    with read_session(sqlite_trail.engine) as session:
        frames = load_period(session, start=PERIOD[0], end=PERIOD[1])
    for frame in (frames.decisions, frames.reviews, frames.accesses, frames.rejections):
        assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"
    assert str(frames.reviews["decision_created_at"].dtype) == "datetime64[us, UTC]"
    assert frames.decisions["created_at"].iloc[0] == pd.Timestamp("2026-06-01T09:00:00Z")
    # D11 was evaluated as of 2025-12-01: the period is on when it was recorded, not on as_of.
    assert sorted(set(frames.decisions["as_of"])) == ["2025-12-01", "2026-06-01"]
    assert len(frames.criteria) == 12 * 12 + 2  # 12 criteria each, plus trial_response for D8 and D9
    with pytest.raises(ValueError):
        parse_timestamps(["2026-06-01 09:00"])  # another format is refused, not guessed


def test_review_of_a_decision_reviewed_before_the_period_is_not_a_first_review(
    sqlite_trail: Built, signer: Signer
) -> None:
    report = summarise(sqlite_trail.engine, signer, date(2026, 6, 4), date(2026, 6, 30))
    assert report.headline.reviews == 3  # V6, V7, V8
    # V6 re-reviews D1, first reviewed on 06-01 (before this period): not a first review.
    assert report.time_to_review["hours_to_review"].tolist() == [48.0, 72.0]
    assert report.headline.median_hours_to_review == 60.0


def test_july_review_of_a_june_decision(sqlite_trail: Built, signer: Signer) -> None:
    report = summarise(sqlite_trail.engine, signer, date(2026, 7, 1), date(2026, 7, 1))
    h = report.headline
    assert (h.decisions, h.rejections, h.reviews, h.decision_reads) == (1, 1, 1, 1)
    # V9 on 07-01 01:00 reviews D12 of 06-06 09:00: 24 days and 16 hours.
    assert report.time_to_review["hours_to_review"].tolist() == [24 * 24 + 16]
    assert (h.reviewed_decisions, h.awaiting_review) == (0, 1)  # D13 is July's only decision, unreviewed


def test_single_day_bounds(sqlite_trail: Built, signer: Signer) -> None:
    report = summarise(sqlite_trail.engine, signer, date(2026, 6, 1), date(2026, 6, 1))
    assert report.headline.decisions == 3  # D1, D2, D3; P0 (05-31 20:00) is outside
    assert report.headline.reviews == 2


def test_empty_period_gives_empty_tables_of_the_same_shape(sqlite_trail: Built, signer: Signer) -> None:
    empty = summarise(sqlite_trail.engine, signer, date(2025, 1, 1), date(2025, 1, 31))
    full = summarise(sqlite_trail.engine, signer)
    h = empty.headline
    assert (h.decisions, h.reviews, h.rejections, h.decision_reads) == (0, 0, 0, 0)
    assert h.override_rate is None and h.median_hours_to_review is None and h.p90_hours_to_review is None
    for name in ("by_outcome", "by_stage", "by_policy", "by_specialist", "blocking_criteria", "readers", "rejections"):
        table = getattr(empty, name)
        assert table.empty, name
        assert list(table.columns) == list(getattr(full, name).columns), name


def test_a_period_that_ends_before_it_starts_is_refused(sqlite_trail: Built) -> None:
    with read_session(sqlite_trail.engine) as session, pytest.raises(ValueError, match="ends"):
        load_period(session, start=date(2026, 6, 2), end=date(2026, 6, 1))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_verification_names_the_first_bad_record_after_tampering(
    backend: str, request: pytest.FixtureRequest, signer: Signer
) -> None:
    built: Built = request.getfixturevalue(f"fresh_{'sqlite' if backend == 'sqlite' else 'postgres'}")
    before = summarise(built.engine, signer)
    assert_june_numbers(before)  # the same numbers on both backends
    assert before.verification.ok
    seq = built.trail.seqs["D7"]
    tamper(
        built.engine,
        'UPDATE audit_record SET payload = replace(payload, \'"outcome":"NEEDS_REVIEW"\', '
        f'\'"outcome":"ELIGIBLE_FOR_TRIAL"\') WHERE seq = {seq}',
    )
    after = summarise(built.engine, signer)
    # The edit shows in the numbers, and the report says they cannot be trusted, naming the record.
    assert after.by_outcome.set_index("outcome").loc["ELIGIBLE_FOR_TRIAL", "decisions"] == 3
    assert not after.verification.ok
    assert after.verification.first_bad_seq == seq
    with read_session(built.engine) as session:
        record_id = next(r.record_id for r in store.iter_records(session) if r.seq == seq)
    assert after.verification.first_bad_record_id == record_id
    assert "altered" in (after.verification.first_problem or "")
