"""The decisions of concurrent calls recorded together: one transaction, one fsync, for all that wait.

Each call's decision must be durable before its answer leaves (SQLite `synchronous=FULL`: every commit
waits for the disk). With the writes queued one at a time behind `ApiContext.write_lock`, four
concurrent calls each waited for the commits of the others: measured in the server under load, a
commit took 2-7 ms of wall time and calls queued for it. Here a call's records join those waiting;
one writer appends everything waiting in one transaction and commits once, and each call is
answered only after that commit (group commit, as databases do for their own logs). Nothing is
released earlier than before, and an answer still follows its own record.

If a group's transaction fails, each of its calls is written again on its own, so that one call's
failure (its CDS card, say) is that call's alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from eligibility.audit.database import SessionFactory
from eligibility.service import Evaluated, Rejected, record_calls

__all__ = ["DecisionWriter"]


@dataclass(slots=True)
class _Waiting:
    result: Evaluated | Rejected
    actor: str
    channel: str
    also: Callable[[Session], object] | None
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def __post_init__(self) -> None:
        # A caller cancelled while waiting never reads its outcome: read here, so none is logged as lost.
        self.done.add_done_callback(lambda done: done.cancelled() or done.exception())


class DecisionWriter:
    """Records results in groups; `record` returns once its result is committed (or raises AuditError)."""

    def __init__(self, session_factory: SessionFactory, write_lock: threading.Lock) -> None:
        self._factory = session_factory
        self._lock = write_lock  # shared with every other audit write of the process
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0  # transactions committed (for tests and benchmarks)
        self.recorded = 0

    async def record(
        self, result: Evaluated | Rejected, *, actor: str, channel: str, also: Callable[[Session], object] | None = None
    ) -> None:
        waiting = _Waiting(result, actor, channel, also)
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await asyncio.shield(waiting.done)  # a cancelled caller does not cancel the others' write

    async def _write_all(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                outcomes = await run_in_threadpool(self._write_group, group)
            except BaseException as exc:  # e.g. cancelled at shutdown: no caller may wait for ever
                stranded, self._waiting = [*group, *self._waiting], []
                for waiting in stranded:
                    if waiting.done.done():
                        continue
                    if isinstance(exc, Exception):
                        waiting.done.set_exception(exc)
                    else:
                        waiting.done.cancel()
                raise
            for waiting, error in zip(group, outcomes, strict=True):
                if error is None:
                    waiting.done.set_result(None)
                else:
                    waiting.done.set_exception(error)

    def _write_group(self, group: list[_Waiting]) -> list[BaseException | None]:
        with self._lock:
            if len(group) > 1:
                try:
                    self._write(group)
                    return [None] * len(group)
                except Exception:  # written again one by one below, each with its own error
                    pass
            outcomes: list[BaseException | None] = []
            for waiting in group:
                try:
                    self._write([waiting])
                    outcomes.append(None)
                except Exception as exc:
                    outcomes.append(exc)
            return outcomes

    def _write(self, group: list[_Waiting]) -> None:
        alsos = [waiting.also for waiting in group if waiting.also is not None]

        def also(session: Session) -> None:
            for write in alsos:
                write(session)

        record_calls(
            [(waiting.result, waiting.actor, waiting.channel) for waiting in group],
            session_factory=self._factory,
            also=also if alsos else None,
        )
        self.groups += 1
        self.recorded += len(group)
