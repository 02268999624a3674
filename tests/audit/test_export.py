"""Export: FHIR R4 AuditEvent / Provenance NDJSON that validates, raw NDJSON that re-hashes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from audit_helpers import AS_OF, bundle, factory_for
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.provenance import Provenance
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from eligibility import service
from eligibility.audit import store
from eligibility.audit.chain import content_sha256
from eligibility.audit.database import read_session
from eligibility.audit.export import export
from eligibility.errors import InputError


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture
def trail(engine: Engine) -> tuple[Engine, str]:
    factory = factory_for(engine)
    decision = service.evaluate_and_record(
        bundle("esi-no-outcome"), as_of=AS_OF, actor="dr.smith", channel="api", session_factory=factory
    )
    with pytest.raises(InputError):
        service.evaluate_and_record(b"{", as_of=AS_OF, actor="dr.smith", channel="cli", session_factory=factory)
    service.read_decision(decision.decision_id, actor="dr.jones", channel="api", session_factory=factory)
    service.record_review(
        decision.decision_id,
        reviewer="dr.jones",
        action="accept",
        reason_code="agree",
        channel="api",
        session_factory=factory,
    )
    with Session(engine) as session:
        store.append_access(
            session, actor="auditor", channel="cli", purpose="export", query={"from": "2026-01-01"}, signer=None
        )
        store.append_access(session, actor="analyst", channel="cli", purpose="whatif", query={"policy": "x"})
        session.commit()
    return engine, decision.decision_id


def test_fhir_export_validates_and_maps_each_kind(trail: tuple[Engine, str], tmp_path: Path) -> None:
    engine, decision_id = trail
    with read_session(engine) as session:
        result = export(session, directory=tmp_path, formats=["fhir"])
    assert result.counts == {"AuditEvent.ndjson": 6, "Provenance.ndjson": 1}
    events = lines(tmp_path / "AuditEvent.ndjson")
    for event in events:
        model = AuditEvent.model_validate(event)
        # Nothing the model would silently drop or rename.
        assert orjson.loads(model.model_dump_json()) == event
    summary = [
        (e["type"]["code"], [s["code"] for s in e["subtype"]], e["action"], e["outcome"])
        for e in events  # type: ignore[index]
    ]
    assert summary == [
        ("rest", ["operation", "decision"], "E", "0"),
        ("rest", ["operation", "rejection"], "E", "4"),
        ("rest", ["read", "access-read"], "R", "0"),
        ("110110", ["review-accept"], "U", "0"),
        ("110106", ["access-export"], "R", "0"),
        ("110112", ["search-type", "access-whatif"], "E", "0"),
    ]
    decision_event = events[0]
    whats = [entity.get("what", {}) for entity in decision_event["entity"]]  # type: ignore[union-attr]
    assert {
        "reference": f"GuidanceResponse/{decision_id}",
        "identifier": {
            "system": "https://drg-eligibility.example.org/fhir/NamingSystem/decision-id",
            "value": decision_id,
        },
    } in whats
    assert any(str(w.get("reference", "")).startswith("Patient/") for w in whats)
    requestors = [a["who"]["display"] for a in decision_event["agent"] if a["requestor"]]  # type: ignore[union-attr,index]
    assert requestors == ["dr.smith"]
    assert "NotJSONError" in str(events[1]["outcomeDesc"])

    [prov] = lines(tmp_path / "Provenance.ndjson")
    Provenance.model_validate(prov)
    assert prov["target"][0]["reference"] == f"GuidanceResponse/{decision_id}"  # type: ignore[index]
    assert str(prov["policy"][0]).startswith(  # type: ignore[index]
        "https://drg-eligibility.example.org/fhir/policy/drg-clinic/1.1.0#sha256="
    )


def test_raw_export_can_be_rehashed_by_a_third_party(trail: tuple[Engine, str], tmp_path: Path) -> None:
    engine, _ = trail
    with read_session(engine) as session:
        result = export(session, directory=tmp_path, formats=["raw"])
    records = lines(tmp_path / "audit-records.ndjson")
    assert result.counts["audit-records.ndjson"] == len(records) == 6
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert all(content_sha256(r) == r["content_sha256"] for r in records)
    assert all(records[i]["prev_hash"] == records[i - 1]["chain_hash"] for i in range(1, 6))


def test_export_filters_by_time_range(trail: tuple[Engine, str], tmp_path: Path) -> None:
    engine, _ = trail
    with read_session(engine) as session:
        stamps = [r.created_at for r in store.iter_records(session)]
        result = export(session, directory=tmp_path, start=stamps[2], end=stamps[4], formats=["fhir", "raw"])
    assert result.counts["AuditEvent.ndjson"] == 2
    assert result.counts["Provenance.ndjson"] == 0
    assert [r["seq"] for r in lines(tmp_path / "audit-records.ndjson")] == [3, 4]
    assert not list(tmp_path.glob(".*.part"))


def test_a_promotion_exports_as_an_audit_event_naming_the_patient(engine: Engine, tmp_path: Path) -> None:
    from eligibility.audit.promotion import append_promotion

    factory = factory_for(engine)
    result = service.evaluate_one(bundle("esi-no-outcome"), as_of=AS_OF)
    (decision,) = service.record_batch(
        [result], actor="batch", channel="batch", run_id="run-1", session_factory=factory
    )
    with Session(engine) as session:
        append_promotion(session, decision_id=decision.decision_id, promoter="dr.jones", channel="web")
        session.commit()
    with read_session(engine) as session:
        export(session, directory=tmp_path, formats=["fhir"])
    event = lines(tmp_path / "AuditEvent.ndjson")[-1]
    assert orjson.loads(AuditEvent.model_validate(event).model_dump_json()) == event
    assert (event["type"]["code"], [s["code"] for s in event["subtype"]], event["action"]) == (  # type: ignore[index,union-attr]
        "110110", ["promotion"], "U"
    )  # fmt: skip
    whats = [entity.get("what", {}) for entity in event["entity"]]  # type: ignore[union-attr]
    assert any(str(w.get("reference", "")).startswith("Patient/") for w in whats)
    assert [a["who"]["display"] for a in event["agent"] if a["requestor"]] == ["dr.jones"]  # type: ignore[union-attr,index]
