"""The command line as a user runs it: a real process, a real (temporary) SQLite audit store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from eligibility.audit.database import session_factory
from eligibility.audit.store import iter_records
from eligibility.rules.outcomes import CRITERIA
from tests.conftest import EXAMPLES, SAMPLES

SPEC_FIELDS = {
    "decision_id",
    "evaluated_at",
    "as_of",
    "patient",
    "policy",
    "engine_version",
    "input_sha256",
    "stage",
    "outcome",
    "label_status",
    "criteria",
    "actions",
    "summary",
}


@pytest.fixture()
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


def cli(db_url: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DRG_ELIGIBILITY_DATABASE_URL": db_url, "DRG_ELIGIBILITY_ACTOR": "test-runner"}
    return subprocess.run(
        [sys.executable, "-m", "eligibility.cli", *args], input=stdin, capture_output=True, env=env, timeout=120
    )


def kinds(db_url: str) -> list[str]:
    with session_factory(db_url)() as session:
        return [r.kind for r in iter_records(session)]


def test_evaluate_json_prints_exactly_the_decision_record(db_url: str) -> None:
    done = cli(db_url, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--as-of", "2026-11-20", "--format", "json")
    assert done.returncode == 0, done.stderr.decode()
    record = json.loads(done.stdout)
    assert set(record) >= SPEC_FIELDS
    assert record["outcome"] == "ELIGIBLE_WITH_CONDITIONS"
    assert record["as_of"] == "2026-11-20"
    assert [c["id"] for c in record["criteria"]] == list(CRITERIA)
    assert record["policy"]["id"] == "drg-clinic" and len(record["policy"]["sha256"]) == 64
    # Recorded before it was printed: the audit trail holds this very decision.
    with session_factory(db_url)() as session:
        stored = [r for r in iter_records(session) if r.kind == "decision"]
    assert [r.decision_id for r in stored] == [record["decision_id"]]


def test_evaluate_text_explains_each_criterion(db_url: str) -> None:
    done = cli(db_url, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--as-of", "2026-11-20")
    assert done.returncode == 0, done.stderr.decode()
    text = done.stdout.decode()
    assert "Outcome: ELIGIBLE_WITH_CONDITIONS" in text
    for cid in CRITERIA:
        assert f" {cid}: " in text
    assert "Hold recommended; confirm with the prescriber: ibuprofen 1 day" in text


def test_evaluate_reads_a_synthea_sample_and_stdin(db_url: str) -> None:
    raw = (SAMPLES / "Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json").read_bytes()
    done = cli(db_url, "evaluate", "-", "--as-of", "2026-11-20", "--format", "json", stdin=raw)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["outcome"] == "INSUFFICIENT_INFORMATION"


PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}


def bundle(*resources: dict[str, object]) -> bytes:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    ).encode()


BAD_INPUTS = {
    "not-json": (b'{"resourceType": "Bundle", ', "line 1"),
    "not-fhir": (b'{"hello": "world"}', "resourceType"),
    "no-patient": (
        bundle({"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}}),
        "Bundle.entry",
    ),
    "two-patients": (bundle(PATIENT, {**PATIENT, "id": "p2"}), "Bundle.entry"),
    "dangling-reference": (
        bundle(
            PATIENT,
            {
                "resourceType": "Condition",
                "id": "c",
                "subject": {"reference": "Patient/nobody"},
                "code": {"text": "pain"},
            },
        ),
        "subject.reference",
    ),
    "wrong-type": (json.dumps({"resourceType": "Observation", "id": "o"}).encode(), "resourceType"),
    "invalid-value": (bundle({**PATIENT, "birthDate": "not-a-date"}), "birthDate"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_naming_the_location_and_is_recorded(db_url: str, tmp_path: Path, name: str) -> None:
    raw, where = BAD_INPUTS[name]
    path = tmp_path / f"{name}.json"
    path.write_bytes(raw)
    done = cli(db_url, "evaluate", str(path), "--as-of", "2026-11-20")
    assert done.returncode == 2
    assert done.stdout == b""
    *warning, line = done.stderr.decode().strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("AUDIT KEY IS THE PUBLIC DEVELOPMENT DEFAULT"), warning
    lines = [line]
    assert lines[0].startswith("drg-eligibility: error: ") and str(path) in lines[0]
    assert where in lines[0], lines[0]
    assert "Traceback" not in done.stderr.decode()
    assert kinds(db_url) == ["rejection"]


def test_usage_errors_are_one_line(db_url: str, tmp_path: Path) -> None:
    done = cli(db_url, "evaluate", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and "cannot read" in done.stderr.decode()
    done = cli(db_url, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--as-of", "20-11-2026")
    assert done.returncode == 2 and "--as-of" in done.stderr.decode()
    done = cli(db_url, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--policy", "nope@9")
    assert done.returncode == 2 and "no installed policy" in done.stderr.decode()


def test_policy_show_prints_id_version_hash_and_thresholds(db_url: str) -> None:
    done = cli(db_url, "policy", "show")
    out = done.stdout.decode()
    assert done.returncode == 0
    assert "policy   drg-clinic" in out and "version  1.1.0" in out
    assert "pain_duration_min_months                 6" in out
    assert "sha256   " in out
    other = cli(db_url, "policy", "show", "drg-clinic@2.0.0").stdout.decode()
    assert "pain_duration_min_months                 3" in other


def test_a_bad_vitals_id_is_a_warning_on_stderr_and_read_all_rejects_it(db_url: str, tmp_path: Path) -> None:
    bundle = json.loads((EXAMPLES / "crps-left-foot.json").read_bytes())
    vitals = {"resourceType": "Observation", "id": "bp 1", "status": "final", "code": {"text": "blood pressure"}}
    bundle["entry"].append({"resource": {**vitals, "subject": {"reference": "Patient/pt-crps-1"}}})
    path = tmp_path / "with-vitals.json"
    path.write_text(json.dumps(bundle))

    done = cli(db_url, "evaluate", str(path), "--as-of", "2026-11-20", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "ELIGIBLE_WITH_CONDITIONS"  # stdout: the decision alone
    where = f"Bundle.entry[{len(bundle['entry']) - 1}].resource.id"
    assert f"warning: {path}: {where}: id 'bp 1' is not a FHIR id" in done.stderr.decode()

    strict = cli(db_url, "evaluate", str(path), "--as-of", "2026-11-20", "--read-all")
    assert strict.returncode == 2 and where in strict.stderr.decode()
    assert kinds(db_url) == ["decision", "rejection"]


def test_one_trail_whatever_folder_the_cli_runs_from(tmp_path: Path) -> None:
    """Issue 11: the default trail is per user (platformdirs), not relative to the working directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRG_ELIGIBILITY_")}
    env |= {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path / "home"), "DRG_ELIGIBILITY_ACTOR": "t"}
    outputs = []
    for folder in ("one", "two"):
        cwd = tmp_path / folder
        cwd.mkdir()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "eligibility.cli",
                "evaluate",
                str(EXAMPLES / "crps-left-foot.json"),
                "--as-of",
                "2026-11-20",
                "--format",
                "json",
            ],
            capture_output=True,
            env=env,
            cwd=cwd,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()
        assert not list(cwd.iterdir()), "nothing is written into the working directory"
        info = subprocess.run(
            [sys.executable, "-m", "eligibility.cli", "info"],
            capture_output=True,
            env=env,
            cwd=cwd,
            timeout=60,
            text=True,
        )
        outputs.append(next(line for line in info.stdout.splitlines() if line.startswith("audit trail")))
    trail = tmp_path / "data" / "drg-eligibility" / "drg-eligibility.db"
    assert outputs[0] == outputs[1] == f"audit trail   sqlite:///{trail}"
    assert kinds(f"sqlite:///{trail}").count("decision") == 2
    helped = subprocess.run(
        [sys.executable, "-m", "eligibility.cli", "--help"], capture_output=True, env=env, timeout=60, text=True
    )
    assert str(trail) in "".join(helped.stdout.split()), "--help names the trail"


