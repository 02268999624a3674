"""What the product writes is private: 0600 files, 0700 directories, even under umask 022 (issue 12).

Before: the database, batch outputs, exports and evidence packs were created world-readable.
Real processes, as a user runs them (the parent's umask is 022 here).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.synthetic_export import write_export
from tests.conftest import EXAMPLES


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def cli(tmp_path: Path, *args: str) -> None:
    env = {
        **os.environ,
        "DRG_ELIGIBILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'state' / 'audit.db'}",
        "DRG_ELIGIBILITY_ACTOR": "test-runner",
    }
    done = subprocess.run([sys.executable, "-m", "eligibility.cli", *args], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode()


def modes(root: Path) -> dict[str, int]:
    return {str(path.relative_to(root)): stat.S_IMODE(path.stat().st_mode) for path in [root, *root.rglob("*")]}


def test_the_database_exports_and_batch_outputs_are_created_private(tmp_path: Path) -> None:
    cli(tmp_path, "evaluate", str(EXAMPLES / "crps-left-foot.json"), "--as-of", "2026-11-20")
    cli(tmp_path, "audit", "export", "--out", str(tmp_path / "export"))
    write_export(tmp_path / "bulk", 3, seed=5)
    cli(
        tmp_path,
        "batch",
        str(tmp_path / "bulk"),
        "--as-of",
        "2026-06-01",
        "--out",
        str(tmp_path / "out" / "d.ndjson"),
        "--workers",
        "1",
    )
    made = {**modes(tmp_path / "state"), **modes(tmp_path / "export"), **modes(tmp_path / "out")}
    assert made, "nothing was written"
    loose = {name: oct(mode) for name, mode in made.items() if mode & 0o077}
    assert not loose  # was 0644 files and 0755 directories
    assert made["audit.db"] == 0o600
