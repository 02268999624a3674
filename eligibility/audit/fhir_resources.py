"""Audit records as FHIR R4 `AuditEvent` (IHE Basic Audit Log Patterns style) and `Provenance`.

The trail's own FHIR form, beside the records it maps (record.py). Built as plain JSON and
validated with the R4B models through `fhir_adapters.models` (the one module
that imports fhir.resources), plus the checks the models leave out: list cardinalities and the BALP
slices (exactly one requesting agent, a Patient entity whenever the record names a patient).

Mapping of the audit trail's record kinds (BALP patterns, DICOM / HL7 codes):

| record | AuditEvent.type | subtype | action | outcome |
|---|---|---|---|---|
| decision | rest (RESTful operation) | operation + ours `decision` | E | 0 |
| rejection | rest | operation + ours `rejection` | E | 4, with outcomeDesc |
| review | DCM 110110 Patient Record | ours `review-accept` / `review-override` | U | 0 |
| promotion (to the review queue) | DCM 110110 Patient Record | ours `promotion` | U | 0 |
| access, one decision | rest | read + ours `access-<purpose>` | R | 0 |
| access, export | DCM 110106 Export | ours `access-export` | R | 0 |
| access, other query | DCM 110112 Query | search-type + ours `access-<purpose>` | E | 0 |

Agents follow BALP: the user (requestor), the client channel as Source Role ID (110153) and this
system as Destination Role ID (110152). Entities: the Patient (type Person, role Patient), the
decision as `GuidanceResponse/<decision_id>` with its identifier, the canonical input by SHA-256,
a query (base64) for queries, and the audit record itself with its sequence number and chain hash.

A Provenance is written for each decision: target the GuidanceResponse, the engine as author, the
requesting user as enterer, the input as source entity, and the policy (id, version, hash) in `policy`.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from eligibility.audit.record import StoredRecord
from eligibility.errors import InvalidResourceError
from fhir_adapters.models import validate_resource
from fhir_adapters.product import CANONICAL_BASE

__all__ = [
    "AUDIT_KIND_SYSTEM",
    "DECISION_ID_SYSTEM",
    "INPUT_SHA256_SYSTEM",
    "audit_event",
    "provenance",
]

_BASE = CANONICAL_BASE  # the product's fixed canonical base (product.py)
AUDIT_KIND_SYSTEM = f"{_BASE}/CodeSystem/audit-kind"
DECISION_ID_SYSTEM = f"{_BASE}/NamingSystem/decision-id"
INPUT_SHA256_SYSTEM = f"{_BASE}/NamingSystem/input-sha256"
AUDIT_RECORD_SYSTEM = f"{_BASE}/NamingSystem/audit-record-id"
USER_SYSTEM = f"{_BASE}/NamingSystem/user"
CHANNEL_SYSTEM = f"{_BASE}/NamingSystem/channel"
POLICY_URI = f"{_BASE}/policy"
SYSTEM_NAME = "drg-eligibility"

_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_DICOM = "http://dicom.nema.org/resources/ontology/DCM"
_RESTFUL = "http://hl7.org/fhir/restful-interaction"
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


_REST = _coding(_EVENT_TYPE, "rest", "Restful Operation")
_PATIENT_RECORD = _coding(_DICOM, "110110", "Patient Record")
_QUERY = _coding(_DICOM, "110112", "Query")
_EXPORT = _coding(_DICOM, "110106", "Export")


def _classify(record: StoredRecord) -> tuple[dict[str, str], list[dict[str, str]], str, dict[str, Any]]:
    """(type, subtypes, action, user agent type) for the record's kind."""
    kind, payload = record.kind, record.data()
    if kind in ("decision", "rejection"):
        subtypes = [_coding(_RESTFUL, "operation", "operation"), _coding(AUDIT_KIND_SYSTEM, kind)]
        return _REST, subtypes, "E", _concept(_PARTICIPATION, "IRCP", "information recipient")
    if kind == "review":
        subtype = _coding(AUDIT_KIND_SYSTEM, f"review-{payload['action']}")
        return _PATIENT_RECORD, [subtype], "U", _concept(_PARTICIPATION, "AUT", "author")
    if kind == "promotion":
        subtype = _coding(AUDIT_KIND_SYSTEM, "promotion")
        return _PATIENT_RECORD, [subtype], "U", _concept(_PARTICIPATION, "AUT", "author")
    if kind == "access":
        ours = _coding(AUDIT_KIND_SYSTEM, f"access-{payload['purpose']}")
        if record.decision_id is not None:
            return (
                _REST,
                [_coding(_RESTFUL, "read", "read"), ours],
                "R",
                _concept(_PARTICIPATION, "IRCP", "information recipient"),
            )
        if payload["purpose"] == "export":
            return _EXPORT, [ours], "R", _concept(_PARTICIPATION, "INF", "informant")
        subtypes = [_coding(_RESTFUL, "search-type", "search type"), ours]
        return _QUERY, subtypes, "E", _concept(_PARTICIPATION, "IRCP", "information recipient")
    raise InvalidResourceError(f"no AuditEvent mapping for audit record kind {kind!r}", location="kind")


