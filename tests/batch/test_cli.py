"""`batch` and `report cohort` as a user runs them: a real process and a temporary SQLite audit store."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from .conftest import AS_OF, PATIENTS, ndjson

# The commands as the main CLI registers them (eligibility.commands.batch.register).
_APP = "import typer; from eligibility.commands.batch import register; app = typer.Typer(); register(app); app()"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DRG_ELIGIBILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-c", _APP, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_batch_then_cohort_report(clean_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "decisions.ndjson"
    done = run(tmp_path, "batch", str(clean_export), "--as-of", AS_OF.isoformat(), "--out", str(out), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "decided now" in done.stdout and f"{PATIENTS}" in done.stdout
    assert "patients/s" in done.stderr  # the progress bar, on stderr
    outcomes = Counter(d["outcome"] for d in ndjson(out))
    assert sum(outcomes.values()) == PATIENTS

    report = run(
        tmp_path, "report", "cohort", str(out), "--csv", str(tmp_path / "c.csv"), "--html", str(tmp_path / "c.html")
    )
    assert report.returncode == 0, report.stderr
    assert "Blocking criteria" in report.stdout
    with open(tmp_path / "c.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["section"] for row in rows} >= {"outcome", "missing_data"}
    by_outcome = Counter()
    for row in rows:
        if row["section"] == "outcome":
            by_outcome[row["item"]] += int(row["patients"])
    assert by_outcome == outcomes
    html = (tmp_path / "c.html").read_text()
    assert "data:image/png;base64," in html and "Data most often missing" in html
    # The candidates are named, from the inputs the run recorded in the trail (issue 11).
    eligible = [d for d in ndjson(out) if d["outcome"].startswith("ELIGIBLE")]
    named = [row for row in rows if row["section"] == "candidate"]
    assert len(named) == len(eligible) > 0
    assert {row["item"] for row in named} == {d["patient"]["reference"] for d in eligible}
    assert all(row["detail"].startswith("Alex Family") for row in named), named[:2]
    assert "Candidates (eligible outcomes)" in html and html.count("Alex Family") == len(eligible)
    assert "Alex Family" in report.stdout


def test_bad_usage_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = run(tmp_path, "batch", str(tmp_path / "nope"), "--as-of", "2026-06-01", "--out", str(tmp_path / "o"))
    assert missing.returncode == 2
    assert f"the export is not a directory at {tmp_path / 'nope'}" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    bad_day = run(tmp_path, "batch", str(tmp_path), "--as-of", "June", "--out", str(tmp_path / "o"))
    assert bad_day.returncode == 2 and "not a date" in bad_day.stderr
