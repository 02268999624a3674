"""Where chunks are evaluated: local worker processes, or an existing Dask distributed cluster.

Both give results chunk by chunk in submission order, with a bounded number of chunks in flight (so
memory stays flat and the parent can record one chunk while workers evaluate the next).

A worker that dies (durable_rules is native code) must not lose patients nor stop the run. Locally, a
dead worker breaks the whole pool and every chunk in flight fails with it, so each failed chunk is run
again alone on a fresh pool; one that kills its worker again has its patients retried one at a time,
and a patient whose worker dies a second time is rejected with an EngineError. Dask retries a task
whose worker died by itself; a chunk it gives up on (KilledWorker) has its patients retried one task
each, and those Dask gives up on again are rejected the same way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from eligibility.errors import EngineError
from eligibility.parent_watch import exit_with_parent
from eligibility.service import Evaluated, Rejected

from .worker import ChunkEvaluator

__all__ = ["DaskCluster", "Evaluation", "Executor", "HasRaws", "LocalProcesses", "crash_rejection"]

Result = Evaluated | Rejected


class HasRaws(Protocol):
    @property
    def raws(self) -> Sequence[bytes]: ...


C = TypeVar("C", bound=HasRaws)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What every chunk is evaluated with."""

    evaluate: ChunkEvaluator
    as_of: date
    policy: str  # id@version, resolved in the parent so that every worker uses the same
    read_all: bool = False  # --read-all: validate every resource of a read type (eligibility/from_fhir.py)


class Executor(Protocol):
    crashed: int  # patients rejected because their worker died twice

    def evaluate(self, chunks: Iterable[C]) -> Iterator[tuple[C, list[Result]]]: ...

    def close(self) -> None: ...


def crash_rejection(evaluation: Evaluation) -> Rejected:
    error = EngineError(
        "the worker process died each time this patient was evaluated (in its chunk, then alone): a crash in"
        " native code; no decision was made"
    )
    return Rejected(error=error, raw=b"", as_of=evaluation.as_of, policy=evaluation.policy)


class LocalProcesses:
    """A spawn-context process pool: workers import the engine (and its rulesets) themselves."""

    def __init__(self, workers: int, evaluation: Evaluation, *, in_flight: int | None = None) -> None:
        self.workers = workers
        self.crashed = 0
        self._evaluation = evaluation
        self._in_flight = in_flight or workers + 1
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=exit_with_parent,  # no orphans after a kill -9 of the batch (parent_watch.py)
            initargs=(os.getpid(),),
        )

    def _restart(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._new_pool()

    def run_unordered(self, function: Callable[..., Any], calls: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        """`function(*args)` for each call, results as they complete (used by the scan)."""
        futures = [self._pool.submit(function, *args) for args in calls]
        for future in as_completed(futures):
            yield future.result()

    def _submit(self, raws: Sequence[bytes]) -> Future[list[Result]]:
        e = self._evaluation
        return self._pool.submit(e.evaluate, list(raws), e.as_of, e.policy, e.read_all)

    def evaluate(self, chunks: Iterable[C]) -> Iterator[tuple[C, list[Result]]]:
        pending: deque[tuple[C, Future[list[Result]]]] = deque()
        for chunk in chunks:
            pending.append((chunk, self._submit(chunk.raws)))
            if len(pending) > self._in_flight:
                yield self._collect(pending)
        while pending:
            yield self._collect(pending)

    def _collect(self, pending: deque[tuple[C, Future[list[Result]]]]) -> tuple[C, list[Result]]:
        chunk, future = pending.popleft()
        try:
            return chunk, future.result()
        except BrokenProcessPool:
            self._restart()
        results = self._alone(chunk.raws)
        # The other chunks in flight failed with the pool; most are innocent: submit them again.
        for index, (other, _) in enumerate(pending):
            pending[index] = (other, self._submit(other.raws))
        return chunk, results

    def _alone(self, raws: Sequence[bytes]) -> list[Result]:
        """A chunk run with nothing else in flight; if its worker dies again, patient by patient."""
        try:
            return self._submit(raws).result()
        except BrokenProcessPool:
            self._restart()
        if len(raws) == 1:
            self.crashed += 1
            return [crash_rejection(self._evaluation)]
        return [result for raw in raws for result in self._alone([raw])]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster:
    """Chunks as tasks on an existing Dask distributed scheduler; the parent records the results."""

    def __init__(self, address: str, evaluation: Evaluation, *, in_flight: int | None = None) -> None:
        from distributed import Client

        self.crashed = 0
        self._evaluation = evaluation
        self._client = Client(address, set_as_default=False, timeout="30s")  # type: ignore[no-untyped-call]
        workers = len(self._client.scheduler_info().get("workers", {})) or 1
        self._in_flight = in_flight or 2 * workers

    def _submit(self, raws: Sequence[bytes]) -> Any:
        e = self._evaluation
        # pure=False: a random key, so the chunk is never hashed (and never deduplicated).
        return self._client.submit(e.evaluate, list(raws), e.as_of, e.policy, e.read_all, pure=False)

    def evaluate(self, chunks: Iterable[C]) -> Iterator[tuple[C, list[Result]]]:
        pending: deque[tuple[C, Any]] = deque()
        for chunk in chunks:
            pending.append((chunk, self._submit(chunk.raws)))
            if len(pending) > self._in_flight:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    def _collect(self, chunk: C, future: Any) -> tuple[C, list[Result]]:
        from distributed.scheduler import KilledWorker

        try:
            results: list[Result] = future.result()
            return chunk, results
        except KilledWorker:
            pass
        one_each = [self._submit([raw]) for raw in chunk.raws]
        results = []
        for single in one_each:
            try:
                results.extend(single.result())
            except KilledWorker:
                self.crashed += 1
                results.append(crash_rejection(self._evaluation))
        return chunk, results

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]
