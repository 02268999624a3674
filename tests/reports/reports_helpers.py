"""A hand-counted audit trail for the report tests, made with the real service on real FHIR bundles.

Every step runs at a fixed time (the audit clock is patched), so hours to review are exact. The
expected numbers in test_compliance.py are counted by hand from the table below, not computed.

Period under test: 2026-06-01 .. 2026-06-30. Referrers dr.ames, dr.baker, dr.chen; specialists
dr.kim and dr.lopez; an auditor.

| step | time (UTC)  | what                                               | outcome / note                          |
|------|-------------|----------------------------------------------------|-----------------------------------------|
| P0   | 05-31 20:00 | dr.ames evaluates case 001                         | before the period                       |
| XP   | 05-31 21:00 | dr.ames submits broken JSON                        | rejection, before the period            |
| D1   | 06-01 09:00 | dr.ames, case 001                                  | ELIGIBLE_FOR_TRIAL                      |
| D2   | 06-01 10:00 | dr.ames, case 025                                  | NOT_ELIGIBLE (pain_duration)            |
| D3   | 06-01 11:00 | dr.baker, case 025 under drg-clinic@2.0.0          | ELIGIBLE_FOR_TRIAL                      |
| V1   | 06-01 11:00 | dr.kim accepts D1 (agree)                          | 2 h                                     |
| V2   | 06-01 12:00 | dr.lopez accepts P0 (agree)                        | 16 h, decision before the period        |
| A1   | 06-02 08:00 | auditor reads D1                                   |                                         |
| D4   | 06-02 09:00 | dr.baker, case 058                                 | INSUFFICIENT (failed_interv.)           |
| D5   | 06-02 10:00 | dr.baker, case 033                                 | INSUFFICIENT (pain_severity)            |
| V3   | 06-02 10:00 | dr.kim accepts D2 (agree)                          | 24 h                                    |
| X1   | 06-02 12:00 | dr.baker submits broken JSON                       | rejection (NotJSONError)                |
| V4   | 06-02 12:00 | dr.lopez overrides D4 -> ELIGIBLE_FOR_TRIAL        | 3 h, outcome-documented-elsewhere       |
| D6   | 06-03 09:00 | dr.chen, case 080                                  | INSUFFICIENT (psych; relative)          |
| D7   | 06-03 10:00 | dr.chen, case 074                                  | NEEDS_REVIEW (relative)                 |
| X2   | 06-03 12:00 | dr.chen submits a bundle without a Patient         | rejection (PatientCountError)           |
| V5   | 06-03 15:00 | dr.kim overrides D7 -> ELIGIBLE_FOR_TRIAL          | 5 h, clinical-judgement                 |
| A2   | 06-03 16:00 | dr.kim reads D7                                    |                                         |
| A3   | 06-03 16:30 | dr.kim reads D7 again                              |                                         |
| D8   | 06-04 09:00 | dr.ames, case 101                                  | ELIGIBLE_FOR_IMPLANT                    |
| V6   | 06-04 09:30 | dr.lopez accepts D1 (second-opinion)               | not a first review                      |
| D9   | 06-04 10:00 | dr.ames, case 102                                  | TRIAL_FAILED (trial_response)           |
| D10  | 06-05 09:00 | dr.chen, examples/crps-left-foot, as_of 2026-06-01 | INSUFFICIENT (severity, interv., psych) |
| D11  | 06-05 10:00 | dr.chen, examples/crps-left-foot, as_of 2025-12-01 | INSUFFICIENT (interv., psych)           |
| A4   | 06-05 12:00 | auditor reads D7                                   |                                         |
| D12  | 06-06 09:00 | dr.chen, case 084                                  | ELIGIBLE_WITH_CONDITIONS                |
| V7   | 06-06 10:00 | dr.lopez overrides D9 -> NEEDS_REVIEW              | 48 h, trial-data-incomplete             |
| A5   | 06-06 12:00 | auditor exports the trail (a query, no decision)   |                                         |
| V8   | 06-07 09:00 | dr.kim accepts D8 (agree)                          | 72 h                                    |
| D13  | 07-01 00:00 | dr.ames, case 001                                  | after the period                        |
| X3   | 07-01 00:30 | dr.ames submits broken JSON                        | rejection, after the period             |
| V9   | 07-01 01:00 | dr.kim accepts D12                                 | after the period                        |
| A6   | 07-01 02:00 | auditor reads D1                                   | after the period                        |
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from eligibility import service
from eligibility.audit import store
from eligibility.errors import InputError

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "cases"
EXAMPLE = REPO / "examples" / "crps-left-foot.json"
AS_OF = date(2026, 6, 1)
PERIOD = (date(2026, 6, 1), date(2026, 6, 30))
POLICY_2 = "drg-clinic@2.0.0"

BROKEN_JSON = b'{"resourceType": "Bundle", "type": "collection", "entry": ['
NO_PATIENT = b'{"resourceType": "Bundle", "type": "collection", "entry": []}'


def case_bytes(stem: str) -> bytes:
    """The `bundle` of one decision case file, as submitted bytes."""
    return json.dumps(json.loads((CASES / f"{stem}.json").read_text())["bundle"]).encode()


class FakeClock:
    """The audit trail's clock, set by the scenario before each step."""

    def __init__(self) -> None:
        self.now = "2026-01-01T00:00:00.000000Z"

    def set(self, day_time: str) -> None:
        """`MM-DD HH:MM` in 2026, UTC."""
        month_day, hour_minute = day_time.split()
        self.now = f"2026-{month_day}T{hour_minute}:00.000000Z"

    def __call__(self) -> str:
        return self.now


