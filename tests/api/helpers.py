"""Shared pieces of the API tests: records to submit, CDS client keys and JWTs, audit queries."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import Engine

from eligibility.audit.database import read_session
from eligibility.audit.store import StoredRecord, iter_records

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "cases"
EXAMPLE = REPO / "examples" / "crps-left-foot.json"
AS_OF = "2026-11-20"
BASE = "http://testserver"
ISSUER = "https://ehr.example.org"
RSA_ISSUER = "https://other-ehr.example.org"
CLIENT = "drg-cds-client"


def case(name: str) -> dict[str, Any]:
    """A decision case file's bundle and as_of (tests/cases)."""
    document = orjson.loads(next(CASES.glob(f"{name}*.json")).read_bytes())
    return {"bundle": document["bundle"], "as_of": document["as_of"], "expected": document["expected"]}


_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)$", re.S)


def _shift(value: Any, days: timedelta) -> Any:
    if isinstance(value, dict):
        return {k: _shift(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, days) for v in value]
    if isinstance(value, str) and (match := _DAY.match(value)):
        return (date.fromisoformat(match[1]) + days).isoformat() + match[2]
    return value


def case_today(name: str) -> dict[str, Any]:
    """A case moved in time so that its as_of is today: CDS Hooks calls are evaluated as of today."""
    found = case(name)
    days = date.today() - date.fromisoformat(found["as_of"])
    return {**found, "bundle": _shift(found["bundle"], days), "as_of": date.today().isoformat()}


def example() -> bytes:
    return EXAMPLE.read_bytes()


def patient_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


class ClientKeys:
    """A CDS client's signing keys: EC P-384 (ES384) with a kid, and an RSA key (RS384) for a second issuer."""

    def __init__(self) -> None:
        self.ec = ec.generate_private_key(ec.SECP384R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "ehr-key-1"

    def jwks(self) -> dict[str, Any]:
        public = orjson.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES384"}]}

    def write_issuers(self, folder: Path, **extra: Any) -> Path:
        from cryptography.hazmat.primitives import serialization

        (folder / "ehr-jwks.json").write_bytes(orjson.dumps(self.jwks()))
        pem = self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (folder / "other.pem").write_bytes(pem)
        config = {
            "issuers": {
                ISSUER: {"jwks_file": "ehr-jwks.json", "subjects": [CLIENT], **extra},
                RSA_ISSUER: {"pem_file": "other.pem"},
            }
        }
        path = folder / "cds-issuers.json"
        path.write_bytes(orjson.dumps(config))
        return path

    def token(
        self,
        path: str,
        *,
        base: str = BASE,
        claims: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        algorithm: str = "ES384",
        key: Any = None,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": CLIENT,
            "aud": base + path,
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
        }
        payload.update(claims or {})
        payload = {k: v for k, v in payload.items() if v is not None}
        header = {k: v for k, v in {"kid": self.kid, "typ": "JWT", **(headers or {})}.items() if v is not None}
        signing_key = key if key is not None else (self.ec if algorithm.startswith("ES") else self.rsa)
        return jwt.encode(payload, signing_key, algorithm=algorithm, headers=header)

    def auth(self, path: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path, **kwargs)}"}


def records(engine: Engine, kind: str | None = None) -> list[StoredRecord]:
    """The audit trail, oldest first (optionally one kind of record)."""
    with read_session(engine) as session:
        return [r for r in iter_records(session) if kind is None or r.kind == kind]


def cds_request(bundle: dict[str, Any], *, hook: str = "patient-view", **extra: Any) -> dict[str, Any]:
    """A CDS Hooks request whose prefetch satisfies every template, from a case bundle."""
    from fhir_adapters.cds_hooks import prefetch_resource_types, prefetch_templates

    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry)
    patient = patient_of(bundle)
    keys = prefetch_resource_types()
    prefetch: dict[str, Any] = {"patient": patient}
    for key, resource_type in keys.items():
        entries = by_type.get(resource_type, [])
        if resource_type.startswith("Medication"):
            entries = entries + [e for e in by_type.get("Medication", []) if resource_type == "MedicationRequest"]
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else None
    assert set(prefetch) == set(prefetch_templates())
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient["id"]},
        "prefetch": prefetch,
        **extra,
    }
