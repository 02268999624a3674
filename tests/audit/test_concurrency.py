"""Two OS processes appending at once never fork or break the chain."""

from __future__ import annotations

import multiprocessing

import pytest
from audit_helpers import TEST_KEY, append_worker
from sqlalchemy import Engine, text

from eligibility.audit.checkpoints import Signer
from eligibility.audit.database import read_session
from eligibility.audit.verify import verify

PER_PROCESS = 150
EVERY = 10


@pytest.mark.parametrize(("batch_a", "batch_b"), [(1, 1), (1, 7)])
def test_two_processes_append_concurrently(engine: Engine, db_url: str, batch_a: int, batch_b: int) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    spans = context.Queue()
    workers = [
        context.Process(target=append_worker, args=(db_url, TEST_KEY, EVERY, PER_PROCESS, batch, label, start, spans))
        for batch, label in ((batch_a, "proc-a"), (batch_b, "proc-b"))
    ]
    for worker in workers:
        worker.start()
    # Read the queue before joining: a process does not exit while its queued items are unread.
    (_, began_a, ended_a), (_, began_b, ended_b) = spans.get(timeout=240), spans.get(timeout=240)
    for worker in workers:
        worker.join(timeout=240)
        assert worker.exitcode == 0, f"{worker.name} exited with {worker.exitcode}"

    with read_session(engine) as session:
        report = verify(session, signer=Signer(key=TEST_KEY, every=EVERY))
        actors = [row[0] for row in session.execute(text("SELECT actor FROM audit_record ORDER BY seq"))]
    assert report.ok, report.problems
    assert report.records == report.head_seq == 2 * PER_PROCESS
    assert actors.count("proc-a") == actors.count("proc-b") == PER_PROCESS
    # Both processes were appending during the same time span (each began before the other ended).
    assert max(began_a, began_b) < min(ended_a, ended_b)
    assert report.checkpoints >= 2 * PER_PROCESS // EVERY // max(batch_a, batch_b)