@contextmanager
def patched_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    clock = FakeClock()
    # Both modules imported the function by name: patch where it is looked up.
    monkeypatch.setattr("eligibility.audit.store.utc_now_iso", clock)
    monkeypatch.setattr("eligibility.service.utc_now_iso", clock)
    yield clock


@dataclass
class Trail:
    """What the scenario made: step name -> decision id, and step name -> audit seq."""

    decisions: dict[str, str] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Built:
    """A database holding the scenario's trail."""

    url: str
    engine: Engine
    trail: Trail


def tamper(engine: Engine, *statements: str) -> None:
    """Run SQL as an attacker who got round the append-only triggers (as tests/audit does).

    PostgreSQL: a superuser's `session_replication_role = replica` skips the triggers. SQLite: the
    `sqlite3` module on the database file, dropping the triggers first.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                connection.execute(text(statement))
        return
    assert engine.url.database
    raw = sqlite3.connect(engine.url.database)
    try:
        for table in ("audit_record", "audit_input", "audit_checkpoint"):
            for event in ("update", "delete"):
                raw.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
        for statement in statements:
            raw.execute(statement)
        raw.commit()
    finally:
        raw.close()


def _factory(engine: Engine) -> Callable[[], Session]:
    def open_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return open_session


def build_trail(engine: Engine, clock: FakeClock) -> Trail:
    """Run the scenario of the module docstring against `engine`."""
    trail = Trail()
    factory = _factory(engine)

    def decide(step: str, at: str, raw: bytes, actor: str, channel: str, **options: Any) -> None:
        clock.set(at)
        decision = service.evaluate_and_record(
            raw, as_of=options.pop("as_of", AS_OF), actor=actor, channel=channel, session_factory=factory, **options
        )
        trail.decisions[step] = decision.decision_id
        with Session(engine) as session:
            trail.seqs[step] = store.head(session)[0]

    def reject(step: str, at: str, raw: bytes, actor: str, channel: str) -> None:
        clock.set(at)
        with pytest.raises(InputError):
            service.evaluate_and_record(raw, as_of=AS_OF, actor=actor, channel=channel, session_factory=factory)
        with Session(engine) as session:
            trail.seqs[step] = store.head(session)[0]

    def review(step: str, at: str, target: str, reviewer: str, reason: str, override: str | None = None) -> None:
        clock.set(at)
        record = service.record_review(
            trail.decisions[target],
            reviewer=reviewer,
            action="override" if override else "accept",
            reason_code=reason,
            outcome=override,
            channel="api",
            session_factory=factory,
        )
        trail.seqs[step] = record.seq

    def read(step: str, at: str, actor: str, channel: str, target: str | None, purpose: str) -> None:
        clock.set(at)
        with Session(engine) as session:
            record = store.append_access(
                session,
                actor=actor,
                channel=channel,
                purpose=purpose,
                decision_id=None if target is None else trail.decisions[target],
                query=None if target is not None else {"from": "2026-06-01", "formats": ["raw"]},
            )
            session.commit()
        trail.seqs[step] = record.seq

    decide("P0", "05-31 20:00", case_bytes("001-baseline-crps-foot-eligible"), "dr.ames", "api")
    reject("XP", "05-31 21:00", BROKEN_JSON, "dr.ames", "api")
    decide("D1", "06-01 09:00", case_bytes("001-baseline-crps-foot-eligible"), "dr.ames", "api")
    decide("D2", "06-01 10:00", case_bytes("025-duration-one-day-short"), "dr.ames", "api")
    decide("D3", "06-01 11:00", case_bytes("025-duration-one-day-short"), "dr.baker", "cli", policy=POLICY_2)
    review("V1", "06-01 11:00", "D1", "dr.kim", "agree")
    review("V2", "06-01 12:00", "P0", "dr.lopez", "agree")
    read("A1", "06-02 08:00", "auditor@clinic", "cli", "D1", "show")
    decide("D4", "06-02 09:00", case_bytes("058-esi-done-no-outcome-unknown"), "dr.baker", "cli")
    decide("D5", "06-02 10:00", case_bytes("033-severity-no-score-in-window"), "dr.baker", "cli")
    review("V3", "06-02 10:00", "D2", "dr.kim", "agree")
    reject("X1", "06-02 12:00", BROKEN_JSON, "dr.baker", "cli")
    review("V4", "06-02 12:00", "D4", "dr.lopez", "outcome-documented-elsewhere", "ELIGIBLE_FOR_TRIAL")
    decide("D6", "06-03 09:00", case_bytes("080-relative-contraindication-and-unknown"), "dr.chen", "api")
    decide("D7", "06-03 10:00", case_bytes("074-pacemaker-needs-review"), "dr.chen", "api")
    reject("X2", "06-03 12:00", NO_PATIENT, "dr.chen", "api")
    review("V5", "06-03 15:00", "D7", "dr.kim", "clinical-judgement", "ELIGIBLE_FOR_TRIAL")
    read("A2", "06-03 16:00", "dr.kim", "api", "D7", "read")
    read("A3", "06-03 16:30", "dr.kim", "api", "D7", "read")
    decide("D8", "06-04 09:00", case_bytes("101-implant-eligible"), "dr.ames", "api")
    review("V6", "06-04 09:30", "D1", "dr.lopez", "second-opinion")
    decide("D9", "06-04 10:00", case_bytes("102-implant-trial-failed"), "dr.ames", "api")
    decide("D10", "06-05 09:00", EXAMPLE.read_bytes(), "dr.chen", "api")
    decide("D11", "06-05 10:00", EXAMPLE.read_bytes(), "dr.chen", "api", as_of=date(2025, 12, 1))
    read("A4", "06-05 12:00", "auditor@clinic", "cli", "D7", "show")
    decide("D12", "06-06 09:00", case_bytes("084-hold-ibuprofen-some-day-smoker"), "dr.chen", "api")
    review("V7", "06-06 10:00", "D9", "dr.lopez", "trial-data-incomplete", "NEEDS_REVIEW")
    read("A5", "06-06 12:00", "auditor@clinic", "cli", None, "export")
    review("V8", "06-07 09:00", "D8", "dr.kim", "agree")
    decide("D13", "07-01 00:00", case_bytes("001-baseline-crps-foot-eligible"), "dr.ames", "api")
    reject("X3", "07-01 00:30", BROKEN_JSON, "dr.ames", "api")
    review("V9", "07-01 01:00", "D12", "dr.kim", "agree")
    read("A6", "07-01 02:00", "auditor@clinic", "cli", "D1", "show")
    return trail
