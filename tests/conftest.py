"""Shared fixtures: paths to the public FHIR samples (examples/fhir-samples) and the bundled examples."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Public FHIR R4 examples (US Core, Synthea), kept in the repository with their sources and licences.
SAMPLES = REPO / "examples" / "fhir-samples"
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def example_bytes() -> bytes:
    return (EXAMPLES / "crps-left-foot.json").read_bytes()
