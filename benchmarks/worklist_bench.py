"""The lists with 100,000 decisions in the trail: one page of each, per backend, against 300 ms.

    python benchmarks/worklist_bench.py [--decisions 100000] [--queue-share 0.05]
                                        [--backend sqlite --backend postgresql] [--repeat 5]

The trail is filled through the store's real append path (`PendingAppend.append_to`, 5,000
decisions per transaction, so the worklist index is filled in the append as in production): each
decision is a clone of the engine's real decision for a test bundle with its own id, patient,
outcome and canonical input (a Patient with a name, an MRN, a birth date and a sex, and a few
Conditions), so every index row's patient header is read from a real stored input.

Two trails per backend:
- "screening": --queue-share of the decisions at the point of care (four referrers, a third of them
  reviewed), the rest one screening run (the issue's "trail that also holds a 100k-patient run");
- "queue": every decision at the point of care (the review queue itself holds 100,000).

Timed (median of --repeat after one warm-up; each is what the page's route asks the database for:
the counts per outcome, the page's rows, the referrers; on PostgreSQL after a VACUUM ANALYZE of the
index table, as autovacuum does after a bulk load): the worklist's first page, a deep page,
an outcome filter, a patient search (by name: a substring, so no index helps), a referrer's own view;
the screening runs list, a run's first and last page, its outcome filter and patient search; and the
whole run as CSV (not a page; for scale); then whole pages over HTTP through the app (in-process
ASGI client: the session check, the queries and the template). For reference, "read all": reading and parsing every
decision record, which is what the worklist did for each page before the index.

PostgreSQL is the server at DRG_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the benchmark works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import orjson
import sqlalchemy
from databases import postgres_shown, postgres_url, postgres_version, sqlite_url
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from eligibility.api.auth import Principal
from eligibility.api.users import Role
from eligibility.audit import guard, store
from eligibility.audit.chain import sha256_hex
from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import make_engine, read_session
from eligibility.audit.migrate import upgrade
from eligibility.audit.models import KIND_DECISION, KIND_REVIEW
from eligibility.decision import Decision, PatientRef
from eligibility.from_fhir import decide
from eligibility.web.screening import load_run, load_runs, run_csv_lines
from eligibility.web.worklist import Filters, load_worklist

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_BUNDLE = ROOT / "tests" / "audit" / "fixtures" / "crps-foot-eligible.json"
KEY = b"benchmark-key-0123456789abcdef0123"
SIGNER = Signer(key=KEY, every=1000)
TARGET_MS = 300.0
CHUNK = 5000
RUN_ID = "b3d0c6a2-8f14-4e55-9c1e-2a7b5d9e0f31"
REFERRERS = ("dr.rivera", "dr.okafor", "dr.haddad", "dr.lindqvist")
GIVEN = ("Maria", "James", "Aisha", "Wei", "Olga", "Tomás", "Priya", "Kwame", "Sofia", "Noah", "Yuki", "Amara")
FAMILY = ("Okafor", "Smith", "Khan", "Chen", "Novak", "García", "Patel", "Mensah", "Rossi", "Müller", "Sato", "Diallo")
# A screening population is mostly not eligible; the shares are illustrative, not clinical.
OUTCOME_MIX = (
    ("NOT_ELIGIBLE", 45), ("NEEDS_REVIEW", 20), ("INSUFFICIENT_INFORMATION", 15),
    ("ELIGIBLE_FOR_TRIAL", 12), ("ELIGIBLE_WITH_CONDITIONS", 8),
)  # fmt: skip
OUTCOME_CYCLE = [outcome for outcome, share in OUTCOME_MIX for _ in range(share)]
SEARCHED = ("Zora Whitfield-Adeyemi", "7730012")  # one patient among the 100,000, found by name or MRN


class Trail:
    """Decisions cloned from one real decision, each with its own patient, outcome and input."""

    def __init__(self) -> None:
        self.template = decide(
            TEMPLATE_BUNDLE.read_bytes(),
            as_of=date(2026, 6, 1),
            decision_id="template",
            evaluated_at="2026-06-01T09:00:00.000000Z",
        )
        self.counter = 0

    @staticmethod
    def body(n: int, name: str, mrn: str) -> bytes:
        given, family = name.rsplit(" ", 1)
        patient = {
            "resourceType": "Patient", "id": f"bench-{n}", "birthDate": f"{1940 + n % 60}-0{1 + n % 9}-1{n % 10}",
            "gender": ("female", "male")[n % 2], "name": [{"use": "official", "family": family, "given": [given]}],
            "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                 "code": "MR"}]}, "system": "urn:oid:2.16.840.1.113883.19.5",
                            "value": mrn}],
        }  # fmt: skip
        condition = {
            "resourceType": "Condition", "subject": {"reference": f"Patient/bench-{n}"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "128200000"}]},
            "onsetDateTime": "2024-01-15",
        }  # fmt: skip
        entries = [{"resource": patient}] + [{"resource": {**condition, "id": f"c{n}-{k}"}} for k in range(4)]
        return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})

    def pending(self, count: int, *, channel: str, run_id: str | None, searched_at: int | None) -> store.PendingAppend:
        pending = store.PendingAppend()
        for _ in range(count):
            n = self.counter = self.counter + 1
            name, mrn = (SEARCHED if n == searched_at else
                         (f"{GIVEN[n % 12]} {FAMILY[(n // 12) % 12]}-{n:06d}", f"{n:07d}"))  # fmt: skip
            body = self.body(n, name, mrn)
            decision: Decision = self.template.model_copy(
                update={
                    "decision_id": str(uuid.uuid4()),
                    "patient": PatientRef(reference=f"Patient/bench-{n}"),
                    "input_sha256": sha256_hex(body),
                    "outcome": OUTCOME_CYCLE[n % len(OUTCOME_CYCLE)],
                }
            )
            actor = "batch" if run_id else REFERRERS[n % len(REFERRERS)]
            pending.add_decision(decision, body, actor=actor, channel=channel, run_id=run_id)
        return pending


def fill(engine: Engine, total: int, queue: int) -> float:
    """`queue` point-of-care decisions (a third reviewed), then the rest as one screening run; seconds."""
    trail = Trail()
    started = time.perf_counter()
    searched_at = max(1, queue // 2) if queue else total // 2
    for kind, count in (("queue", queue), ("run", total - queue)):
        for offset in range(0, count, CHUNK):
            size = min(CHUNK, count - offset)
            pending = trail.pending(
                size, channel="batch" if kind == "run" else "fhir-api", run_id=RUN_ID if kind == "run" else None,
                searched_at=searched_at,
            )  # fmt: skip
            with Session(engine) as session:
                stored = pending.append_to(session, signer=SIGNER)
                if kind == "queue":
                    accept = {"action": "accept", "reason_code": "agree", "comment": "", "recorded_outcome": "x",
                              "outcome": "x"}  # fmt: skip
                    reviews = [
                        store.NewRecord(kind=KIND_REVIEW, actor="dr.chen", channel="web", payload=accept,
                                        decision_id=record.decision_id, patient_ref=record.patient_ref)
                        for record in stored[::3]
                    ]  # fmt: skip
                    store.append_records(session, reviews, signer=SIGNER)
                session.commit()
    return time.perf_counter() - started


def settle(engine: Engine) -> None:
    """PostgreSQL: VACUUM ANALYZE the index table, as autovacuum does within a minute or so of a bulk
    load (statistics for the planner, the visibility map for index-only scans). SQLite: nothing."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE audit_worklist"))


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm-up: the first query of a kind pays for planning and cold pages
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def read_all(session: Session) -> int:
    n = 0
    for record in store.iter_records(session, kinds=[KIND_DECISION, KIND_REVIEW]):
        record.data()
        n += 1
    return n


