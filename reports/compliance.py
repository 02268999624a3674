"""The compliance numbers for a period, computed once, as pandas DataFrames.

    frames = load_period(session, start=date(2026, 6, 1), end=date(2026, 6, 30))
    report = compliance_summary(frames, verification=verify(session, signer=signer))

`load_period` reads the audit records created in the period into one DataFrame per kind, with parsed
UTC timestamps. `compliance_summary` turns them into every table the compliance report shows. The CLI
(`report compliance`), the HTML/PDF/CSV renderers and the dashboard all take their numbers from the
`ComplianceReport` built here, so a number can only differ between them if this module changes.

Definitions (also in docs/compliance.md):

- The period is whole UTC days, `start` to `end` inclusive, on the record's `created_at` (when the
  trail recorded it, not the decision's `as_of`). A closed period gives the same numbers whenever it
  is re-run: only records created inside it are counted.
- Referrer: the actor who submitted the evaluation (the decision record's `actor`).
- Override rate: overrides / reviews recorded in the period (every review counts, including a second
  review of the same decision).
- Time to review: for each decision whose *first* review was recorded in the period, the hours from
  the decision record to that review; the decision itself may predate the period. Median and p90 use
  pandas' linear interpolation.
- Blocking criteria: criteria recorded `not_met` or `unknown` in the period's decisions, counted per
  decision. It counts the recorded status, not which rule decided the outcome.
- Data requested: the `data_requests` of the period's decisions, counted per decision and request.
- The chain verification covers the whole trail, not only the period: an edit anywhere makes every
  period's numbers suspect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import orjson
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.clock import parse_bound
from eligibility.audit.models import (
    KIND_ACCESS,
    KIND_DECISION,
    KIND_PROMOTION,
    KIND_REJECTION,
    KIND_REVIEW,
    AuditRecord,
)
from eligibility.audit.verify import VerifyReport
from eligibility.audit.worklist_table import BATCH_CHANNEL
from eligibility.decision import OUTCOMES
from reports.answered import ANSWERED_COLUMNS, answered_row, answered_summary

__all__ = [
    "AuditFrames",
    "ComplianceReport",
    "Headline",
    "Verification",
    "compliance_summary",
    "load_period",
    "parse_timestamps",
    "period_bounds",
]

_RECORD_TABLE = AuditRecord.__table__  # type: ignore[attr-defined]
_IN_CHUNK: Final = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
_TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"  # eligibility.audit.clock's fixed-width UTC format

# Column name -> dtype of every frame, so that an empty period gives frames of the same shape.
_DECISION_COLUMNS: Final = {
    "seq": "int64",
    "created_at": "datetime64[us, UTC]",
    "decision_id": "str",
    "referrer": "str",
    "channel": "str",
    "patient_ref": "str",
    "outcome": "str",
    "stage": "str",
    "label_status": "str",
    "policy_id": "str",
    "policy_version": "str",
    "policy_sha256": "str",
    "engine_version": "str",
    "as_of": "str",
    "input_sha256": "str",
}
_CRITERION_COLUMNS: Final = {"decision_id": "str", "criterion": "str", "status": "str", "reason": "str"}
_REQUEST_COLUMNS: Final = {
    "decision_id": "str",
    "criterion": "str",
    "description": "str",
    "resource_type": "str",
    "codes": "str",
}
_REVIEW_RECORD_COLUMNS: Final = {
    "seq": "int64",
    "created_at": "datetime64[us, UTC]",
    "decision_id": "str",
    "reviewer": "str",
    "channel": "str",
    "action": "str",
    "reason_code": "str",
    "comment": "str",
    "recorded_outcome": "str",
    "outcome": "str",
}
_REVIEW_COLUMNS: Final = {
    **_REVIEW_RECORD_COLUMNS,
    "decision_created_at": "datetime64[us, UTC]",
    "first_review": "bool",  # the decision's first review in the whole trail
    "hours_to_review": "float64",
}
_ACCESS_COLUMNS: Final = {
    "seq": "int64",
    "created_at": "datetime64[us, UTC]",
    "actor": "str",
    "channel": "str",
    "purpose": "str",
    "decision_id": "object",  # None for queries of the trail (exports, logs, reports)
    "patient_ref": "object",
    "query": "object",
}
_REJECTION_COLUMNS: Final = {
    "seq": "int64",
    "created_at": "datetime64[us, UTC]",
    "actor": "str",
    "channel": "str",
    "error_type": "str",
    "error_code": "str",
    "message": "str",
    "location": "object",
    "as_of": "object",
    "policy": "object",
}


def parse_timestamps(values: pd.Series | Sequence[str | None]) -> pd.Series:
    """Stored audit timestamps as tz-aware UTC datetimes.

    pandas 3 reads the stored TEXT timestamps as `str`; comparing or subtracting those would be string
    arithmetic, so every timestamp goes through here. The format is exact: a value in another format
    raises instead of being guessed.
    """
    return pd.to_datetime(pd.Series(values, dtype="object"), format=_TIMESTAMP_FORMAT, utc=True).astype(
        "datetime64[us, UTC]"
    )


def _frame(rows: list[dict[str, Any]], columns: Mapping[str, Any]) -> pd.DataFrame:
    data = pd.DataFrame(rows, columns=list(columns))
    for name, dtype in columns.items():
        if dtype.startswith("datetime64"):
            data[name] = parse_timestamps(data[name].tolist())
        else:
            data[name] = data[name].astype(dtype)
    return data


@dataclass(frozen=True, slots=True)
class AuditFrames:
    """The audit records of one period, one DataFrame per kind (plus the decisions' criteria)."""

    start: date
    end: date  # inclusive
    decisions: pd.DataFrame
    criteria: pd.DataFrame  # one row per decision and criterion
    data_requests: pd.DataFrame  # one row per decision, criterion and request
    reviews: pd.DataFrame
    accesses: pd.DataFrame
    rejections: pd.DataFrame
    answered: pd.DataFrame | None = None  # decisions made from a referrer's answers (reports/answered.py)
    promoted: frozenset[str] = frozenset()  # screening decisions promoted to the review queue in the period


def period_bounds(start: date, end: date) -> tuple[str, str]:
    """Stored-timestamp bounds [start 00:00Z, day after end 00:00Z) of an inclusive day range."""
    if end < start:
        raise ValueError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    return parse_bound(start.isoformat(), upper=False), parse_bound(end.isoformat(), upper=True)


def _decision_rows(
    record: store.StoredRecord,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    decision = record.data()["decision"]
    row = {
        "seq": record.seq,
        "created_at": record.created_at,
        "decision_id": record.decision_id,
        "referrer": record.actor,
        "channel": record.channel,
        "patient_ref": record.patient_ref,
        "outcome": decision["outcome"],
        "stage": decision["stage"],
        "label_status": decision["label_status"],
        "policy_id": decision["policy"]["id"],
        "policy_version": decision["policy"]["version"],
        "policy_sha256": decision["policy"]["sha256"],
        "engine_version": decision["engine_version"],
        "as_of": decision["as_of"],
        "input_sha256": decision["input_sha256"],
    }
    criteria, requests = [], []
    for criterion in decision["criteria"]:
        criteria.append(
            {
                "decision_id": record.decision_id,
                "criterion": criterion["id"],
                "status": criterion["status"],
                "reason": criterion["reason"],
            }
        )
        for request in criterion.get("data_requests", []):
            requests.append(
                {
                    "decision_id": record.decision_id,
                    "criterion": criterion["id"],
                    "description": request["description"],
                    "resource_type": request["resource_type"],
                    "codes": " ".join(request.get("codes", [])),
                }
            )
    return row, criteria, requests


def _review_row(record: store.StoredRecord) -> dict[str, Any]:
    data = record.data()
    return {
        "seq": record.seq,
        "created_at": record.created_at,
        "decision_id": record.decision_id,
        "reviewer": record.actor,
        "channel": record.channel,
        "action": data["action"],
        "reason_code": data["reason_code"],
        "comment": data.get("comment", ""),
        "recorded_outcome": data["recorded_outcome"],
        "outcome": data["outcome"],
    }


def _access_row(record: store.StoredRecord) -> dict[str, Any]:
    data = record.data()
    query = data.get("query")
    return {
        "seq": record.seq,
        "created_at": record.created_at,
        "actor": record.actor,
        "channel": record.channel,
        "purpose": data.get("purpose", ""),
        "decision_id": record.decision_id,
        "patient_ref": record.patient_ref,
        "query": None if query is None else orjson.dumps(query, option=orjson.OPT_SORT_KEYS).decode(),
    }


def _rejection_row(record: store.StoredRecord) -> dict[str, Any]:
    data = record.data()
    error = data.get("error", {})
    return {
        "seq": record.seq,
        "created_at": record.created_at,
        "actor": record.actor,
        "channel": record.channel,
        "error_type": error.get("type", ""),
        "error_code": error.get("code", ""),
        "message": error.get("message", ""),
        "location": error.get("location"),
        "as_of": data.get("as_of"),
        "policy": data.get("policy"),
    }


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for offset in range(0, len(values), _IN_CHUNK):
        yield values[offset : offset + _IN_CHUNK]


def _earlier_links(session: Session, decision_ids: Sequence[str], before: str) -> tuple[dict[str, str], set[str]]:
    """For reviewed decisions: when each was recorded (if before the period), and which were
    already reviewed before the period — one grouped query per chunk, not one per decision."""
    created: dict[str, str] = {}
    reviewed_before: set[str] = set()
    table = _RECORD_TABLE
    for chunk in _chunks(decision_ids):
        statement = (
            select(table.c.kind, table.c.decision_id, func.min(table.c.created_at))
            .where(
                table.c.decision_id.in_(list(chunk)),
                table.c.kind.in_([KIND_DECISION, KIND_REVIEW]),
                table.c.created_at < before,
            )
            .group_by(table.c.kind, table.c.decision_id)
        )
        for kind, decision_id, first_at in session.execute(statement):
            if kind == KIND_DECISION:
                created[str(decision_id)] = str(first_at)
            else:
                reviewed_before.add(str(decision_id))
    return created, reviewed_before


def _with_review_timing(
    reviews: pd.DataFrame, decisions: pd.DataFrame, earlier_created: dict[str, str], reviewed_before: set[str]
) -> pd.DataFrame:
    created = dict(zip(decisions["decision_id"], decisions["created_at"], strict=True))
    earlier = dict(zip(earlier_created, parse_timestamps(list(earlier_created.values())), strict=True))
    reviews = reviews.sort_values("seq", kind="stable").reset_index(drop=True)
    # The decision is in the period, or recorded before it; a review of a decision missing from the
    # trail (only possible after tampering) keeps NaT and no time to review.
    reviews["decision_created_at"] = pd.Series(
        [created.get(d, earlier.get(d, pd.NaT)) for d in reviews["decision_id"]], dtype="datetime64[us, UTC]"
    )
    first_in_period = ~reviews["decision_id"].duplicated(keep="first")
    reviews["first_review"] = first_in_period & ~reviews["decision_id"].isin(reviewed_before)
    delay = reviews["created_at"] - reviews["decision_created_at"]
    reviews["hours_to_review"] = (delay.dt.total_seconds() / 3600).astype("float64")
    return reviews


def load_period(session: Session, *, start: date, end: date) -> AuditFrames:
    """Every audit record created from `start` to `end` (inclusive UTC days), as DataFrames.

    Reads through `store.iter_records` (streamed, chain order); for reviews of decisions recorded
    before the period it also reads when those decisions were made and whether they had been
    reviewed already, so that time to review is right across the period's start.
    """
    lower, upper = period_bounds(start, end)
    decisions: list[dict[str, Any]] = []
    criteria: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    reviews: list[dict[str, Any]] = []
    accesses: list[dict[str, Any]] = []
    rejections: list[dict[str, Any]] = []
    answered: list[dict[str, Any]] = []
    promoted: set[str] = set()
    for record in store.iter_records(session, start=lower, end=upper):
        if record.kind == KIND_DECISION:
            found = answered_row(record)
            if found is not None:
                answered.append(found)
            row, record_criteria, record_requests = _decision_rows(record)
            decisions.append(row)
            criteria.extend(record_criteria)
            requests.extend(record_requests)
        elif record.kind == KIND_REVIEW:
            reviews.append(_review_row(record))
        elif record.kind == KIND_ACCESS:
            accesses.append(_access_row(record))
        elif record.kind == KIND_REJECTION:
            rejections.append(_rejection_row(record))
        elif record.kind == KIND_PROMOTION and record.decision_id is not None:
            promoted.add(record.decision_id)
    decision_frame = _frame(decisions, _DECISION_COLUMNS)
    review_frame = _frame(reviews, _REVIEW_RECORD_COLUMNS)
    reviewed_ids = sorted(set(review_frame["decision_id"]))
    earlier_created, reviewed_before = _earlier_links(session, reviewed_ids, lower)
    review_frame = _with_review_timing(review_frame, decision_frame, earlier_created, reviewed_before)
    return AuditFrames(
        start=start,
        end=end,
        decisions=decision_frame,
        criteria=_frame(criteria, _CRITERION_COLUMNS),
        data_requests=_frame(requests, _REQUEST_COLUMNS),
        reviews=review_frame[list(_REVIEW_COLUMNS)],
        accesses=_frame(accesses, _ACCESS_COLUMNS),
        rejections=_frame(rejections, _REJECTION_COLUMNS),
        answered=_frame(answered, {k: v for k, v in ANSWERED_COLUMNS.items() if k != "hours_to_answer"}),
        promoted=frozenset(promoted),
    )


# --- the summary ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    """The audit-chain verification, as the report states it."""

    ok: bool
    records: int
    checkpoints: int
    head_seq: int
    head_hash: str
    unsealed: int  # records after the newest signed checkpoint
    problems: int
    first_bad_seq: int | None
    first_bad_record_id: str | None
    first_problem: str | None

    @classmethod
    def from_report(cls, report: VerifyReport) -> Verification:
        first = report.first_problem
        return cls(
            ok=report.ok,
            records=report.records,
            checkpoints=report.checkpoints,
            head_seq=report.head_seq,
            head_hash=report.head_hash,
            unsealed=report.unsealed,
            problems=len(report.problems),
            first_bad_seq=None if first is None else first.seq,
            first_bad_record_id=None if first is None else first.record_id,
            first_problem=None if first is None else first.message,
        )


@dataclass(frozen=True, slots=True)
class Headline:
    """The period's headline numbers (the first block of the report and of the dashboard)."""

    decisions: int
    rejections: int
    reviews: int
    accepts: int
    overrides: int
    override_rate: float | None  # None when nothing was reviewed
    reviewed_decisions: int  # decisions of the period reviewed within it
    awaiting_review: int  # decisions of the period in the review queue with no review by its end
    median_hours_to_review: float | None
    p90_hours_to_review: float | None
    decision_reads: int  # access records naming a decision
    readers: int  # distinct actors who read a decision
    trail_queries: int  # access records querying the trail (exports, logs, reports)
    answered: int = 0  # decisions made from a referrer's answers to an earlier decision's questions
    completed_by_questionnaire: int = 0  # of those, no longer INSUFFICIENT_INFORMATION
    median_hours_to_answer: float | None = None  # from the data request (old decision) to the answer
    screening_only: int = 0  # batch screening decisions of the period not promoted to review by its end


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """Every table of the compliance report; all DataFrames have fixed columns, possibly no rows."""

    start: date
    end: date
    headline: Headline
    by_outcome: pd.DataFrame  # outcome, decisions, share
    by_stage: pd.DataFrame  # stage, decisions, share
    by_referrer: pd.DataFrame  # referrer, decisions, one column per outcome seen
    by_policy: pd.DataFrame  # policy_id, policy_version, policy_sha256, decisions, share
    by_specialist: pd.DataFrame  # reviewer, reviews, accepts, overrides, override_rate, median_hours_to_review
    override_reasons: pd.DataFrame  # reviewer, reason_code, recorded_outcome, outcome, overrides
    time_to_review: pd.DataFrame  # decision_id, reviewer, decided_at, reviewed_at, hours_to_review
    blocking_criteria: pd.DataFrame  # criterion, not_met, unknown, decisions, share
    data_requested: pd.DataFrame  # description, resource_type, criterion, decisions
    readers: pd.DataFrame  # actor, decision_id, patient_ref, channel, purposes, reads, first_read, last_read
    trail_queries: pd.DataFrame  # actor, purpose, queries, last_query
    rejections: pd.DataFrame  # error_code, error_type, rejections
    verification: Verification
    answered: pd.DataFrame | None = None  # reports/answered.py ANSWERED_COLUMNS


def _counts(data: pd.DataFrame, by: list[str], name: str, order: Sequence[str] | None = None) -> pd.DataFrame:
    counted = data.groupby(by, dropna=False).size().rename(name).reset_index()
    if order is not None:
        rank = {value: i for i, value in enumerate(order)}
        counted = counted.sort_values(by[0], key=lambda s: s.map(lambda v: rank.get(v, len(rank))), kind="stable")
    else:
        counted = counted.sort_values([name, *by], ascending=[False] + [True] * len(by), kind="stable")
    return counted.reset_index(drop=True).astype({name: "int64"})


def _with_share(counted: pd.DataFrame, count: str, total: int) -> pd.DataFrame:
    counted["share"] = (counted[count] / total if total else counted[count] * 0.0).astype("float64")
    return counted


def _quantile(values: pd.Series, q: float) -> float | None:
    return None if values.empty else float(values.quantile(q))


def _by_referrer(decisions: pd.DataFrame) -> pd.DataFrame:
    outcomes = [o for o in OUTCOMES if o in set(decisions["outcome"])]
    table = pd.crosstab(decisions["referrer"], decisions["outcome"]).reindex(columns=outcomes, fill_value=0)
    table.insert(0, "decisions", table.sum(axis=1))
    table = table.reset_index().rename_axis(columns=None)
    if table.empty:
        return pd.DataFrame({"referrer": pd.Series(dtype="str"), "decisions": pd.Series(dtype="int64")})
    table = table.astype({c: "int64" for c in ["decisions", *outcomes]})
    return table.sort_values(["decisions", "referrer"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _by_specialist(reviews: pd.DataFrame) -> pd.DataFrame:
    grouped = reviews.groupby("reviewer")
    table = pd.DataFrame(
        {
            "reviews": grouped.size(),
            "accepts": grouped["action"].agg(lambda s: int((s == "accept").sum())),
            "overrides": grouped["action"].agg(lambda s: int((s == "override").sum())),
        }
    )
    first = reviews[reviews["first_review"]]
    table["median_hours_to_review"] = first.groupby("reviewer")["hours_to_review"].median()
    table = table.rename_axis("reviewer").reset_index()
    table = table.astype({"reviews": "int64", "accepts": "int64", "overrides": "int64"})
    table["override_rate"] = (table["overrides"] / table["reviews"]).astype("float64")
    columns = ["reviewer", "reviews", "accepts", "overrides", "override_rate", "median_hours_to_review"]
    table["median_hours_to_review"] = table["median_hours_to_review"].astype("float64")
    return (
        table[columns]
        .sort_values(["reviews", "reviewer"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def _blocking_criteria(criteria: pd.DataFrame, total: int) -> pd.DataFrame:
    blocking = criteria[criteria["status"].isin(["not_met", "unknown"])]
    table = pd.crosstab(blocking["criterion"], blocking["status"]).reindex(columns=["not_met", "unknown"], fill_value=0)
    table = table.rename_axis(columns=None).reset_index()
    if table.empty:
        table = pd.DataFrame({"criterion": pd.Series(dtype="str"), "not_met": [], "unknown": []})
    # Distinct decisions, in case a policy ever reports the same criterion twice in one decision.
    table["decisions"] = table["criterion"].map(blocking.groupby("criterion")["decision_id"].nunique())
    table = table.astype({"not_met": "int64", "unknown": "int64", "decisions": "int64"})
    table = _with_share(table, "decisions", total)
    return table.sort_values(["decisions", "criterion"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _data_requested(requests: pd.DataFrame) -> pd.DataFrame:
    keys = ["description", "resource_type", "criterion"]
    table = requests.groupby(keys)["decision_id"].nunique().rename("decisions").reset_index()
    table = table.astype({"decisions": "int64"})
    return table.sort_values(["decisions", *keys], ascending=[False, True, True, True], kind="stable").reset_index(
        drop=True
    )


def _readers(accesses: pd.DataFrame) -> pd.DataFrame:
    reads = accesses[accesses["decision_id"].notna()]
    keys = ["actor", "decision_id"]
    grouped = reads.groupby(keys)
    table = pd.DataFrame(
        {
            "patient_ref": grouped["patient_ref"].first(),
            "channel": grouped["channel"].agg(lambda s: ", ".join(sorted(set(s)))),
            "purposes": grouped["purpose"].agg(lambda s: ", ".join(sorted(set(s)))),
            "reads": grouped.size(),
            "first_read": grouped["created_at"].min(),
            "last_read": grouped["created_at"].max(),
        }
    ).reset_index()
    if table.empty:
        table = table.reindex(columns=[*keys, "patient_ref", "channel", "purposes", "reads", "first_read", "last_read"])
    table = table.astype(
        {
            "actor": "str",
            "decision_id": "str",
            "reads": "int64",
            "first_read": "datetime64[us, UTC]",
            "last_read": "datetime64[us, UTC]",
        }
    )
    return table.sort_values(["actor", "first_read", "decision_id"], kind="stable").reset_index(drop=True)


def _trail_queries(accesses: pd.DataFrame) -> pd.DataFrame:
    queries = accesses[accesses["decision_id"].isna()]
    grouped = queries.groupby(["actor", "purpose"])
    table = pd.DataFrame({"queries": grouped.size(), "last_query": grouped["created_at"].max()}).reset_index()
    if table.empty:
        table = table.reindex(columns=["actor", "purpose", "queries", "last_query"])
    table = table.astype({"actor": "str", "purpose": "str", "queries": "int64", "last_query": "datetime64[us, UTC]"})
    return table.sort_values(["actor", "purpose"], kind="stable").reset_index(drop=True)


def _time_to_review(reviews: pd.DataFrame) -> pd.DataFrame:
    first = reviews[reviews["first_review"] & reviews["hours_to_review"].notna()]
    table = first.rename(columns={"decision_created_at": "decided_at", "created_at": "reviewed_at"})[
        ["decision_id", "reviewer", "action", "decided_at", "reviewed_at", "hours_to_review"]
    ]
    return table.sort_values(["reviewed_at", "decision_id"], kind="stable").reset_index(drop=True)


def compliance_summary(frames: AuditFrames, *, verification: VerifyReport | Verification) -> ComplianceReport:
    """Every table and headline number of the compliance report for `frames`' period."""
    decisions, reviews, accesses = frames.decisions, frames.reviews, frames.accesses
    total = len(decisions)
    overrides = int((reviews["action"] == "override").sum())
    time_to_review = _time_to_review(reviews)
    hours = time_to_review["hours_to_review"]
    in_period = set(decisions["decision_id"])
    reviewed = in_period & set(reviews["decision_id"])
    # Screening results wait in their own list, not for review: only the queue's decisions await one.
    screening = set(decisions.loc[decisions["channel"] == BATCH_CHANNEL, "decision_id"]) - frames.promoted
    queued = in_period - screening
    reads = accesses[accesses["decision_id"].notna()]
    answered_frame = frames.answered if frames.answered is not None else _frame([], ANSWERED_COLUMNS)
    answered, answered_count, completed, median_to_answer = answered_summary(answered_frame)
    headline = Headline(
        decisions=total,
        rejections=len(frames.rejections),
        reviews=len(reviews),
        accepts=int((reviews["action"] == "accept").sum()),
        overrides=overrides,
        override_rate=overrides / len(reviews) if len(reviews) else None,
        reviewed_decisions=len(reviewed),
        awaiting_review=len(queued - reviewed),
        median_hours_to_review=_quantile(hours, 0.5),
        p90_hours_to_review=_quantile(hours, 0.9),
        decision_reads=len(reads),
        readers=int(reads["actor"].nunique()),
        trail_queries=int(accesses["decision_id"].isna().sum()),
        answered=answered_count,
        completed_by_questionnaire=completed,
        screening_only=len(screening - reviewed),
        median_hours_to_answer=median_to_answer,
    )
    override_rows = reviews[reviews["action"] == "override"]
    return ComplianceReport(
        start=frames.start,
        end=frames.end,
        headline=headline,
        by_outcome=_with_share(_counts(decisions, ["outcome"], "decisions", OUTCOMES), "decisions", total),
        by_stage=_with_share(_counts(decisions, ["stage"], "decisions", ["trial", "implant"]), "decisions", total),
        by_referrer=_by_referrer(decisions),
        by_policy=_with_share(
            _counts(decisions, ["policy_id", "policy_version", "policy_sha256"], "decisions"), "decisions", total
        ),
        by_specialist=_by_specialist(reviews),
        override_reasons=_counts(
            override_rows, ["reviewer", "reason_code", "recorded_outcome", "outcome"], "overrides"
        ),
        time_to_review=time_to_review,
        blocking_criteria=_blocking_criteria(frames.criteria, total),
        data_requested=_data_requested(frames.data_requests),
        readers=_readers(accesses),
        trail_queries=_trail_queries(accesses),
        rejections=_counts(frames.rejections, ["error_code", "error_type"], "rejections"),
        verification=(
            verification if isinstance(verification, Verification) else Verification.from_report(verification)
        ),
        answered=answered,
    )
