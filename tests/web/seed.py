"""A real audit trail for the web tests: users of every role and decisions from real bundles.

Decisions are made by `eligibility.service.evaluate_and_record` (the path the API takes), over the
decision cases' bundles and the README's example, submitted by two referrers in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from eligibility.api.users import Role, add_user
from eligibility.audit.database import make_engine
from eligibility.audit.migrate import upgrade
from eligibility.errors import EligibilityError
from eligibility.service import evaluate_and_record

REPO = Path(__file__).resolve().parents[2]
CASES = sorted((REPO / "tests" / "cases").glob("*.json"))
EXAMPLE = REPO / "examples" / "crps-left-foot.json"
EXAMPLE_AS_OF = date(2026, 11, 20)
REFERRERS = ("dr.rivera", "dr.okafor")
USERS = {
    "dr.rivera": Role.REFERRER,
    "dr.okafor": Role.REFERRER,
    "dr.chen": Role.SPECIALIST,
    "ms.ward": Role.COMPLIANCE,
    "root": Role.ADMIN,
}


@dataclass
class Seeded:
    engine: Engine
    tokens: dict[str, str]  # user name -> API token
    decisions: dict[str, str]  # label ("example", case file stem) -> decision id
    submitted_by: dict[str, str]  # decision id -> referrer

    def session(self) -> Session:
        return Session(self.engine)


def seed(url: str, *, cases: int = 8, example: bool = True) -> Seeded:
    engine = make_engine(url)
    upgrade(engine)
    tokens: dict[str, str] = {}
    with Session(engine) as session:
        for name, role in USERS.items():
            tokens[name] = add_user(session, name=name, role=role, actor="test-setup", channel="cli")
        session.commit()
    seeded = Seeded(engine, tokens, {}, {})
    submissions = [("example", EXAMPLE.read_bytes(), EXAMPLE_AS_OF)] if example else []
    for path in CASES[:cases]:
        document = orjson.loads(path.read_bytes())
        submissions.append((path.stem, orjson.dumps(document["bundle"]), date.fromisoformat(document["as_of"])))
    for index, (label, raw, as_of) in enumerate(submissions):
        referrer = REFERRERS[index % 2]
        try:
            decision = evaluate_and_record(
                raw, as_of=as_of, actor=referrer, channel="fhir-api", session_factory=lambda: Session(engine)
            )
        except EligibilityError:
            continue  # a case that is a rejection by design: recorded, but no decision to review
        seeded.decisions[label] = decision.decision_id
        seeded.submitted_by[decision.decision_id] = referrer
    return seeded
