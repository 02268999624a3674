"""The cohort report of a batch run: who the candidates are, what blocks the others, what data is missing.

    summary = summarize(load_cohort(Path("decisions.ndjson")))   # reads <out>.rejected.ndjson too
    write_csv(summary, Path("cohort.csv")); write_html(summary, Path("cohort.html"))

Tables (one CSV, long format: section, item, detail, patients, share):
- outcomes: decisions by outcome and label status;
- blocking: criteria `not_met` among NOT_ELIGIBLE patients;
- missing: data requests of `unknown` criteria (what a clinic could record to settle them);
- rejected: patients with no decision, by error type;
- candidates: each patient with an eligible outcome, named (name, MRN, birth date) when the audit trail
  holding the run's inputs is at hand (`name_candidates`; the CLI reads it, as a recorded query).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # pandas-stubs is optional
from jinja2 import Environment, PackageLoader, select_autoescape

__all__ = ["CohortSummary", "load_cohort", "name_candidates", "summarize", "write_csv", "write_html"]

ELIGIBLE = ("ELIGIBLE_FOR_TRIAL", "ELIGIBLE_WITH_CONDITIONS", "ELIGIBLE_FOR_IMPLANT")


@dataclass(frozen=True)
class Cohort:
    """The decisions flattened: one row per patient, one row per (patient, criterion, data request)."""

    source: Path
    decisions: pd.DataFrame  # patient, outcome, label_status, stage, as_of, policy, decision_id
    criteria: pd.DataFrame  # patient, outcome, criterion, status, request, resource_type
    rejected: pd.DataFrame  # patient, source, error_type, message


def _ndjson(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path, "rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def load_cohort(path: Path) -> Cohort:
    """Read a decisions NDJSON (and its `.rejected.ndjson` beside it, if any), line by line."""
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    decisions: list[tuple[str, str, str, str, str, str, str]] = []
    criteria: list[tuple[str, str, str, str, str | None, str | None]] = []
    with open(path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            d = orjson.loads(line)
            patient, outcome = d["patient"]["reference"], d["outcome"]
            policy = f"{d['policy']['id']}@{d['policy']['version']}"
            decisions.append(
                (patient, outcome, d["label_status"], d["stage"], d["as_of"], policy, d.get("decision_id", ""))
            )
            for criterion in d["criteria"]:
                requests = criterion.get("data_requests") or [None]
                for request in requests:
                    criteria.append(
                        (
                            patient,
                            outcome,
                            criterion["id"],
                            criterion["status"],
                            None if request is None else request["description"],
                            None if request is None else request["resource_type"],
                        )
                    )
    rejected = [
        (
            (r.get("patient") or {}).get("reference"),
            r.get("source"),
            r["error"]["type"],
            r["error"]["message"],
        )
        for r in _ndjson(path.with_name(path.name + ".rejected.ndjson"))
    ]
    return Cohort(
        path,
        pd.DataFrame(
            decisions, columns=["patient", "outcome", "label_status", "stage", "as_of", "policy", "decision_id"]
        ),
        pd.DataFrame(criteria, columns=["patient", "outcome", "criterion", "status", "request", "resource_type"]),
        pd.DataFrame(rejected, columns=["patient", "source", "error_type", "message"]),
    )


@dataclass(frozen=True)
class CohortSummary:
    source: Path
    patients: int  # with a decision
    candidates: int  # with an ELIGIBLE_* outcome
    rejected_count: int
    as_of: str
    policy: str
    outcomes: pd.DataFrame  # outcome, label_status, patients, share
    blocking: pd.DataFrame  # criterion, patients, share (of NOT_ELIGIBLE)
    missing: pd.DataFrame  # criterion, request, resource_type, patients, share (of all decided)
    rejected: pd.DataFrame  # error_type, patients, example
    candidate_list: pd.DataFrame  # name, patient, outcome, label_status, decision (8 characters), decision_id

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        candidates = self.candidate_list.drop(columns=["decision_id"])
        return [
            ("Decisions by outcome and label status", self.outcomes),
            ("Candidates (eligible outcomes), for a clinician to review", candidates),
            ("Blocking criteria (not met, among NOT_ELIGIBLE)", self.blocking),
            ("Data most often missing (requests of unknown criteria)", self.missing),
            ("Rejected (no decision)", self.rejected),
        ]


def _share(counts: pd.Series, total: int) -> pd.Series:
    return (counts / total).round(4) if total else counts * 0.0


def summarize(cohort: Cohort, *, top: int = 15) -> CohortSummary:
    decisions, criteria = cohort.decisions, cohort.criteria
    total = len(decisions)
    outcomes = decisions.groupby(["outcome", "label_status"]).size().reset_index(name="patients")
    outcomes = outcomes.sort_values(["patients", "outcome"], ascending=[False, True], ignore_index=True)
    outcomes["share"] = _share(outcomes["patients"], total)

    not_eligible = int((decisions["outcome"] == "NOT_ELIGIBLE").sum())
    blocked = criteria[(criteria["outcome"] == "NOT_ELIGIBLE") & (criteria["status"] == "not_met")]
    blocking = blocked.groupby("criterion")["patient"].nunique().reset_index(name="patients")
    blocking = blocking.sort_values(["patients", "criterion"], ascending=[False, True], ignore_index=True)
    blocking["share"] = _share(blocking["patients"], not_eligible)

    unknown = criteria[(criteria["status"] == "unknown") & criteria["request"].notna()]
    requested = unknown.groupby(["criterion", "request", "resource_type"])["patient"].nunique()
    missing = (
        requested.reset_index(name="patients")
        .sort_values(["patients", "criterion"], ascending=[False, True], ignore_index=True)
        .head(top)
    )
    missing["share"] = _share(missing["patients"], total)

    rejected = cohort.rejected.groupby("error_type").agg(patients=("error_type", "size"), example=("message", "first"))
    rejected = rejected.reset_index().sort_values("patients", ascending=False, ignore_index=True)

    eligible = decisions[decisions["outcome"].isin(ELIGIBLE)].sort_values(["outcome", "patient"], kind="stable")
    candidate_list = pd.DataFrame(
        {
            "name": "–",  # unnamed until name_candidates
            "patient": eligible["patient"],
            "outcome": eligible["outcome"],
            "label_status": eligible["label_status"],
            "decision": eligible["decision_id"].str[:8],
            "decision_id": eligible["decision_id"],
        }
    ).reset_index(drop=True)

    first = decisions.iloc[0] if total else None
    return CohortSummary(
        source=cohort.source,
        patients=total,
        candidates=int(decisions["outcome"].isin(ELIGIBLE).sum()),
        rejected_count=len(cohort.rejected),
        as_of="" if first is None else str(first["as_of"]),
        policy="" if first is None else str(first["policy"]),
        outcomes=outcomes,
        blocking=blocking,
        missing=missing,
        rejected=rejected,
        candidate_list=candidate_list,
    )


def name_candidates(summary: CohortSummary, names: Mapping[str, str]) -> CohortSummary:
    """`summary` with each candidate's name (decision id -> "Name · MRN … · born …"); '–' where unknown."""
    table = summary.candidate_list.copy()
    table["name"] = [names.get(decision_id, "–") for decision_id in table["decision_id"]]
    return replace(summary, candidate_list=table)


