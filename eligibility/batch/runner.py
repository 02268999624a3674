"""Population screening: a FHIR Bulk Data export in, every patient decided, recorded and written.

    summary = run_batch(BatchOptions(export_dir, out, as_of=day, workers=2))

1. scan: every export line the policy may read (fhir_adapters/read_set.py) parsed once, in worker
   processes, and written to its patient's bucket; files of types it never reads are not opened;
2. group: one bucket at a time, each patient's lines (and the shared Medications they reference)
   become the Bundle the single-patient path would get (patient_input.py);
3. decide: chunks of patients go to worker processes or a Dask cluster, which call `evaluate_one`;
4. record: per chunk, in this process, journal -> `record_batch` (one audit transaction) -> outputs.

Memory is bounded by one bucket plus the chunks in flight, whatever the size of the export.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import orjson

from eligibility.audit.chain import sha256_hex
from eligibility.audit.clock import utc_now_iso
from eligibility.audit.database import SessionFactory
from eligibility.errors import (
    EligibilityError,
    InputError,
    InvalidResourceError,
    NotFHIRError,
    NotJSONError,
    PolicyError,
)
from eligibility.from_fhir import resolve_policy
from eligibility.policy import Policy
from eligibility.service import Evaluated, Rejected, record_batch
from eligibility.version import ENGINE_VERSION
from fhir_adapters.read_set import ReadSet

from .executors import DaskCluster, Evaluation, Executor, LocalProcesses
from .export_reader import ExportFile, find_export_files
from .grouping import SharedIndex, iter_bad_lines, iter_groups
from .output import CommitCheck, OutputFiles, rejected_path
from .patient_input import bundle_of, export_location
from .progress import ProgressSink, QuietProgress
from .resume import Done, read_done, recover_journal
from .scan import Segments, plan_parts, scan_part, unread_files
from .summary import BatchSummary
from .workdir import ScanLayout, remove_work_dir, work_dir_for
from .worker import ChunkEvaluator, evaluate_chunk

__all__ = ["BatchOptions", "run_batch"]

CHANNEL = "batch"
_BUCKET_BYTES = 48 << 20  # export bytes per patient bucket: what grouping holds in memory at once
_MAX_BUCKETS = 512  # one open run segment per bucket while scanning
_GZIP_RATIO = 6  # NDJSON of FHIR compresses about this much; sizes buckets for .gz exports
_ERRORS: dict[str, type[InputError]] = {c.__name__: c for c in (NotJSONError, NotFHIRError, InvalidResourceError)}


@dataclass(frozen=True, slots=True)
class BatchOptions:
    export_dir: Path
    out: Path
    as_of: date
    policy: str | None = None  # id@version; default: the configured policy
    workers: int = 1  # local processes (they also scan when a Dask cluster decides)
    dask_address: str | None = None
    actor: str = "batch"
    # A chunk closes at this many patients or FHIR bytes (bytes bound memory when patients are large).
    # Default: small chunks for local processes (even load), large ones for Dask (≈2 ms per task).
    chunk_patients: int | None = None
    chunk_bytes: int | None = None
    session_factory: SessionFactory | None = None
    # Read every line of every file, as the single-patient path reads a whole submission (same input
    # hashes, every resource validated and kept in the audit store), instead of what the policy reads.
    read_all: bool = False


@dataclass(frozen=True, slots=True)
class _Item:
    """One line of the output: a patient to evaluate, or an export line that could not be placed."""

    key: str  # "Patient/<id>", or the export line "<file> line <n>"
    raw: bytes
    sources: tuple[tuple[int, int], ...] = ()  # for a patient: (part, line) of each entry of its Bundle
    error: Exception | None = None  # for a line: why it was rejected without evaluation


@dataclass(slots=True)
class _Chunk:
    items: list[_Item] = field(default_factory=list)
    size: int = 0

    @property
    def raws(self) -> Sequence[bytes]:
        return [item.raw for item in self.items]


def run_batch(
    options: BatchOptions,
    *,
    progress: ProgressSink | None = None,
    evaluate: ChunkEvaluator = evaluate_chunk,
) -> BatchSummary:
    """Decide every patient of the export not already in `options.out`; see the module docstring."""
    progress = progress or QuietProgress()
    policy = resolve_policy(options.policy)
    files = find_export_files(options.export_dir)
    summary = BatchSummary(
        options.export_dir,
        options.out,
        rejected_path(options.out),
        f"dask {options.dask_address}" if options.dask_address else f"{options.workers} local process(es)",
        files=len(files),
        export_bytes=sum(file.size for file in files),
    )
    read_set = ReadSet.everything() if options.read_all else ReadSet.for_policy(policy)
    summary.recovery = recover_journal(options.out, options.session_factory)
    done = read_done(options.out)
    _check_same_run(done, options, policy, read_set)
    evaluation = Evaluation(evaluate, options.as_of, policy.key, options.read_all)
    local = LocalProcesses(options.workers, evaluation)
    # Connect before the scan, so that an unreachable scheduler is known before minutes of work.
    executor: Executor = DaskCluster(options.dask_address, evaluation) if options.dask_address else local
    try:
        started = time.perf_counter()
        layout = _scan(local, files, read_set, work_dir_for(options.out), summary, progress)
        summary.scan_seconds = time.perf_counter() - started
        if executor is not local:
            local.close()  # the cluster decides; free this machine's workers
        started = time.perf_counter()
        _decide(layout, executor, done, options, policy, summary, progress)
        summary.decide_seconds = time.perf_counter() - started
    finally:
        progress.close()
        executor.close()
        local.close()
    remove_work_dir(work_dir_for(options.out))  # only after every patient is in the outputs
    return summary


def _check_same_run(done: Done, options: BatchOptions, policy: Policy, read_set: ReadSet) -> None:
    if done.as_of is None:
        return
    scanned_with = ScanLayout.reads_of(work_dir_for(options.out))
    if scanned_with is not None and scanned_with != read_set.key:
        # Half the output from whole records and half from what the policy reads would mix input hashes.
        raise InputError(
            f"{options.out} was begun reading {'every line' if scanned_with == 'all' else 'what the policy reads'}; "
            f"rerun {'with' if scanned_with == 'all' else 'without'} --read-all, or choose another --out",
            location=str(options.out),
        )
    if done.as_of != options.as_of.isoformat() or done.policy != policy.key:
        raise InputError(
            f"{options.out} holds decisions as of {done.as_of} under {done.policy}, not {options.as_of} under "
            f"{policy.key}; choose another --out",
            location=str(options.out),
        )


def _bucket_count(files: list[ExportFile]) -> int:
    # An upper bound: lines the read set leaves out never reach a bucket.
    expanded = sum(file.size * (_GZIP_RATIO if file.compressed else 1) for file in files)
    return max(1, min(_MAX_BUCKETS, expanded // _BUCKET_BYTES + 1))


def _scan(
    pool: LocalProcesses,
    files: list[ExportFile],
    read_set: ReadSet,
    work_dir: Path,
    summary: BatchSummary,
    progress: ProgressSink,
) -> ScanLayout:
    layout = ScanLayout.load(work_dir, files, read_set.key)
    summary.scan_reused = layout is not None
    if layout is None:
        unread = [] if read_set.reads_everything else unread_files(files, read_set)
        read = [file for index, file in enumerate(files) if index not in unread]
        layout = ScanLayout.fresh(work_dir, files, Segments(_bucket_count(read)), read_set.key, unread)
        parts = plan_parts(files, skip=frozenset(unread))
        progress.scanning(sum(file.size for file in read))
        calls = [(part, files[part.file_index], layout.runs_dir, layout.segments, read_set) for part in parts]
        for result in pool.run_unordered(scan_part, calls):
            layout.parts.append(result)
            part = result.part
            progress.scanned((part.end or files[part.file_index].size) - part.start)
        layout.parts.sort(key=lambda result: result.part.index)
        layout.save()
    summary.resources = layout.resources()
    summary.not_read = layout.not_read()
    summary.unread_files = {files[index].name: files[index].size for index in layout.unread}
    summary.read_all = read_set.reads_everything
    summary.unlinked = layout.unlinked()
    summary.bad_lines = layout.bad_lines()
    return layout


def _bad_line_items(layout: ScanLayout, done: Done) -> Iterator[_Item]:
    for bad in iter_bad_lines(layout):
        key = layout.source(bad.part, bad.line_no)
        if key not in done.keys:
            error_type = _ERRORS.get(bad.error_type, InvalidResourceError)
            yield _Item(key, bad.line, error=error_type(f"{bad.message}; the line belongs to no patient", location=key))


def _patient_items(layout: ScanLayout, shared: SharedIndex, done: Done) -> Iterator[_Item]:
    for group in iter_groups(layout, shared):
        if group.reference not in done.keys:
            yield _Item(group.reference, bundle_of(group.lines), group.sources)


def _chunks(items: Iterable[_Item], options: BatchOptions) -> Iterator[_Chunk]:
    on_dask = options.dask_address is not None
    max_patients = options.chunk_patients or (1000 if on_dask else 200)
    max_bytes = options.chunk_bytes or ((32 if on_dask else 8) << 20)
    chunk = _Chunk()
    for item in items:
        if chunk.items and (len(chunk.items) >= max_patients or chunk.size + len(item.raw) > max_bytes):
            yield chunk
            chunk = _Chunk()
        chunk.items.append(item)
        chunk.size += len(item.raw)
    if chunk.items:
        yield chunk


def _decide(
    layout: ScanLayout,
    executor: Executor,
    done: Done,
    options: BatchOptions,
    policy: Policy,
    summary: BatchSummary,
    progress: ProgressSink,
) -> None:
    shared = SharedIndex(layout)
    summary.already_done = len(done.keys)
    progress.deciding(layout.resources()["Patient"] + layout.bad_lines(), len(done.keys))
    record = _Recorder(OutputFiles(options.out), options, policy, layout, done)
    try:
        for chunk in _chunks(_bad_line_items(layout, done), options):
            # Nothing to evaluate: each line is recorded as the rejection it already is.
            rejected = [Rejected(item.error, item.raw, options.as_of, policy.key) for item in chunk.items if item.error]
            record(chunk, rejected)
            progress.decided(len(chunk.items))
        for chunk, results in executor.evaluate(_chunks(_patient_items(layout, shared, done), options)):
            record(chunk, results)
            progress.decided(len(chunk.items))
    finally:
        record.outputs.close()
    summary.decided, summary.rejected = record.decided, record.rejected
    summary.record_seconds = record.seconds
    summary.crashed = executor.crashed
    summary.patients = sum(1 for key in done.keys if key.startswith("Patient/"))
    summary.shared, summary.shared_unused = len(shared), shared.unused()
    summary.decided_total, summary.rejected_total = done.decided, done.rejected
    summary.outcomes, summary.labels, summary.unrecognised = done.outcomes, done.labels, done.unrecognised


class _Recorder:
    """Per chunk: output lines to the journal, the audit transaction, then the outputs (output.py)."""

    def __init__(self, outputs: OutputFiles, options: BatchOptions, policy: Policy, layout: ScanLayout, done: Done):
        self.outputs = outputs
        self._layout = layout
        self.decided = 0
        self.rejected = 0
        self.seconds = 0.0  # in the audit transaction and output writes
        self._options = options
        self._policy = policy
        self._done = done

    def __call__(self, chunk: _Chunk, results: Sequence[Evaluated | Rejected]) -> None:
        results = [
            Rejected(result.error, item.raw, result.as_of, result.policy) if isinstance(result, Rejected) else result
            for item, result in zip(chunk.items, results, strict=True)
        ]
        decisions: list[dict[str, object]] = []
        rejections: list[dict[str, object]] = []
        for item, result in zip(chunk.items, results, strict=True):
            if isinstance(result, Evaluated):
                self._check_same_engine(result)
                decisions.append(result.record)
            else:
                rejections.append(self._rejection(item, result))
        first_decision = next((r.decision.decision_id for r in results if isinstance(r, Evaluated)), None)
        first_rejection = next((r.raw for r in results if isinstance(r, Rejected)), b"")
        check = CommitCheck(
            started_at=utc_now_iso(),
            actor=self._options.actor,
            channel=CHANNEL,
            decision_id=first_decision,
            rejection_sha256=None if first_decision else sha256_hex(first_rejection),
        )
        started = time.perf_counter()
        self.outputs.stage([orjson.dumps(d) for d in decisions], [orjson.dumps(r) for r in rejections], check)
        record_batch(results, actor=self._options.actor, channel=CHANNEL, session_factory=self._options.session_factory)
        self.outputs.publish()
        self.seconds += time.perf_counter() - started
        for decision in decisions:
            self._done.add_decision(decision)
        for rejection in rejections:
            self._done.add_rejection(rejection)
        self.decided += len(decisions)
        self.rejected += len(rejections)

    def _check_same_engine(self, result: Evaluated) -> None:
        # A Dask cluster may run other code than this machine: its decisions must not pass for ours.
        decision = result.decision
        if decision.policy.sha256 != self._policy.sha256 or decision.engine_version != ENGINE_VERSION:
            raise PolicyError(
                f"a worker decided with policy {decision.policy.id}@{decision.policy.version} "
                f"({decision.policy.sha256[:12]}) and engine {decision.engine_version}, but this run uses "
                f"{self._policy.key} ({self._policy.sha256[:12]}) and engine {ENGINE_VERSION}; "
                "install the same version on the workers"
            )

    def _rejection(self, item: _Item, result: Rejected) -> dict[str, object]:
        error = result.error
        location = error.location if isinstance(error, EligibilityError) else None

        def source_of_entry(index: int) -> str:
            return self._layout.source(*item.sources[index]) if index < len(item.sources) else f"entry {index}"

        return {
            "patient": {"reference": item.key} if item.error is None else None,
            "source": item.key if item.error is not None else export_location(location, source_of_entry),
            "as_of": self._options.as_of.isoformat(),
            "policy": self._policy.key,
            "error": {
                "type": type(error).__name__,
                "code": error.code if isinstance(error, EligibilityError) else "exception",
                "message": error.message if isinstance(error, EligibilityError) else str(error),
                "location": location,
            },
        }