def _agents(record: StoredRecord, user_type: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": user_type,
            "who": {"identifier": {"system": USER_SYSTEM, "value": record.actor}, "display": record.actor},
            "requestor": True,
        },
        {
            "type": _concept(_DICOM, "110153", "Source Role ID"),
            "who": {"identifier": {"system": CHANNEL_SYSTEM, "value": record.channel}, "display": record.channel},
            "requestor": False,
        },
        {
            "type": _concept(_DICOM, "110152", "Destination Role ID"),
            "who": {"display": SYSTEM_NAME},
            "requestor": False,
        },
    ]


def _decision_reference(decision_id: str) -> dict[str, Any]:
    return {
        "reference": f"GuidanceResponse/{decision_id}",
        "identifier": {"system": DECISION_ID_SYSTEM, "value": decision_id},
    }


def _entities(record: StoredRecord) -> list[dict[str, Any]]:
    payload = record.data()
    entities: list[dict[str, Any]] = []
    if record.patient_ref:
        entities.append(
            {
                "what": {"reference": record.patient_ref},
                "type": _coding(_ENTITY_TYPE, "1", "Person"),
                "role": _coding(_OBJECT_ROLE, "1", "Patient"),
            }
        )
    if record.decision_id:
        details = []
        if record.kind == "decision":
            decision = payload["decision"]
            details = [
                {"type": "outcome", "valueString": decision["outcome"]},
                {"type": "policy", "valueString": f"{decision['policy']['id']}@{decision['policy']['version']}"},
            ]
        elif record.kind == "review":
            details = [{"type": "outcome", "valueString": payload["outcome"]}]
        decision_entity: dict[str, Any] = {
            "what": _decision_reference(record.decision_id),
            "type": _coding(_ENTITY_TYPE, "2", "System Object"),
            "role": _coding(_OBJECT_ROLE, "4", "Domain Resource"),
        }
        if details:
            decision_entity["detail"] = details
        entities.append(decision_entity)
    if record.input_sha256:
        entities.append(
            {
                "what": {
                    "identifier": {"system": INPUT_SHA256_SYSTEM, "value": record.input_sha256},
                    "display": "submitted FHIR input" if record.kind == "rejection" else "canonical FHIR input",
                },
                "type": _coding(_ENTITY_TYPE, "2", "System Object"),
                "role": _coding(_OBJECT_ROLE, "4", "Domain Resource"),
            }
        )
    if record.kind == "access" and payload.get("query") is not None:
        query = orjson.dumps(payload["query"], option=orjson.OPT_SORT_KEYS)
        entities.append(
            {
                "type": _coding(_ENTITY_TYPE, "2", "System Object"),
                "role": _coding(_OBJECT_ROLE, "24", "Query"),
                "query": base64.b64encode(query).decode("ascii"),
                "description": query.decode("utf-8"),
            }
        )
    entities.append(
        {
            "what": {"identifier": {"system": AUDIT_RECORD_SYSTEM, "value": record.record_id}},
            "type": _coding(_ENTITY_TYPE, "2", "System Object"),
            "role": _coding(_OBJECT_ROLE, "13", "Security Resource"),
            "description": "the audit trail record this event was exported from",
            "detail": [
                {"type": "seq", "valueString": str(record.seq)},
                {"type": "chain-hash", "valueString": record.chain_hash},
            ],
        }
    )
    return entities


