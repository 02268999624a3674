"""Concurrent calls' decisions are committed together, each answered only once its record is durable,
and one call's failed write is that call's alone (eligibility/api/group_commit.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from audit_helpers import AS_OF, bundle, factory_for
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from eligibility import service
from eligibility.api.group_commit import DecisionWriter
from eligibility.audit import store
from eligibility.audit.checkpoints import signer_from_settings
from eligibility.audit.database import read_session
from eligibility.audit.verify import verify
from eligibility.errors import AuditError
from eligibility.settings import get_settings


def _decisions(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        return [r.actor for r in store.iter_records(session) if r.kind == "decision"]


def test_calls_waiting_together_share_one_transaction_and_each_is_durable_when_answered(engine: Engine) -> None:
    writer = DecisionWriter(factory_for(engine), threading.Lock())
    results = [service.evaluate_one(bundle("crps-foot-eligible"), as_of=AS_OF) for _ in range(8)]
    answered: list[str] = []

    async def call(n: int) -> None:
        await writer.record(results[n], actor=f"dr.{n}", channel="fhir-api")
        assert f"dr.{n}" in _decisions(engine)  # committed before this call goes on
        answered.append(f"dr.{n}")

    async def main() -> None:
        await asyncio.gather(*(call(n) for n in range(8)))

    asyncio.run(main())
    assert sorted(answered) == sorted(_decisions(engine)) == [f"dr.{n}" for n in range(8)]
    assert writer.recorded == 8 and writer.groups < 8  # all eight were waiting when the first write began
    with read_session(engine) as session:
        assert verify(session, signer=signer_from_settings(get_settings())).ok


def test_a_call_whose_own_write_fails_fails_alone(engine: Engine) -> None:
    writer = DecisionWriter(factory_for(engine), threading.Lock())
    results = [service.evaluate_one(bundle("crps-foot-eligible"), as_of=AS_OF) for _ in range(3)]

    def broken(session: Session) -> None:
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    async def main() -> list[BaseException | None]:
        calls = [
            writer.record(results[0], actor="dr.a", channel="fhir-api"),
            writer.record(results[1], actor="dr.b", channel="cds-hooks", also=broken),
            writer.record(results[2], actor="dr.c", channel="fhir-api"),
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], AuditError)
    assert _decisions(engine) == ["dr.a", "dr.c"]
    with read_session(engine) as session:
        assert verify(session, signer=signer_from_settings(get_settings())).ok


@pytest.mark.parametrize("calls", [1, 2])
def test_a_lone_call_is_written_at_once(engine: Engine, calls: int) -> None:
    writer = DecisionWriter(factory_for(engine), threading.Lock())
    result = service.evaluate_one(bundle("crps-foot-eligible"), as_of=AS_OF)

    async def main() -> None:
        for n in range(calls):  # one after another: nothing to wait for
            await writer.record(result, actor=f"dr.{n}", channel="fhir-api")

    asyncio.run(main())
    assert writer.groups == calls