def write_csv(summary: CohortSummary, path: Path) -> None:
    """All tables in one long CSV: section, item, detail, patients, share."""
    rows = [
        pd.DataFrame(
            {
                "section": "outcome",
                "item": summary.outcomes["outcome"],
                "detail": summary.outcomes["label_status"],
                "patients": summary.outcomes["patients"],
                "share": summary.outcomes["share"],
            }
        ),
        pd.DataFrame(
            {
                "section": "candidate",
                "item": summary.candidate_list["patient"],
                "detail": summary.candidate_list["name"] + "; " + summary.candidate_list["outcome"] + " "
                + summary.candidate_list["label_status"] + "; decision " + summary.candidate_list["decision_id"],
                "patients": 1,
                "share": None,
            }
        ),
        pd.DataFrame(
            {
                "section": "blocking_criterion",
                "item": summary.blocking["criterion"],
                "detail": "not_met among NOT_ELIGIBLE",
                "patients": summary.blocking["patients"],
                "share": summary.blocking["share"],
            }
        ),
        pd.DataFrame(
            {
                "section": "missing_data",
                "item": summary.missing["criterion"],
                "detail": summary.missing["request"],
                "patients": summary.missing["patients"],
                "share": summary.missing["share"],
            }
        ),
        pd.DataFrame(
            {
                "section": "rejected",
                "item": summary.rejected["error_type"],
                "detail": summary.rejected["example"],
                "patients": summary.rejected["patients"],
                "share": _share(summary.rejected["patients"], summary.patients + summary.rejected_count),
            }
        ),
    ]
    pd.concat([frame for frame in rows if len(frame)], ignore_index=True).to_csv(path, index=False)


def chart_png(summary: CohortSummary) -> bytes:
    """Outcomes by label status, and the most common blocking criteria, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: the report is a file
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    table = summary.outcomes.pivot_table(index="outcome", columns="label_status", values="patients", fill_value=0)
    if len(table):
        table.loc[table.sum(axis=1).sort_values().index].plot.barh(stacked=True, ax=left)
    left.set_title("Decisions by outcome and label status")
    left.set_xlabel("patients")
    left.set_ylabel("")
    blocking = summary.blocking.head(8).iloc[::-1]
    right.barh(blocking["criterion"], blocking["patients"], color="#b5513b")
    right.set_title("Blocking criteria among NOT_ELIGIBLE")
    right.set_xlabel("patients")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def write_html(summary: CohortSummary, path: Path) -> None:
    environment = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html"]))
    template = environment.get_template("cohort.html")
    chart = base64.b64encode(chart_png(summary)).decode("ascii")
    tables = [
        (title, frame.to_html(index=False, border=0, classes="table", float_format=lambda v: f"{v:.1%}"))
        for title, frame in summary.tables()
    ]
    path.write_text(template.render(summary=summary, chart=chart, tables=tables), encoding="utf-8")
