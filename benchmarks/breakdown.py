"""Where one point-of-care call's time goes, piece by piece, measured in this process (p50s).

Used by api_bench.py; each row is one step of a call, in the order a call takes them.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from eligibility.audit.database import make_engine
from eligibility.audit.migrate import upgrade

ISSUER = "https://ehr.example.org"


def medians_ms(
    fn: Callable[[], object], repeat: int = 40, before: Callable[[], object] | None = None
) -> tuple[float, float]:
    """The medians of `repeat` timed calls of `fn` in ms, wall clock and this process's CPU time (one
    untimed call first; `before` runs untimed). On a shared machine the CPU time is the steadier one:
    other work lengthens the wall clock, not (much) the CPU a call needs."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        cpu, start = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


def median_ms(fn: Callable[[], object], repeat: int = 40, before: Callable[[], object] | None = None) -> float:
    """The median wall-clock time of `repeat` calls of `fn` in ms (see medians_ms)."""
    return medians_ms(fn, repeat, before)[0]


def _cds_bundle(body: bytes) -> bytes | None:
    """What the CDS route does with a patient-view body before the worker: parse once, validate, Bundle."""
    from eligibility.api.schemas import CdsRequest, parse_json, validate
    from fhir_adapters.cds_hooks import prefetch_to_bundle

    document = parse_json(body)
    validate(CdsRequest, document)
    return prefetch_to_bundle(document)


def breakdown(bundle: dict[str, Any], cds_request: dict[str, Any], folder: Path, today: date) -> None:
    from eligibility.api.cds_auth import CdsVerifier, TrustedIssuer
    from eligibility.api.workers import ProcessEvaluator
    from eligibility.from_fhir import decide_parsed, prepare, resolve_policy
    from eligibility.service import evaluate_one, record_batch
    from fhir_adapters.cds_hooks import decision_to_cards
    from fhir_adapters.outbound import operation_result
    from fhir_adapters.parsing import read_submission
    from fhir_adapters.validated import process_cache

    raw, cds = orjson.dumps(bundle), orjson.dumps(cds_request)
    policy = resolve_policy(None)
    parsed = prepare(raw)
    cache = process_cache()
    engine = make_engine(f"sqlite:///{folder / 'breakdown.db'}")
    upgrade(engine)
    results = [evaluate_one(raw, as_of=today) for _ in range(42)]
    pending = iter(results)
    first = results[0]
    assert not hasattr(first, "error"), first
    decision = first.decision  # type: ignore[union-attr]
    pool = ProcessEvaluator(1)
    pool.start()

    async def round_trips() -> tuple[float, float]:
        walls, cpus = [], []
        for _ in range(40):
            cpu, start = time.process_time(), time.perf_counter()
            await pool.evaluate(raw, as_of=today)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
        return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3

    worker, worker_cpu = asyncio.run(round_trips())
    pool.close()
    key = ec.generate_private_key(ec.SECP384R1())
    verifier = CdsVerifier({ISSUER: TrustedIssuer(iss=ISSUER, keys={"k": key.public_key()})})
    now = int(time.time())

    def token() -> str:
        claims = {"iss": ISSUER, "aud": "http://x/cds", "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k"})

    tokens = iter([token() for _ in range(42)])
    warm = medians_ms(lambda: prepare(raw))
    cold = medians_ms(lambda: prepare(raw), before=cache.clear)
    in_process = medians_ms(lambda: evaluate_one(raw, as_of=today))
    returned = pickle.dumps(first)
    rows: list[tuple[str, tuple[float, float]]] = [
        ("read: orjson.loads of the record (the floor)", medians_ms(lambda: orjson.loads(raw))),
        ("read: envelope (JSON, Bundle, entries, json_guard)", medians_ms(lambda: read_submission(raw))),
        ("read: adapters, validation remembered", warm),
        ("validate: R4B of what the policy reads (first sight)", (cold[0] - warm[0], cold[1] - warm[1])),
        ("policy lookup (resolve_policy)", medians_ms(lambda: resolve_policy(None))),
        (
            "engine: derive + durable_rules + compose",
            medians_ms(lambda: decide_parsed(parsed, as_of=today, policy=policy, decision_id="b", evaluated_at="t")),
        ),
        ("evaluate_one in-process (seen before)", in_process),
        ("worker boundary: round trip - in-process (CPU: the server's side)", (worker - in_process[0], worker_cpu)),
        ("  of which: result unpickled + decision validated", medians_ms(lambda: pickle.loads(returned))),
        (
            "audit: record_batch, one commit (SQLite, FULL)",
            medians_ms(
                lambda: record_batch(
                    [next(pending)], actor="b", channel="fhir-api", session_factory=lambda: Session(engine)
                )
            ),
        ),
        (
            "serialise: operation_result + orjson",
            medians_ms(lambda: orjson.dumps(operation_result(decision, base_url="http://x/fhir"))),
        ),
        (
            "CDS: verify the client JWT (ES384)",
            medians_ms(lambda: verifier.verify(next(tokens), audience="http://x/cds")),
        ),
        (
            "CDS: parse + validate request, prefetch to Bundle",
            medians_ms(lambda: _cds_bundle(cds)),
        ),
        (
            "CDS: cards + orjson",
            medians_ms(
                lambda: orjson.dumps(decision_to_cards(decision, base_url="http://x/fhir", decision_url="http://x/d"))
            ),
        ),
    ]
    engine.dispose()
    print(f"\nwhere the time of one call goes (chart, in-process p50s; load average {os.getloadavg()[0]:.2f}):")
    print(f"  {'':<66} {'wall':>8} {'CPU':>8}")
    for label, (wall, cpu) in rows:
        print(f"  {label:<66} {wall:5.2f} ms {cpu:5.2f} ms")
