"""How fast does the running service answer, and how does that compare with evaluating in-process?

Starts the service (uvicorn, a subprocess on 127.0.0.1, SQLite in a temporary folder), builds a
realistic 200-entry record (a CRPS patient with conditions, about 150 observations including pain
scores, medications, procedures and encounters) and drives it with concurrent clients:

- `POST /fhir/Patient/$drg-candidacy` with an API token,
- `POST /cds-services/drg-candidacy` with the record as prefetch and a client JWT (signed beforehand,
  one per call: a JWT is single-use),

printing p50/p95/p99 latency and throughput per endpoint and concurrency, the in-process `decide()`
time on the same record, and the ratio of the two. Then, in-process, where the time of one call goes.

    python benchmarks/api_bench.py [--requests 300] [--concurrency 1 4 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from eligibility.api.users import Role, add_user
from eligibility.audit.database import make_engine
from eligibility.audit.migrate import upgrade
from eligibility.pipeline import decide
from fhir_adapters.cds_hooks import SERVICE_ID, prefetch_templates

TODAY = date.today()
ISSUER = "https://ehr.example.org"
LOINC, SNOMED, CPT = "http://loinc.org", "http://snomed.info/sct", "http://www.ama-assn.org/go/cpt"
RXNORM, ICD10 = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/icd-10-cm"
PATIENT = "Patient/bench-1"
FHIR_PATH = "/fhir/Patient/$drg-candidacy"
CDS_PATH = f"/cds-services/{SERVICE_ID}"
Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def observation(n: int, code: str, display: str, value: dict[str, Any], days_ago: int, category: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}
        ],
        "code": coding(LOINC, code, display),
        "subject": {"reference": PATIENT},
        "effectiveDateTime": day(days_ago),
        **value,
    }


def record() -> dict[str, Any]:
    """200 entries: 1 Patient, 4 Conditions, 150 Observations, 12 medications, 18 Procedures, 15 Encounters."""
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "bench-1", "gender": "female", "birthDate": "1979-05-02"},
        {
            "resourceType": "Condition",
            "id": "dx-crps",
            "clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
            "verificationStatus": coding(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"
            ),
            "code": {
                "coding": [
                    {"system": ICD10, "code": "G90.522", "display": "CRPS I of left lower limb"},
                    {"system": SNOMED, "code": "128200000", "display": "Complex regional pain syndrome"},
                ]
            },
            "bodySite": [coding(SNOMED, "56459004", "Foot structure")],
            "subject": {"reference": PATIENT},
            "onsetDateTime": day(700),
        },
    ]
    for n, (code, display) in enumerate(
        [("38341003", "Hypertension"), ("44054006", "Type 2 diabetes"), ("35489007", "Depression")]
    ):
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"dx-{n}",
                "clinicalStatus": coding(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
                ),
                "code": coding(SNOMED, code, display),
                "subject": {"reference": PATIENT},
                "onsetDateTime": day(2000 + n),
            }
        )
    for n in range(150):  # pain scores every ~5 days over two years, vitals in between
        if n % 3 == 0:
            resources.append(
                observation(
                    n,
                    "8867-4",
                    "Heart rate",
                    {"valueQuantity": {"value": 70 + n % 9, "unit": "/min"}},
                    n * 5,
                    "vital-signs",
                )
            )
        else:
            resources.append(
                observation(n, "72514-3", "Pain severity 0-10", {"valueInteger": 6 + n % 3}, n * 5, "survey")
            )
    resources[-1] = observation(
        149,
        "72166-2",
        "Tobacco smoking status",
        {"valueCodeableConcept": coding(SNOMED, "8517006", "Ex-smoker")},
        30,
        "social-history",
    )
    meds = [
        ("25480", "gabapentin", "completed"),
        ("72625", "duloxetine", "completed"),
        ("5640", "ibuprofen", "active"),
        ("7804", "oxycodone", "stopped"),
    ]
    for n in range(12):
        rxnorm, name, status = meds[n % len(meds)]
        resources.append(
            {
                "resourceType": "MedicationStatement",
                "id": f"med-{n}",
                "status": status,
                "medicationCodeableConcept": coding(RXNORM, rxnorm, name),
                "subject": {"reference": PATIENT},
                "effectivePeriod": {"start": day(600 - n * 20), "end": day(500 - n * 20)},
                "reasonCode": [coding(SNOMED, "128200000", "Complex regional pain syndrome")],
            }
        )
    for n in range(14):
        resources.append(_procedure(f"pt-{n}", "97110", "Therapeutic exercise", 400 - n * 4))
    resources.append(_procedure("block-1", "64520", "Lumbar or thoracic paravertebral sympathetic block", 200))
    resources.append(_procedure("block-2", "64520", "Lumbar or thoracic paravertebral sympathetic block", 150))
    resources.append(_procedure("psych-eval", "90791", "Psychiatric diagnostic evaluation", 60))
    resources.append(_procedure("xray", "73630", "X-ray of foot", 650))
    for n in range(15):
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"enc-{n}",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "type": [coding(SNOMED, "185349003", "Encounter for check up")],
                "subject": {"reference": PATIENT},
                "period": {"start": day(n * 40), "end": day(n * 40)},
            }
        )
    assert len(resources) == 200, len(resources)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, r['resourceType'] + r['id'])}", "resource": r}
            for r in resources
        ],
    }


def _procedure(ident: str, code: str, display: str, days_ago: int) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": ident,
        "status": "completed",
        "code": coding(CPT, code, display),
        "subject": {"reference": PATIENT},
        "performedDateTime": day(days_ago),
    }


def cds_body(bundle: dict[str, Any]) -> dict[str, Any]:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry)
    plural = {
        "conditions": "Condition",
        "observations": "Observation",
        "procedures": "Procedure",
        "medicationRequests": "MedicationRequest",
        "medicationStatements": "MedicationStatement",
        "medicationAdministrations": "MedicationAdministration",
        "encounters": "Encounter",
        "devices": "Device",
        "allergyIntolerances": "AllergyIntolerance",
    }
    prefetch: dict[str, Any] = {"patient": by_type["Patient"][0]["resource"]}
    for key, resource_type in plural.items():
        found = by_type.get(resource_type)
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": found} if found else None
    assert set(prefetch) == set(prefetch_templates())
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "bench-1"},
        "prefetch": prefetch,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def drive(base: str, calls: list[Call], concurrency: int) -> tuple[list[float], float]:
    """Run the prepared calls with `concurrency` clients; per-call latencies (s) and wall time."""
    queue = list(reversed(calls))
    latencies: list[float] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while queue:
                call = queue.pop()
                start = time.perf_counter()
                response = await call(http)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise SystemExit(f"{response.status_code}: {response.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def in_process_ms(raw: bytes, repeat: int = 50) -> float:
    decide(raw, as_of=TODAY, decision_id="bench", evaluated_at="2026-01-01T00:00:00Z")
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        decide(raw, as_of=TODAY, decision_id="bench", evaluated_at="2026-01-01T00:00:00Z")
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1e3


def median_ms(fn: Callable[[], object], repeat: int = 30) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1e3


def breakdown(raw: bytes, cds: bytes, folder: Path) -> None:
    """Where one call's time goes, measured piece by piece in this process (medians)."""
    from eligibility.api.cds_auth import CdsVerifier, TrustedIssuer
    from eligibility.api.schemas import CdsRequest, parse_json, validate
    from eligibility.api.workers import ProcessEvaluator
    from eligibility.pipeline import decide_parsed, prepare
    from eligibility.policy import load_policy
    from eligibility.service import evaluate_one, record_batch
    from fhir_adapters.cds_hooks import decision_to_cards, prefetch_to_bundle
    from fhir_adapters.outbound import operation_result

    policy = load_policy()
    parsed = prepare(raw)
    engine = make_engine(f"sqlite:///{folder / 'breakdown.db'}")
    upgrade(engine)
    results = [evaluate_one(raw, as_of=TODAY) for _ in range(31)]
    pending = iter(results)
    decision = results[0].decision  # type: ignore[union-attr]
    pool = ProcessEvaluator(1)
    pool.start()

    async def round_trips() -> float:
        runs = []
        for _ in range(30):
            start = time.perf_counter()
            await pool.evaluate(raw, as_of=TODAY)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs) * 1e3

    worker = asyncio.run(round_trips())
    pool.close()
    key = ec.generate_private_key(ec.SECP384R1())
    verifier = CdsVerifier({ISSUER: TrustedIssuer(iss=ISSUER, keys={"k": key.public_key()})})
    now = int(time.time())

    def token() -> str:
        claims = {"iss": ISSUER, "aud": "http://x/cds", "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k"})

    tokens = iter([token() for _ in range(31)])
    rows = [
        ("orjson.loads of the record (the floor)", median_ms(lambda: orjson.loads(raw))),
        ("adapters: parse + R4B validation + projection", median_ms(lambda: prepare(raw))),
        (
            "engine: derive + durable_rules + compose",
            median_ms(lambda: decide_parsed(parsed, as_of=TODAY, policy=policy, decision_id="b", evaluated_at="t")),
        ),
        ("evaluate_one in a worker, round trip (IPC incl.)", worker),
        (
            "audit: record_batch, one commit (SQLite, FULL)",
            median_ms(
                lambda: record_batch(
                    [next(pending)], actor="b", channel="fhir-api", session_factory=lambda: Session(engine)
                )
            ),
        ),
        (
            "render: operation_result + orjson",
            median_ms(lambda: orjson.dumps(operation_result(decision, base_url="http://x/fhir"))),
        ),
        (
            "CDS: verify the client JWT (ES384)",
            median_ms(lambda: verifier.verify(next(tokens), audience="http://x/cds")),
        ),
        (
            "CDS: parse + validate request, prefetch to Bundle",
            median_ms(lambda: prefetch_to_bundle(validate(CdsRequest, parse_json(cds)) and parse_json(cds))),
        ),
        (
            "CDS: cards + orjson",
            median_ms(
                lambda: orjson.dumps(decision_to_cards(decision, base_url="http://x/fhir", decision_url="http://x/d"))
            ),
        ),
    ]
    engine.dispose()
    print("\nwhere the time of one call goes (in-process medians):")
    for label, ms in rows:
        print(f"  {label:<52} {ms:7.2f} ms")


