"""The patient header (name, MRN, birth date, sex) read from a record for people, never for the rules."""

from __future__ import annotations

import json
from datetime import date

from fhir_adapters.patient_header import patient_header
from tests.conftest import SAMPLES

V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def bundle(patient: dict[str, object]) -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]}).encode()


def test_the_official_name_and_the_mr_identifier_are_chosen() -> None:
    header = patient_header(
        bundle(
            {
                "resourceType": "Patient",
                "name": [
                    {"use": "nickname", "given": ["Mo"]},
                    {"use": "official", "family": "Okafor", "given": ["Maria", "A."]},
                ],
                "identifier": [
                    {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-99-9999"},
                    {"type": {"coding": [{"system": V2, "code": "MR"}]}, "system": "urn:x", "value": "0012345"},
                ],
                "birthDate": "1971-03-14",
                "gender": "female",
            }
        )
    )
    assert header is not None
    assert (
        header.line(date(2026, 6, 1)) == "Maria A. Okafor · MRN 0012345 · born 1971-03-14 (55 on 2026-06-01) · female"
    )


def test_no_mrn_is_made_up_from_another_identifier_and_partial_dates_give_no_age() -> None:
    header = patient_header(
        {
            "resourceType": "Patient",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999"}],
            "birthDate": "1971",
            "name": [{"text": "  Ana Rivera "}],
        }
    )
    assert header is not None and header.mrn is None and header.age_on(date(2026, 1, 1)) is None
    assert header.line(date(2026, 1, 1)) == "Ana Rivera · born 1971"


def test_ndjson_a_lone_patient_and_the_public_samples() -> None:
    ndjson = b'{"resourceType": "Condition", "id": "c"}\n{"resourceType": "Patient", "name": [{"family": "Conn"}]}\n'
    assert patient_header(ndjson).name == "Conn"  # type: ignore[union-attr]
    assert patient_header(b'{"resourceType": "Observation"}') is None
    liz = patient_header((SAMPLES / "Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json").read_bytes())
    assert liz is not None and (liz.name, liz.sex, liz.birth_date) == ("Liz Conn", "female", "1986-11-28")
    amy = patient_header((SAMPLES / "patient-example.json").read_bytes())
    assert amy is not None and amy.mrn == "1032702" and amy.sex is None  # US Core example: no gender element


def test_the_header_read_with_the_record_is_the_one_the_stored_input_gives() -> None:
    """The worklist index takes the header the reading found; `audit reindex` reads it from the stored
    canonical input. Both must agree for every case and sample, or verify would report drift."""
    from pathlib import Path

    from fhir_adapters import parse_input

    cases = sorted((Path(__file__).parent / "cases").glob("[0-9][0-9][0-9]-*.json"))
    raws = [json.dumps(json.loads(p.read_text())["bundle"]).encode() for p in cases]
    kinds = ("Bundle", "Patient")
    records = [p for p in sorted(SAMPLES.glob("*.json")) if json.loads(p.read_text())["resourceType"] in kinds]
    raws += [p.read_bytes() for p in records]
    named = 0
    for raw in raws:
        parsed = parse_input(raw)
        assert parsed.patient == patient_header(parsed.canonical)
        named += parsed.patient is not None and parsed.patient.name is not None
    assert named >= len(cases)  # the comparison saw real names, not only empty headers
