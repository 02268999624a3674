"""Audit trail throughput: append (one commit per record, and batched) and verify, per backend.

    python benchmarks/audit_bench.py [--records 100000] [--batch 1000] [--single-seconds 30]
                                     [--backend sqlite --backend postgresql]

Each record is a real decision record (the engine's decision for a test bundle, with a fresh id and
patient) plus its own distinct canonical input, appended through `eligibility.audit.store` exactly as
the service does. Only the append and the commit are timed, not building the records.

- single: one transaction and commit per record, for up to --single-seconds or --records records
  (whichever comes first; the n used is printed), on top of an empty trail;
- batched: --records records, --batch per transaction;
- verify: a full `verify` of the resulting trail (chain, checkpoints, inputs).

PostgreSQL is the server at DRG_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the benchmark works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson
import sqlalchemy
from databases import postgres_shown, postgres_url, postgres_version, sqlite_url
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from eligibility.audit import store
from eligibility.audit.chain import sha256_hex
from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import make_engine, read_session
from eligibility.audit.migrate import upgrade
from eligibility.audit.verify import verify
from eligibility.decision import Decision, PatientRef
from eligibility.from_fhir import decide

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_BUNDLE = ROOT / "tests" / "audit" / "fixtures" / "crps-foot-eligible.json"
SIGNER = Signer(key=b"benchmark-key-0123456789abcdef0123", every=100)


@dataclass(slots=True)
class Result:
    backend: str
    single_n: int
    single_s: float
    batched_n: int
    batched_s: float
    verify_n: int
    verify_s: float
    verify_ok: bool


class Records:
    """Decision records cloned from one real decision, each with its own patient and input."""

    def __init__(self) -> None:
        self.template = decide(
            TEMPLATE_BUNDLE.read_bytes(),
            as_of=date(2026, 6, 1),
            decision_id="template",
            evaluated_at="2026-06-01T09:00:00.000000Z",
        )
        self.record_bytes = len(orjson.dumps(self.template.to_json_dict()))
        self.input_bytes = len(self._input(0))
        self.counter = 0

    @staticmethod
    def _input(n: int) -> bytes:
        entry = {"resource": {"resourceType": "Patient", "id": f"bench-{n}", "birthDate": "1980-01-01"}}
        return orjson.dumps({"entry": [entry] * 8, "resourceType": "Bundle", "type": "collection"})

    def pending(self, count: int) -> store.PendingAppend:
        pending = store.PendingAppend()
        for _ in range(count):
            self.counter += 1
            body = self._input(self.counter)
            decision: Decision = self.template.model_copy(
                update={
                    "decision_id": str(uuid.uuid4()),
                    "patient": PatientRef(reference=f"Patient/bench-{self.counter}"),
                    "input_sha256": sha256_hex(body),
                }
            )
            pending.add_decision(decision, body, actor="benchmark", channel="batch")
        return pending


def timed_appends(
    engine: Engine, records: Records, *, total: int, batch: int, budget_s: float | None
) -> tuple[int, float]:
    appended, spent = 0, 0.0
    while appended < total and (budget_s is None or spent < budget_s):
        pending = records.pending(min(batch, total - appended))
        started = time.perf_counter()
        with Session(engine) as session:
            pending.append_to(session, signer=SIGNER)
            session.commit()
        spent += time.perf_counter() - started
        appended += len(pending.records)
    return appended, spent


def run(backend: str, url: str, args: argparse.Namespace, records: Records) -> Result:
    engine = make_engine(url)
    try:
        upgrade(engine)
        single_n, single_s = timed_appends(engine, records, total=args.records, batch=1, budget_s=args.single_seconds)
        batched_n, batched_s = timed_appends(engine, records, total=args.records, batch=args.batch, budget_s=None)
        with read_session(engine) as session:
            report = verify(session, signer=SIGNER)
        return Result(backend, single_n, single_s, batched_n, batched_s, report.records, report.elapsed_s, report.ok)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--single-seconds", type=float, default=30.0)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgresql"]

    records = Records()
    print(f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {os.cpu_count()} CPUs")
    print(
        f"per record: decision record {records.record_bytes} B of JSON + its own canonical input "
        f"{records.input_bytes} B; checkpoint every {SIGNER.every} records; batch {args.batch}"
    )
    results = []
    for backend in backends:
        if backend == "sqlite":
            context = sqlite_url("audit-bench")
            label = "SQLite (file, WAL, synchronous=FULL)"
        else:
            version = postgres_version()
            if version is None:
                print(f"PostgreSQL skipped: unreachable at {postgres_shown()}")
                continue
            label, context = f"PostgreSQL {version}", postgres_url("audit-bench")
        with context as url:
            print(f"\n{label}: running …", flush=True)
            results.append((label, run(backend, url, args, records)))

    header = (
        f"\n{'backend':<38} {'single n':>9} {'single rec/s':>13} {'batched n':>10} {'batched rec/s':>14} "
        f"{'verify n':>9} {'verify rec/s':>13} {'batched/single':>15} {'verify/batched':>15}"
    )
    print(header)
    print("-" * (len(header) - 1))
    for label, r in results:
        single_rate = r.single_n / r.single_s
        batched_rate = r.batched_n / r.batched_s
        verify_rate = r.verify_n / r.verify_s
        print(
            f"{label:<38} {r.single_n:>9,} {single_rate:>13,.0f} {r.batched_n:>10,} {batched_rate:>14,.0f} "
            f"{r.verify_n:>9,} {verify_rate:>13,.0f} "
            f"{batched_rate / single_rate:>14.1f}x {verify_rate / batched_rate:>14.1f}x"
        )
        if not r.verify_ok:
            print(f"  !! verify reported problems on {label}")


if __name__ == "__main__":
    main()