def test_version_and_info_answer_without_a_traceback(db_url: str) -> None:
    done = cli(db_url, "--version")
    assert done.returncode == 0 and done.stdout.decode().startswith("drg-eligibility ")
    info = cli(db_url, "info").stdout.decode()
    assert "policy        drg-clinic@1.1.0" in info and db_url in info and "development key" in info


def test_text_output_names_the_patient_json_output_does_not(db_url: str) -> None:
    example = str(EXAMPLES / "crps-left-foot.json")
    text = cli(db_url, "evaluate", example, "--as-of", "2026-11-20").stdout.decode().splitlines()
    assert text[1] == "Patient: Ana Rivera · born 1978-03-14 (48 on 2026-11-20) · female"
    record = cli(db_url, "evaluate", example, "--as-of", "2026-11-20", "--format", "json").stdout.decode()
    assert "Rivera" not in record  # the decision record names the patient by reference only


def test_evaluate_a_folder_decides_each_record_and_reports_the_bad_one(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "a.json").write_bytes((EXAMPLES / "crps-left-foot.json").read_bytes())
    (folder / "b.json").write_bytes((EXAMPLES / "ehr-coded-medications.json").read_bytes())
    (folder / "c.json").write_text("{")
    done = cli(db_url, "evaluate", str(folder), "--as-of", "2026-06-01", "--format", "json")
    assert done.returncode == 2
    lines = done.stdout.decode().splitlines()
    assert [json.loads(line)["patient"]["reference"] for line in lines] == ["Patient/pt-crps-1", "Patient/pt-ehr-meds"]
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("drg-eligibility:")]
    assert errors[0].startswith(f"drg-eligibility: error: {folder / 'c.json'}: not valid JSON")
    assert errors[-1] == "drg-eligibility: 1 of 3 records were not decided (see above)"
    assert kinds(db_url).count("decision") == 2 and kinds(db_url).count("rejection") == 1