def audit_event(record: StoredRecord) -> dict[str, Any]:
    """The record as a validated FHIR R4 AuditEvent (JSON)."""
    event_type, subtypes, action, user_type = _classify(record)
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": record.record_id,
        "type": event_type,
        "subtype": subtypes,
        "action": action,
        "recorded": record.created_at,
        "outcome": "0",
        "agent": _agents(record, user_type),
        "source": {
            "site": SYSTEM_NAME,
            "observer": {"display": f"{SYSTEM_NAME} audit trail"},
            "type": [_coding(_SOURCE_TYPE, "4", "Application Server")],
        },
        "entity": _entities(record),
    }
    if record.kind == "rejection":
        error = record.data()["error"]
        where = f" at {error['location']}" if error.get("location") else ""
        event["outcome"] = "4"
        event["outcomeDesc"] = f"{error['type']}: {error['message']}{where}"
    _check_event(event, patient=record.patient_ref)
    return event


def provenance(record: StoredRecord) -> dict[str, Any]:
    """The Provenance of a recorded decision (decision records only)."""
    if record.kind != "decision" or record.decision_id is None:
        raise InvalidResourceError("a Provenance is made for decision records only", location="kind")
    decision = record.data()["decision"]
    policy = decision["policy"]
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": record.record_id,
        "target": [_decision_reference(record.decision_id)],
        "occurredDateTime": decision["evaluated_at"],
        "recorded": record.created_at,
        "policy": [f"{POLICY_URI}/{policy['id']}/{policy['version']}#sha256={policy['sha256']}"],
        "activity": _concept(_DATA_OPERATION, "CREATE", "create"),
        "agent": [
            {
                "type": _concept(_PROVENANCE_AGENT, "author", "Author"),
                "who": {"display": f"{SYSTEM_NAME} engine {decision['engine_version']}"},
            },
            {
                "type": _concept(_PROVENANCE_AGENT, "enterer", "Enterer"),
                "who": {"identifier": {"system": USER_SYSTEM, "value": record.actor}, "display": record.actor},
            },
        ],
        "entity": [
            {
                "role": "source",
                "what": {
                    "identifier": {"system": INPUT_SHA256_SYSTEM, "value": decision["input_sha256"]},
                    "display": "canonical FHIR input",
                },
            }
        ],
    }
    validate_resource(resource, _at("Provenance"))
    if not resource["target"] or not resource["agent"]:
        raise InvalidResourceError("Provenance needs a target and an agent", location="Provenance")
    return resource


def _at(resource_type: str) -> Any:
    return lambda path: f"{resource_type}.{path}" if path else resource_type


def _check_event(event: dict[str, Any], *, patient: str | None) -> None:
    validate_resource(event, _at("AuditEvent"))
    requestors = [agent for agent in event["agent"] if agent.get("requestor")]
    if len(requestors) != 1:
        raise InvalidResourceError("a BALP AuditEvent has exactly one requesting agent", location="AuditEvent.agent")
    patients = [e for e in event["entity"] if e.get("role", {}).get("code") == "1"]
    if patient is not None and [e["what"]["reference"] for e in patients] != [patient]:
        raise InvalidResourceError("the Patient entity is missing", location="AuditEvent.entity")
