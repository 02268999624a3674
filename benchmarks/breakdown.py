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


def median_ms(fn: Callable[[], object], repeat: int = 40, before: Callable[[], object] | None = None) -> float:
    """The median of `repeat` timed calls of `fn` in ms (one untimed call first); `before` runs untimed."""
    fn()
    runs = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1e3


def breakdown(bundle: dict[str, Any], cds_request: dict[str, Any], folder: Path, today: date) -> None:
    from eligibility.api.cds_auth import CdsVerifier, TrustedIssuer
    from eligibility.api.schemas import CdsRequest, parse_json, validate
    from eligibility.api.workers import ProcessEvaluator
    from eligibility.from_fhir import decide_parsed, prepare, resolve_policy
    from eligibility.service import evaluate_one, record_batch
    from fhir_adapters.cds_hooks import decision_to_cards, prefetch_to_bundle
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

    async def round_trips() -> float:
        runs = []
        for _ in range(40):
            start = time.perf_counter()
            await pool.evaluate(raw, as_of=today)
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

    tokens = iter([token() for _ in range(42)])
    warm = median_ms(lambda: prepare(raw))
    cold = median_ms(lambda: prepare(raw), before=cache.clear)
    in_process = median_ms(lambda: evaluate_one(raw, as_of=today))
    returned = pickle.dumps(first)
    rows = [
        ("read: orjson.loads of the record (the floor)", median_ms(lambda: orjson.loads(raw))),
        ("read: envelope (JSON, Bundle, entries)", median_ms(lambda: read_submission(raw))),
        ("read: adapters, validation remembered", warm),
        ("validate: R4B of what the policy reads (first sight)", cold - warm),
        ("policy lookup (resolve_policy)", median_ms(lambda: resolve_policy(None))),
        (
            "engine: derive + durable_rules + compose",
            median_ms(lambda: decide_parsed(parsed, as_of=today, policy=policy, decision_id="b", evaluated_at="t")),
        ),
        ("evaluate_one in-process (seen before)", in_process),
        ("worker boundary: round trip - in-process", worker - in_process),
        ("  of which: result unpickled + decision validated", median_ms(lambda: pickle.loads(returned))),
        (
            "audit: record_batch, one commit (SQLite, FULL)",
            median_ms(
                lambda: record_batch(
                    [next(pending)], actor="b", channel="fhir-api", session_factory=lambda: Session(engine)
                )
            ),
        ),
        (
            "serialise: operation_result + orjson",
            median_ms(lambda: orjson.dumps(operation_result(decision, base_url="http://x/fhir"))),
        ),
        ("CDS: verify the client JWT (ES384)", median_ms(lambda: verifier.verify(next(tokens), audience="http://x/cds"))),
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
    print(f"\nwhere the time of one call goes (chart, in-process p50s; load average {os.getloadavg()[0]:.2f}):")
    for label, ms in rows:
        print(f"  {label:<56} {ms:7.2f} ms")
