"""Interrupted and rerun, a batch resumes: every patient exactly once in the output and in the audit trail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.synthetic_export import write_export
from eligibility.audit.database import SessionFactory
from eligibility.batch import BatchOptions, run_batch
from eligibility.batch.output import OutputFiles, journal_path
from eligibility.batch.progress import QuietProgress
from eligibility.errors import AuditError, InputError

from .conftest import AS_OF, PATIENTS, audit_records, ndjson


class _StopAfter(QuietProgress):
    """Interrupts the run after `chunks` chunks were recorded, as Ctrl-C would."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks

    def decided(self, count: int) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def _options(export: Path, out: Path, audit: SessionFactory) -> BatchOptions:
    return BatchOptions(export, out, as_of=AS_OF, workers=1, chunk_patients=3, session_factory=audit)


def _assert_exactly_once(out: Path, audit: SessionFactory, expected: dict[str, dict[str, object]]) -> None:
    references = Counter(d["patient"]["reference"] for d in ndjson(out))
    assert references == Counter(set(expected))  # each patient once
    recorded = Counter(r.patient_ref for r in audit_records(audit, "decision"))
    assert recorded == references
    assert not journal_path(out).exists()


def test_rerun_after_an_interrupt_does_the_rest(
    clean_export: Path, expected: dict[str, dict[str, object]], audit: SessionFactory, tmp_path: Path
) -> None:
    out = tmp_path / "decisions.ndjson"
    with pytest.raises(KeyboardInterrupt):
        run_batch(_options(clean_export, out, audit), progress=_StopAfter(2))
    assert len(ndjson(out)) == 6
    assert (tmp_path / "decisions.ndjson.work" / "manifest.json").exists()

    summary = run_batch(_options(clean_export, out, audit))
    assert summary.scan_reused
    assert (summary.already_done, summary.decided) == (6, PATIENTS - 6)
    assert summary.decided_total == PATIENTS
    _assert_exactly_once(out, audit, expected)

    again = run_batch(_options(clean_export, out, audit))  # nothing left: nothing recorded twice
    assert (again.already_done, again.decided) == (PATIENTS, 0)
    _assert_exactly_once(out, audit, expected)


def test_a_rerun_must_read_as_the_interrupted_run_did(
    clean_export: Path, expected: dict[str, dict[str, object]], audit: SessionFactory, tmp_path: Path
) -> None:
    """Half an output from whole records and half from what the policy reads would mix input hashes."""
    out = tmp_path / "decisions.ndjson"
    with pytest.raises(KeyboardInterrupt):
        run_batch(_options(clean_export, out, audit), progress=_StopAfter(1))
    with pytest.raises(InputError, match="begun reading what the policy reads; rerun without --read-all"):
        run_batch(replace(_options(clean_export, out, audit), read_all=True))
    run_batch(_options(clean_export, out, audit))
    _assert_exactly_once(out, audit, expected)


def test_a_chunk_committed_but_not_written_is_written_on_rerun(
    clean_export: Path,
    expected: dict[str, dict[str, object]],
    audit: SessionFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "decisions.ndjson"
    publish = OutputFiles.publish
    calls = []

    def dies_on_the_second_chunk(self: OutputFiles) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("killed between the audit commit and the output write")
        publish(self)

    monkeypatch.setattr(OutputFiles, "publish", dies_on_the_second_chunk)
    with pytest.raises(SystemExit):
        run_batch(_options(clean_export, out, audit))
    monkeypatch.setattr(OutputFiles, "publish", publish)
    assert journal_path(out).exists()
    assert len(ndjson(out)) == 3 and len(audit_records(audit, "decision")) == 6

    summary = run_batch(_options(clean_export, out, audit))
    assert summary.recovery is not None and "already in the audit trail" in summary.recovery
    _assert_exactly_once(out, audit, expected)


def test_a_chunk_the_audit_trail_refused_is_done_again(
    clean_export: Path,
    expected: dict[str, dict[str, object]],
    audit: SessionFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import eligibility.batch.runner as runner

    out = tmp_path / "decisions.ndjson"
    record_batch = runner.record_batch
    calls = []

    def fails_on_the_third_chunk(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise AuditError("the audit database is unreachable")
        return record_batch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "record_batch", fails_on_the_third_chunk)
    with pytest.raises(AuditError):
        run_batch(_options(clean_export, out, audit))
    monkeypatch.setattr(runner, "record_batch", record_batch)
    assert len(ndjson(out)) == 6 and journal_path(out).exists()

    summary = run_batch(_options(clean_export, out, audit))
    assert summary.recovery is not None and "not in the audit trail" in summary.recovery
    _assert_exactly_once(out, audit, expected)


def test_a_rerun_with_another_as_of_is_refused(clean_export: Path, audit: SessionFactory, tmp_path: Path) -> None:
    out = tmp_path / "decisions.ndjson"
    with pytest.raises(KeyboardInterrupt):
        run_batch(_options(clean_export, out, audit), progress=_StopAfter(1))
    other = BatchOptions(clean_export, out, as_of=AS_OF.replace(day=2), workers=1, session_factory=audit)
    with pytest.raises(InputError, match="holds decisions as of 2026-06-01"):
        run_batch(other)


def test_a_killed_process_resumes(tmp_path: Path, audit: SessionFactory) -> None:
    """The real thing: the command is SIGKILLed mid-run, then run again."""
    export = tmp_path / "export"
    write_export(export, 60, seed=2)
    out = tmp_path / "decisions.ndjson"
    database = tmp_path / "audit.db"  # the file the `audit` fixture reads
    command = [
        sys.executable,
        "-c",
        "import typer; from eligibility.commands.batch import register; app = typer.Typer(); register(app); app()",
        "batch", str(export), "--as-of", AS_OF.isoformat(), "--out", str(out),
        "--workers", "1", "--chunk-patients", "2", "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "DRG_ELIGIBILITY_DATABASE_URL": f"sqlite:///{database}"}
    process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # Counted as newlines, not parsed: the run may be in the middle of writing a line as we look.
    while (
        (out.read_bytes().count(b"\n") if out.exists() else 0) < 4
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the whole group: parent and its worker
    process.wait()
    killed_with = len(ndjson(out))
    assert 4 <= killed_with < 60, "the run was not interrupted mid-way"

    finished = subprocess.run(command, env=env, capture_output=True, check=False)
    assert finished.returncode == 0, finished.stderr.decode()
    references = Counter(d["patient"]["reference"] for d in ndjson(out))
    assert len(references) == 60 and set(references.values()) == {1}
    assert Counter(r.patient_ref for r in audit_records(audit, "decision")) == references
