"""Against a live server: released decisions deleted from under it are noticed, not continued.

The attack of issue 12: with the triggers out of the way, delete the newest decisions and the
checkpoints that signed them. Before the witness the server went on appending at the new tail and
the decisions had never existed. Now the next request is refused (503, nothing released), and a
restarted server, which has forgotten what it wrote, refuses to start because the witness remembers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from eligibility.api.workers import ProcessEvaluator
from eligibility.app import create_app
from eligibility.audit import guard
from eligibility.audit.witness import Witness
from eligibility.settings import get_settings
from tests.api.conftest import make_settings, running_api, serve
from tests.api.helpers import AS_OF, ClientKeys, example
from tests.audit.audit_helpers import tamper

ORPHANS = (  # the inputs of the deleted decisions go too
    "DELETE FROM audit_input WHERE sha256 NOT IN (SELECT input_sha256 FROM audit_record WHERE input_sha256 IS NOT NULL)"
)



@pytest.fixture
def witness_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "witness" / "trail.witness.jsonl"
    monkeypatch.setenv("DRG_ELIGIBILITY_AUDIT_WITNESS_PATH", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()
    guard.forget_known_heads()


# The refused start is what is tested: uvicorn exits its server thread with SystemExit(3).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_deleting_released_decisions_stops_the_server_and_a_restart(
    db_url: str, keys: ClientKeys, issuers_file: Path, evaluator: ProcessEvaluator, witness_path: Path
) -> None:
    settings = make_settings(issuers_file, checkpoint_interval_s=0.2)  # the timer seals the head quickly
    witness = Witness.at(witness_path)
    with running_api(db_url, keys=keys, settings=settings, evaluator=evaluator) as api:
        for _ in range(5):
            assert api.operate(example(), params={"asOf": AS_OF}).status_code == 200
        with api.engine.connect() as connection:
            head = int(connection.execute(text("SELECT max(seq) FROM audit_record")).scalar_one())
        deadline = time.monotonic() + 10
        while (last := witness.last()) is None or last.record_seq < head:
            assert time.monotonic() < deadline, "the server's timer never sealed the head"
            time.sleep(0.05)
        first_decision = head - 4
        tamper(
            api.engine,
            f"DELETE FROM audit_record WHERE seq >= {first_decision}",
            f"DELETE FROM audit_checkpoint WHERE record_seq >= {first_decision}",
            ORPHANS,
        )
        refused = api.operate(example(), params={"asOf": AS_OF})
        assert refused.status_code == 503, refused.text
        assert "records were deleted" in refused.text
        with api.engine.connect() as connection:
            assert connection.execute(text("SELECT max(seq) FROM audit_record")).scalar_one() == first_decision - 1

        guard.forget_known_heads()  # a new server process
        engine = api.engine
        restarted = create_app(settings, session_factory=lambda: Session(engine), evaluator=evaluator)
        with pytest.raises(RuntimeError, match="did not start"), serve(restarted):
            pass
