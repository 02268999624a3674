"""The worklist index and the lists paged over it, on SQLite and PostgreSQL.

The index is derived from the trail and kept in the append's transaction: after every kind of append
(point-of-care and batch decisions, reviews, promotions) it must equal what `expected_rows` derives
from the records alone; a rebuild must restore it; the 0103 upgrade must backfill it.
"""

from __future__ import annotations

from datetime import date

import pytest
from audit_helpers import TEST_KEY, named_decision
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eligibility.api.auth import Principal
from eligibility.api.users import Role
from eligibility.audit import store
from eligibility.audit.checkpoints import Signer
from eligibility.audit.migrate import upgrade
from eligibility.audit.promotion import append_promotion
from eligibility.audit.worklist_index import TABLE
from eligibility.audit.worklist_rebuild import check_index, expected_rows, rebuild_index
from eligibility.errors import InputError
from eligibility.web import worklist
from eligibility.web.screening import load_run, load_runs, run_csv_lines
from eligibility.web.worklist import Filters, load_worklist

SIGNER = Signer(key=TEST_KEY, every=50)
OUTCOMES_CYCLE = ("ELIGIBLE_FOR_TRIAL", "NOT_ELIGIBLE", "NEEDS_REVIEW", "INSUFFICIENT_INFORMATION")


def point_of_care(session: Session, n: int, *, actor: str, name: str, mrn: str, outcome: str = "NEEDS_REVIEW") -> str:
    decision, canonical = named_decision(n, name=name, mrn=mrn, outcome=outcome)
    store.append_decision(
        session, decision=decision, canonical_input=canonical, actor=actor, channel="fhir-api", signer=SIGNER
    )
    return decision.decision_id


def screening_run(session: Session, run_id: str, count: int, *, start: int) -> list[str]:
    pending = store.PendingAppend()
    ids = []
    for n in range(start, start + count):
        decision, canonical = named_decision(
            n, name=f"Screened Person{n}", mrn=f"S{n:05d}", outcome=OUTCOMES_CYCLE[n % 4]
        )
        pending.add_decision(decision, canonical, actor="batch", channel="batch", run_id=run_id)
        ids.append(decision.decision_id)
    pending.append_to(session, signer=SIGNER)
    return ids


def nonzero(counts: list[tuple[str, int]]) -> dict[str, int]:
    return {outcome: n for outcome, n in counts if n}


def review(session: Session, decision_id: str, *, action: str = "accept", outcome: str | None = None) -> None:
    store.append_review(
        session, decision_id=decision_id, reviewer="dr.chen", action=action,  # type: ignore[arg-type]
        reason_code="clinical-judgement", outcome=outcome, channel="web", signer=SIGNER,
    )  # fmt: skip


@pytest.fixture
def trail(engine: Engine) -> dict[str, list[str]]:
    """60 point-of-care decisions (two referrers, one Maria Okafor) and two screening runs (70 and 12)."""
    ids: dict[str, list[str]] = {"poc": [], "run-a": [], "run-b": []}
    with Session(engine) as session:
        for n in range(60):
            name, mrn = ("Maria Okafor", "0012345") if n == 7 else (f"Patient Number{n}", f"M{n:05d}")
            actor = "dr.rivera" if n % 2 else "dr.okafor"
            ids["poc"].append(point_of_care(session, n, actor=actor, name=name, mrn=mrn, outcome=OUTCOMES_CYCLE[n % 4]))
        session.commit()
        ids["run-a"] = screening_run(session, "run-a", 70, start=1000)
        session.commit()
        ids["run-b"] = screening_run(session, "run-b", 12, start=2000)
        session.commit()
    return ids


