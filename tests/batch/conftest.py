"""Fixtures of the batch tests: small synthetic exports, an audit store in a temporary SQLite file,
and the single-patient decisions to compare with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from benchmarks.synthetic_export import iter_patients, shared_resources, write_export
from eligibility.audit import store
from eligibility.audit.database import SessionFactory, dispose_engines, session_factory
from eligibility.from_fhir import decide, resolve_policy
from fhir_adapters.read_set import ReadSet

AS_OF = date(2026, 6, 1)
PATIENTS = 16
SEED = 11


def patient_bundle(resources: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]})


def single_patient_decisions(
    count: int = PATIENTS, seed: int = SEED, *, read_set: ReadSet | None = None
) -> dict[str, dict[str, object]]:
    """Patient reference -> clinical content of the single-patient decision on the same resources
    (only those `read_set` keeps, when given)."""
    medications = {r["id"]: r for r in shared_resources() if r["resourceType"] == "Medication"}
    decided = {}
    for patient in iter_patients(count, seed=seed):
        resources = patient.resources + [medications[m] for m in patient.medication_ids]
        if read_set is not None:
            resources = [r for r in resources if read_set.reads_resource(r)]
        decision = decide(patient_bundle(resources), as_of=AS_OF, decision_id="single", evaluated_at="now")
        decided[decision.patient.reference] = decision.clinical_content()
    return decided


@pytest.fixture(scope="session")
def expected() -> dict[str, dict[str, object]]:
    """The single-patient decisions on whole records: what `--read-all` must give, input hashes included."""
    return single_patient_decisions()


@pytest.fixture(scope="session")
def expected_read() -> dict[str, dict[str, object]]:
    """... on the lines the policy reads: what a default run must give. Equal to `expected` but for the
    input hash (checked here, so every test that uses it relies on it)."""
    decided = single_patient_decisions(read_set=ReadSet.for_policy(resolve_policy(None)))
    whole = single_patient_decisions()
    assert decided.keys() == whole.keys()
    for reference, content in decided.items():
        assert {**content, "input_sha256": None} == {**whole[reference], "input_sha256": None}
        assert content["input_sha256"] != whole[reference]["input_sha256"]
    return decided


@pytest.fixture(scope="session")
def clean_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("export")
    write_export(directory, PATIENTS, seed=SEED)
    return directory


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[SessionFactory]:
    yield session_factory(f"sqlite:///{tmp_path / 'audit.db'}")
    dispose_engines()


def audit_records(factory: SessionFactory, kind: str) -> list[store.StoredRecord]:
    with factory() as session:
        assert isinstance(session, Session)
        records = list(store.iter_records(session, kinds=[kind]))
        session.rollback()
    return records


def ndjson(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()] if path.exists() else []
