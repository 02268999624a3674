"""Shared fixtures: paths to the shared FHIR samples and the bundled examples."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "fhir-samples"
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def example_bytes() -> bytes:
    return (EXAMPLES / "crps-left-foot.json").read_bytes()