def measure(engine: Engine, repeat: int, *, with_run: bool) -> list[tuple[str, float]]:
    referrer = Principal(name="dr.okafor", role=Role.REFERRER, since="2000-01-01")
    results: list[tuple[str, float]] = []
    with read_session(engine) as session:
        first = load_worklist(session, Filters())
        deep = max(1, first.page.pages // 2)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("worklist: first page (awaiting review)", lambda: load_worklist(session, Filters())),
            (f"worklist: page {deep:,} of {first.page.pages:,}", lambda: load_worklist(session, Filters(), page=deep)),
            ("worklist: outcome ELIGIBLE_WITH_CONDITIONS, all states",
             lambda: load_worklist(session, Filters(state="all", outcome="ELIGIBLE_WITH_CONDITIONS"))),
            ("worklist: patient search by name, all states",
             lambda: load_worklist(session, Filters(state="all", patient="whitfield"))),
            ("worklist: patient search by MRN",
             lambda: load_worklist(session, Filters(state="all", patient="7730012"))),
            ("worklist: a referrer's own, all states",
             lambda: load_worklist(session, Filters(state="all"), only_referrer=referrer)),
        ]  # fmt: skip
        if with_run:
            run = load_run(session, RUN_ID, Filters())
            assert run is not None
            last = run.page.pages
            cases += [
                ("screening: runs list", lambda: load_runs(session)),
                ("screening: run, first page", lambda: load_run(session, RUN_ID, Filters())),
                (f"screening: run, page {last:,} of {last:,}", lambda: load_run(session, RUN_ID, Filters(), page=last)),
                ("screening: run, outcome ELIGIBLE_FOR_TRIAL",
                 lambda: load_run(session, RUN_ID, Filters(outcome="ELIGIBLE_FOR_TRIAL"))),
                ("screening: run, patient search by name",
                 lambda: load_run(session, RUN_ID, Filters(patient="whitfield"))),
            ]  # fmt: skip
        for label, action in cases:
            results.append((label, median_ms(action, repeat)))
        found = load_worklist(session, Filters(state="all", patient="whitfield")).rows
        found_in_run = load_run(session, RUN_ID, Filters(patient="whitfield")) if with_run else None
        assert found or (found_in_run and found_in_run.rows), "the searched patient was not found"
        if with_run:
            started = time.perf_counter()
            lines = sum(1 for _ in run_csv_lines(session, RUN_ID))
            csv_ms = (time.perf_counter() - started) * 1000
            results.append((f"(whole run as CSV, {lines - 1:,} rows: not a page)", csv_ms))
        started = time.perf_counter()
        records = read_all(session)
        results.append((f"(read all: {records:,} records parsed, the old worklist's cost per page)",
                        (time.perf_counter() - started) * 1000))  # fmt: skip
    return results


