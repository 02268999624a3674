"""A trail with one INSUFFICIENT_INFORMATION decision of dr.rivera's, and the app evaluating in-process.

The evaluator is the real one (eligibility.service.evaluate_one) run in a thread instead of the API's
worker processes, so the web tests of answering need no process pool.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eligibility.app import create_app
from eligibility.service import Evaluated, Rejected, evaluate_and_record, evaluate_one
from eligibility.settings import Settings
from tests.web.seed import CASES, Seeded, seed

CASE = "033-severity-no-score-in-window"


class InlineEvaluator:
    async def evaluate(self, raw: bytes, *, as_of: date, policy: str | None = None) -> Evaluated | Rejected:
        return await run_in_threadpool(evaluate_one, raw, as_of=as_of, policy=policy)

    def close(self) -> None:
        return None


def seed_unknown(path: Path, case: str = CASE) -> tuple[Seeded, str]:
    seeded = seed(f"sqlite:///{path}", cases=0, example=False)
    document = orjson.loads(next(p for p in CASES if p.stem == case).read_bytes())
    decision = evaluate_and_record(
        orjson.dumps(document["bundle"]),
        as_of=date.fromisoformat(document["as_of"]),
        actor="dr.rivera",
        channel="fhir-api",
        session_factory=lambda: Session(seeded.engine),
    )
    assert decision.outcome == "INSUFFICIENT_INFORMATION"
    return seeded, decision.decision_id


def app_for(seeded: Seeded) -> object:
    return create_app(
        Settings(environment="test"), session_factory=lambda: Session(seeded.engine), evaluator=InlineEvaluator()
    )