def test_the_index_equals_the_trail_after_decisions_reviews_and_promotions(
    engine: Engine, trail: dict[str, list[str]]
) -> None:
    with Session(engine) as session:
        review(session, trail["poc"][0])
        review(session, trail["poc"][0], action="override", outcome="NOT_ELIGIBLE")  # the latest review wins
        append_promotion(session, decision_id=trail["run-a"][3], promoter="dr.chen", channel="web", signer=SIGNER)
        session.commit()
        check = check_index(session)
        assert check.ok, check.problems
        assert check.rows == 60 + 70 + 12
        row = session.execute(select(TABLE).where(TABLE.c.decision_id == trail["poc"][0])).one()
        assert (row.reviewed, row.review_action, row.review_outcome) == (True, "override", "NOT_ELIGIBLE")
        promoted = session.execute(select(TABLE).where(TABLE.c.decision_id == trail["run-a"][3])).one()
        assert (promoted.queued, promoted.promoted_by, promoted.run_id) == (True, "dr.chen", "run-a")
        maria = session.execute(select(TABLE).where(TABLE.c.decision_id == trail["poc"][7])).one()
        assert (maria.patient_name, maria.patient_mrn, maria.birth_date, maria.sex) == (
            "Maria Okafor", "0012345", "1971-03-14", "female"
        )  # fmt: skip


def test_the_review_queue_holds_point_of_care_and_promoted_decisions_only(
    engine: Engine, trail: dict[str, list[str]]
) -> None:
    with Session(engine) as session:
        queue = load_worklist(session, Filters(state="all"), page=1, size=25)
        assert queue.page.total == 60 and not queue.empty
        append_promotion(session, decision_id=trail["run-b"][5], promoter="dr.chen", channel="web", signer=SIGNER)
        session.commit()
        queue = load_worklist(session, Filters(state="awaiting"), page=1, size=25)
        assert queue.page.total == 61
        assert queue.rows[0].decision_id == trail["run-b"][5]  # newest first: by the decision's recording
        assert queue.rows[0].promoted_by == "dr.chen" and queue.rows[0].run_id == "run-b"
        # Screening decisions that were not promoted are in no page of the queue.
        pages = [load_worklist(session, Filters(), page=p, size=25) for p in (1, 2, 3)]
        everything = {row.decision_id for page in pages for row in page.rows}
        assert everything == set(trail["poc"]) | {trail["run-b"][5]}


def test_pages_are_newest_first_without_overlap_and_a_page_past_the_end_shows_the_last(
    engine: Engine, trail: dict[str, list[str]]
) -> None:
    with Session(engine) as session:
        pages = [load_worklist(session, Filters(), page=n, size=25) for n in (1, 2, 3)]
        assert [p.page.number for p in pages] == [1, 2, 3] and pages[0].page.pages == 3
        assert [len(p.rows) for p in pages] == [25, 25, 10]
        seen = [row.decision_id for p in pages for row in p.rows]
        assert seen == list(reversed(trail["poc"]))
        assert (pages[1].page.first_row, pages[1].page.last_row) == (26, 50)
        beyond = load_worklist(session, Filters(), page=99, size=25)
        assert beyond.page.number == 3 and beyond.rows == pages[2].rows


def test_filters_are_where_clauses(engine: Engine, trail: dict[str, list[str]]) -> None:
    with Session(engine) as session:
        review(session, trail["poc"][1])
        session.commit()
        by_name = load_worklist(session, Filters(state="all", patient="maria oka"))
        assert [r.decision_id for r in by_name.rows] == [trail["poc"][7]]
        assert by_name.rows[0].patient is not None and by_name.rows[0].patient.name == "Maria Okafor"
        assert [r.decision_id for r in load_worklist(session, Filters(state="all", patient="0012345")).rows] == [
            trail["poc"][7]
        ]
        # A LIKE wildcard in the search is a literal character, not "anything".
        assert load_worklist(session, Filters(state="all", patient="%")).page.total == 0
        eligible = load_worklist(session, Filters(state="all", outcome="ELIGIBLE_FOR_TRIAL"))
        assert eligible.page.total == 15 and {r.outcome for r in eligible.rows} == {"ELIGIBLE_FOR_TRIAL"}
        assert nonzero(eligible.outcome_counts) == {
            "ELIGIBLE_FOR_TRIAL": 15, "NOT_ELIGIBLE": 15, "NEEDS_REVIEW": 15, "INSUFFICIENT_INFORMATION": 15
        }  # fmt: skip
        assert load_worklist(session, Filters(state="reviewed")).page.total == 1
        assert load_worklist(session, Filters(state="awaiting")).page.total == 59
        assert load_worklist(session, Filters(state="all", referrer="dr.rivera")).page.total == 30
        today = date.fromisoformat(session.execute(select(func.min(TABLE.c.recorded_at))).scalar_one()[:10])
        assert load_worklist(session, Filters(state="all", start=today, end=today)).page.total == 60
        assert load_worklist(session, Filters(state="all", end=date(2000, 1, 1))).page.total == 0
        assert load_worklist(session, Filters(state="all", stage="implant")).page.total == 0