class _NoEvaluator:
    """The pages never evaluate: no pool of rule workers for the HTTP timings."""

    async def evaluate(self, raw: bytes, *, as_of: date, policy: str | None = None) -> object:
        raise AssertionError("the worklist benchmark does not evaluate")

    def close(self) -> None:
        return None


def http_pages(engine: Engine, repeat: int, *, with_run: bool) -> list[tuple[str, float]]:
    """Whole pages through the app (session check, queries, template), as a browser gets them."""
    import re

    from fastapi.testclient import TestClient

    from eligibility.api.users import add_user
    from eligibility.app import create_app
    from eligibility.settings import get_settings

    # The server's start-up checks and its appends (the login) read the process's settings: the
    # benchmark's key, and a witness of its own in a temporary directory (adopted from the checkpoints).
    witness = Path(tempfile.mkdtemp(prefix="worklist-bench-witness-")) / "trail.witness.jsonl"
    os.environ.update(
        DRG_ELIGIBILITY_ENVIRONMENT="test",
        DRG_ELIGIBILITY_AUDIT_HMAC_KEY=KEY.decode(),
        DRG_ELIGIBILITY_AUDIT_WITNESS_PATH=str(witness),
    )
    get_settings.cache_clear()
    with Session(engine) as session:
        token = add_user(session, name="bench.specialist", role=Role.SPECIALIST, actor="bench", channel="cli")
        session.commit()
    app = create_app(get_settings(), session_factory=lambda: Session(engine), evaluator=_NoEvaluator())  # type: ignore[arg-type]
    paths = [("HTTP: /ui/worklist", "/ui/worklist"), ("HTTP: /ui/worklist?state=all&patient=whitfield",
             "/ui/worklist?state=all&patient=whitfield")]  # fmt: skip
    if with_run:
        with read_session(engine) as session:
            run = load_run(session, RUN_ID, Filters())
            last = run.page.pages if run is not None else 1
        paths += [("HTTP: /ui/screening", "/ui/screening"), (f"HTTP: /ui/screening/{RUN_ID[:8]}…?page={last}",
                  f"/ui/screening/{RUN_ID}?page={last}")]  # fmt: skip
    results = []
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        form = client.get("/ui/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        signed_in = client.post("/ui/login", data={"token": token, "csrf": csrf[1], "next": "/ui/worklist"})
        assert signed_in.status_code == 303, signed_in.text
        for label, path in paths:

            def get(path: str = path) -> None:
                response = client.get(path)
                assert response.status_code == 200, response.text[:500]

            results.append((label, median_ms(get, repeat)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--queue-share", type=float, default=0.05, help="point-of-care share of the screening trail")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--scenario", action="append", choices=["screening", "queue"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {os.cpu_count()} CPUs")
    print(f"target: {TARGET_MS:.0f} ms a page; median of {args.repeat} after a warm-up")
    for backend in args.backend or ["sqlite", "postgresql"]:
        if backend == "postgresql":
            version = postgres_version()
            if version is None:
                print(f"\nPostgreSQL skipped: unreachable at {postgres_shown()}")
                continue
            label, context = f"PostgreSQL {version}", postgres_url
        else:
            label, context = "SQLite (file, WAL)", sqlite_url
        for scenario in args.scenario or ["screening", "queue"]:
            queue = round(args.decisions * args.queue_share) if scenario == "screening" else args.decisions
            with context("worklist-bench") as url:
                engine = make_engine(url)
                try:
                    upgrade(engine)
                    seconds = fill(engine, args.decisions, queue)
                    settle(engine)
                    what = (f"{queue:,} point of care + a screening run of {args.decisions - queue:,}"
                            if scenario == "screening" else f"{queue:,} point of care")  # fmt: skip
                    print(f"\n{label}, {args.decisions:,} decisions ({what}; a third of the point-of-care reviewed)")
                    print(f"filled in {seconds:.1f} s ({args.decisions / seconds:,.0f} decisions/s, index included)")
                    results = measure(engine, args.repeat, with_run=scenario == "screening")
                    results += http_pages(engine, args.repeat, with_run=scenario == "screening")
                finally:
                    engine.dispose()
                    guard.forget_known_heads()  # the next trail reuses the URL, empty again
            width = max(len(name) for name, _ in results)
            print(f"{'':<{width}}  {'ms':>8}  {'/ target':>8}")
            for name, ms in results:
                ratio = "" if name.startswith("(") else f"{ms / TARGET_MS:8.2f}"
                print(f"{name:<{width}}  {ms:8.1f}  {ratio:>8}")


if __name__ == "__main__":
    main()