@contextmanager
def running_server(folder: Path, workers: int) -> Iterator[Server]:
    """The service in a subprocess (uvicorn, as `drg-eligibility serve` runs it) on a fresh SQLite file."""
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        token = add_user(session, name="bench", role=Role.REFERRER, actor="bench", channel="cli")
        session.commit()
    engine.dispose()
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**orjson.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "k1"}
    (folder / "issuers.json").write_bytes(orjson.dumps({"issuers": {ISSUER: {"jwks": {"keys": [jwk]}}}}))
    port = free_port()
    env = {
        **os.environ,
        "DRG_ELIGIBILITY_DATABASE_URL": url,
        "DRG_ELIGIBILITY_API_CDS_ISSUERS": str(folder / "issuers.json"),
        "DRG_ELIGIBILITY_API_WORKERS": str(workers),
    }
    command = [sys.executable, "-m", "uvicorn", "eligibility.api.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env)
    server = Server(base=f"http://127.0.0.1:{port}", token=token, key=key)
    try:
        deadline = time.monotonic() + 60
        while not server.healthy():
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass(frozen=True)
class Server:
    base: str
    token: str
    key: ec.EllipticCurvePrivateKey

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/health").status_code == 200
        except httpx.TransportError:
            return False

    def fhir_calls(self, raw: bytes, n: int) -> list[Call]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/fhir+json"}
        params = {"asOf": TODAY.isoformat()}
        return [lambda http: http.post(FHIR_PATH, content=raw, headers=headers, params=params)] * n

    def cds_calls(self, body: bytes, n: int) -> list[Call]:
        """Each with its own JWT, signed now, before the clock starts (a JWT is single-use)."""
        now = int(time.time())

        def one() -> Call:
            claims = {"iss": ISSUER, "sub": "bench", "aud": self.base + CDS_PATH, "iat": now, "exp": now + 280}
            signed = jwt.encode(
                {**claims, "jti": str(uuid.uuid4())}, self.key, algorithm="ES384", headers={"kid": "k1"}
            )
            headers = {"Authorization": f"Bearer {signed}", "Content-Type": "application/json"}
            return lambda http: http.post(CDS_PATH, content=body, headers=headers)

        return [one() for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="timed calls per endpoint and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    bundle = record()
    raw = orjson.dumps(bundle)
    cds = orjson.dumps(cds_body(bundle))
    decided = decide(raw, as_of=TODAY, decision_id="bench", evaluated_at="2026-01-01T00:00:00Z")
    print(f"record: {len(bundle['entry'])} entries, {len(raw) / 1024:.0f} KB; outcome {decided.outcome}")
    baseline = in_process_ms(raw)
    print(f"in-process decide(): {baseline:.1f} ms (median); {args.workers} workers, {os.cpu_count()} CPUs")
    # Other work on the machine shows up in every number below; the load average says how much.
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with running_server(folder, args.workers) as server:
            asyncio.run(drive(server.base, server.fhir_calls(raw, 20) + server.cds_calls(cds, 20), 2))  # warm-up
            header = f"{'endpoint':<34} {'clients':>7} {'calls':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
            print(f"{header} {'req/s':>6} {'p50/in-process':>15}")
            print("-" * (len(header) + 23))
            for name, make in ((FHIR_PATH, server.fhir_calls), (CDS_PATH, server.cds_calls)):
                for concurrency in args.concurrency:
                    payload = raw if make == server.fhir_calls else cds
                    latencies, wall = asyncio.run(drive(server.base, make(payload, args.requests), concurrency))
                    p50, p95, p99 = (percentile(latencies, q) * 1e3 for q in (50, 95, 99))
                    print(
                        f"POST {name:<29} {concurrency:>7} {len(latencies):>6} {p50:7.1f} {p95:7.1f} {p99:7.1f} "
                        f"{len(latencies) / wall:6.0f} {p50 / baseline:14.2f}x"
                    )
        breakdown(raw, cds, folder)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
