"""The core's public API, as eligibility/__init__.py's docstring shows it to a newcomer."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import eligibility

ROOT = Path(__file__).resolve().parents[1]


def test_every_exported_name_resolves() -> None:
    for name in eligibility.__all__:
        assert getattr(eligibility, name) is not None, name


def test_the_docstring_snippet_runs_and_says_what_it_returns() -> None:
    doc = eligibility.__doc__ or ""
    snippet = textwrap.dedent("\n".join(line for line in doc.splitlines() if line.startswith("    ")))
    expected = re.search(r'decision\.outcome\s+# "([A-Z_]+)"', snippet)
    assert expected, "the snippet names the outcome it returns"
    code = snippet + "\nprint(decision.outcome)\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == expected.group(1)


def test_importing_the_core_vocabulary_loads_no_fhir_models() -> None:
    code = "import eligibility.facts, eligibility.errors, sys; print('fhir.resources' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