def test_evaluate_points_a_bulk_export_to_batch(db_url: str, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "p"}\n')
    done = cli(db_url, "evaluate", str(export))
    assert done.returncode == 2 and "looks like a Bulk Data export" in done.stderr.decode()
    assert "drg-eligibility batch" in done.stderr.decode() and b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("as_of", "said"),
    [
        ("9999-12-31", "--as-of 9999-12-31 is more than a year after today"),
        ("0001-01-01", "--as-of 0001-01-01 is outside the years 1800-2200"),
    ],
)
def test_as_of_at_the_ends_of_the_calendar_is_one_line_not_a_traceback(db_url: str, as_of: str, said: str) -> None:
    done = cli(db_url, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--as-of", as_of)
    assert done.returncode == 2, done.stderr.decode()
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr  # was an OverflowError traceback
    assert said in stderr
    assert kinds(db_url) == ["rejection"]


def rejections(db_url: str) -> list[dict[str, object]]:
    with session_factory(db_url)() as session:
        return [r.data() for r in iter_records(session) if r.kind == "rejection"]


def test_an_as_of_before_the_birth_date_is_refused_and_recorded_not_aged_minus_79(db_url: str) -> None:
    """Issue 11: `--as-of 1900-01-01` recorded a decision saying "Aged -79"."""
    done = cli(db_url, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--as-of", "1900-01-01")
    assert done.returncode == 2 and done.stdout == b""
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("drg-eligibility:")]
    assert errors == [
        f"drg-eligibility: error: {EXAMPLES / 'crps-left-foot.json'}: --as-of 1900-01-01 is before the "
        "patient's birth date (1978-03-14); give the day the patient is evaluated"
    ]
    assert kinds(db_url) == ["rejection"]
    [payload] = rejections(db_url)
    assert payload["as_of"] == "1900-01-01"
    assert payload["error"] == {
        "type": "InputError",
        "code": "invalid",
        "message": "asOf 1900-01-01 is before the patient's birth date (1978-03-14); "
        "give the day the patient is evaluated",
        "location": "asOf",
    }


def test_an_as_of_more_than_a_year_ahead_is_refused_and_recorded_in_evaluate_and_batch(
    db_url: str, tmp_path: Path
) -> None:
    from datetime import date

    from eligibility.calendar import add_months

    today = date.today()
    too_far = add_months(today, 12) + timedelta(days=1)
    done = cli(db_url, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--as-of", too_far.isoformat())
    assert done.returncode == 2 and done.stdout == b""
    said = f"drg-eligibility: error: --as-of {too_far} is more than a year after today ({today})"
    assert said in done.stderr.decode()
    export = tmp_path / "export"
    export.mkdir()
    (export / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "p"}\n')
    done = cli(db_url, "batch", str(export), "--as-of", too_far.isoformat(), "--out", str(tmp_path / "d.ndjson"))
    assert done.returncode == 2 and "Traceback" not in done.stderr.decode()
    assert f"--as-of {too_far} is more than a year after today" in done.stderr.decode()
    assert [(p["as_of"], p["error"]["location"]) for p in rejections(db_url)] == [  # type: ignore[index]
        (too_far.isoformat(), "asOf"),
        (too_far.isoformat(), "asOf"),
    ]
    # A year ahead to the day is still a planning date, decided as usual.
    done = cli(db_url, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--as-of", add_months(today, 12).isoformat())
    assert done.returncode == 0, done.stderr.decode()


def test_help_and_policy_commands_load_no_database_web_or_report_stack() -> None:
    """Issue 11: `--help` took 6 s importing the web app, WeasyPrint and pandas. What it loads is checked
    here (timings are for benchmarks/cli_startup.py, not for tests)."""
    probe = (
        "import sys\n"
        "from eligibility.cli import _register_commands\n"
        "_register_commands()\n"
        "heavy = ('sqlalchemy', 'pandas', 'weasyprint', 'fastapi', 'dask', 'matplotlib', 'alembic')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"loaded at start-up: {done.stdout.strip()}"


def test_stu3_input_is_one_line_saying_send_r4_and_is_recorded(db_url: str, tmp_path: Path) -> None:
    bundle = json.loads((EXAMPLES / "crps-left-foot.json").read_bytes())
    bundle["entry"].append({"resource": {"resourceType": "ProcedureRequest", "id": "pr1"}})
    path = tmp_path / "stu3.json"
    path.write_text(json.dumps(bundle))
    done = cli(db_url, "evaluate", str(path), "--as-of", "2026-11-20")
    assert done.returncode == 2 and done.stdout == b""
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("drg-eligibility:")]
    assert errors == [
        f"drg-eligibility: error: {path}: this looks like FHIR STU3 or DSTU2 (ProcedureRequest is not an R4 "
        f"resource; R4 has ServiceRequest); send FHIR R4 (4.0.1) at Bundle.entry[{len(bundle['entry']) - 1}]"
        ".resource.resourceType"
    ]
    assert kinds(db_url) == ["rejection"]