@pytest.mark.parametrize("few", [2000, 3])
def test_a_patient_search_gives_the_same_pages_and_counts_with_few_or_many_matches(
    engine: Engine, trail: dict[str, list[str]], few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few matches are counted from one read of them; more than _FEW_MATCHES by SQL aggregates."""
    monkeypatch.setattr(worklist, "_FEW_MATCHES", few)
    with Session(engine) as session:
        found = load_worklist(session, Filters(state="all", patient="patient number"), page=2, size=25)
        assert found.page.total == 59 and (found.page.number, len(found.rows)) == (2, 25)
        assert [r.decision_id for r in found.rows] == [d for n, d in reversed(list(enumerate(trail["poc"]))) if n != 7][
            25:50
        ]
        assert nonzero(found.outcome_counts) == {
            "ELIGIBLE_FOR_TRIAL": 15, "NOT_ELIGIBLE": 15, "NEEDS_REVIEW": 15, "INSUFFICIENT_INFORMATION": 14
        }  # fmt: skip  (Maria Okafor, n = 7, is INSUFFICIENT_INFORMATION and does not match)
        narrowed = load_worklist(
            session, Filters(state="all", patient="patient number", outcome="INSUFFICIENT_INFORMATION")
        )
        assert narrowed.page.total == 14 and {r.outcome for r in narrowed.rows} == {"INSUFFICIENT_INFORMATION"}
        run = load_run(session, "run-a", Filters(patient="screened person10", outcome="NOT_ELIGIBLE"))
        expected = [f"Screened Person{n}" for n in range(1069, 999, -1) if n % 4 == 1]  # NOT_ELIGIBLE ones
        assert run is not None and [r.patient.name for r in run.rows if r.patient] == expected and len(expected) == 18


def test_the_referrer_choices_are_the_queue_s_submitters(engine: Engine, trail: dict[str, list[str]]) -> None:
    with Session(engine) as session:
        assert load_worklist(session, Filters()).referrers == ["dr.okafor", "dr.rivera"]  # not "batch"
        append_promotion(session, decision_id=trail["run-a"][0], promoter="dr.chen", channel="web", signer=SIGNER)
        session.commit()
        assert load_worklist(session, Filters()).referrers == ["batch", "dr.okafor", "dr.rivera"]


def test_a_referrer_pages_through_their_own_decisions_only(engine: Engine, trail: dict[str, list[str]]) -> None:
    rivera = Principal(name="dr.rivera", role=Role.REFERRER, since="2000-01-01")
    later = Principal(name="dr.rivera", role=Role.REFERRER, since="2999-01-01")  # a new account under the name
    with Session(engine) as session:
        own = load_worklist(session, Filters(state="all"), only_referrer=rivera)
        assert own.page.total == 30 and {row.referrer for row in own.rows} == {"dr.rivera"}
        assert own.referrers == ["dr.rivera"]
        assert load_worklist(session, Filters(state="all"), only_referrer=later).page.total == 0


def test_screening_runs_page_with_counts_candidates_and_csv(engine: Engine, trail: dict[str, list[str]]) -> None:
    with Session(engine) as session:
        runs = load_runs(session, page=1, size=1)
        assert runs.page.total == 2 and [r.run_id for r in runs.runs] == ["run-b"]  # newest first
        older = load_runs(session, page=2, size=1).runs[0]
        assert (older.run_id, older.decisions, older.actor) == ("run-a", 70, "batch")
        assert nonzero(older.outcome_counts) == {
            "ELIGIBLE_FOR_TRIAL": 18, "NOT_ELIGIBLE": 18, "NEEDS_REVIEW": 17, "INSUFFICIENT_INFORMATION": 17
        }  # fmt: skip
        first = load_run(session, "run-a", Filters(), page=1, size=50)
        second = load_run(session, "run-a", Filters(), page=2, size=50)
        assert first is not None and second is not None
        assert [len(first.rows), len(second.rows)] == [50, 20]
        assert [r.decision_id for r in first.rows + second.rows] == list(reversed(trail["run-a"]))
        found = load_run(session, "run-a", Filters(patient="person1003"))
        assert found is not None and [r.patient.name for r in found.rows if r.patient] == ["Screened Person1003"]
        eligible = load_run(session, "run-a", Filters(outcome="ELIGIBLE_FOR_TRIAL"))
        assert eligible is not None and eligible.page.total == 18
        assert load_run(session, "no-such-run", Filters()) is None
        lines = list(run_csv_lines(session, "run-b"))
        assert lines[0].startswith("decision_id,recorded_at,patient_ref,patient_name,mrn")
        assert len(lines) == 13 and "Screened Person2000" in lines[1]


def test_promotion_is_refused_for_point_of_care_twice_and_unknown(engine: Engine, trail: dict[str, list[str]]) -> None:
    with Session(engine) as session:
        with pytest.raises(InputError, match="point of care"):
            append_promotion(session, decision_id=trail["poc"][0], promoter="dr.chen", channel="web", signer=SIGNER)
        append_promotion(session, decision_id=trail["run-a"][0], promoter="dr.chen", channel="web", signer=SIGNER)
        session.commit()
        with pytest.raises(InputError, match=r"was promoted to review by dr\.chen"):
            append_promotion(session, decision_id=trail["run-a"][0], promoter="root", channel="web", signer=SIGNER)
        with pytest.raises(InputError, match="no decision"):
            append_promotion(session, decision_id="nope", promoter="dr.chen", channel="web", signer=SIGNER)
        session.rollback()
        kinds = [r.kind for r in store.decision_history(session, trail["run-a"][0])]
        assert kinds == ["decision", "promotion"]


def test_a_damaged_index_is_found_and_rebuilt(engine: Engine, trail: dict[str, list[str]]) -> None:
    with Session(engine) as session:
        review(session, trail["poc"][2])
        session.commit()
    # The index is not append-only (no trigger): anyone with SQL access can change it; the trail says what is right.
    with engine.begin() as connection:
        connection.execute(update(TABLE).where(TABLE.c.decision_id == trail["poc"][2]).values(reviewed=False))
        connection.execute(TABLE.delete().where(TABLE.c.decision_id == trail["poc"][3]))
        connection.execute(update(TABLE).where(TABLE.c.decision_id == trail["run-a"][0]).values(queued=True))
    with Session(engine) as session:
        check = check_index(session)
        assert not check.ok
        text_of = "\n".join(check.problems)
        assert "missing from the worklist index" in text_of and "differs in reviewed" in text_of
        assert "differs in queued" in text_of
        assert rebuild_index(session) == 142
        session.commit()
        assert check_index(session).ok
    # ... while the trail itself still refuses changes.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE audit_record SET actor = 'mallory'"))


def test_upgrade_from_0102_backfills_the_index(bare_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "index_appended", lambda *args: None)  # the store as it was at 0102
    upgrade(bare_engine, "0102")
    with Session(bare_engine) as session:
        poc = [point_of_care(session, n, actor="dr.rivera", name=f"Old Patient{n}", mrn=f"O{n}") for n in range(5)]
        session.commit()
        review(session, poc[1], action="override", outcome="ELIGIBLE_FOR_TRIAL")
        pending = store.PendingAppend()  # a batch recorded before runs had ids: grouped by day
        for n in range(5, 9):
            decision, canonical = named_decision(n, name=f"Old Screened{n}", mrn=f"OS{n}")
            pending.add_decision(decision, canonical, actor="batch", channel="batch")
        pending.append_to(session, signer=SIGNER)
        session.commit()
    monkeypatch.undo()

    upgrade(bare_engine)

    with Session(bare_engine) as session:
        check = check_index(session)
        assert check.ok and check.rows == 9, check.problems
        assert load_worklist(session, Filters(state="reviewed")).rows[0].reviewed_as == "override → ELIGIBLE_FOR_TRIAL"
        runs = load_runs(session).runs
        assert len(runs) == 1 and runs[0].run_id.startswith("legacy-") and runs[0].decisions == 4
        assert len(expected_rows(session)) == 9
