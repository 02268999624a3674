"""How fast is population screening, measured against the floor of merely parsing the export?

For each size: writes a synthetic export of realistic shape (synthetic_export.py; most bytes in
Claims, ExplanationOfBenefits and notes the rules never read), measures the floor (orjson.loads of
every line, one process), then runs the whole batch - scan, group, evaluate, audit, output - once per
worker count (reading what the policy reads, the default), each in a fresh process with its own SQLite
audit store, and prints patients/s, MB/s, peak memory (parent + workers, sampled), the ratio to the
floor and the speed-up from 1 to 2 workers.
A per-patient cost breakdown (one process) shows where the time goes.

    python benchmarks/batch_bench.py --patients 1000 10000 [--workers 1 2] [--dir /tmp/drg-batch-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.synthetic_export import iter_patients, shared_resources, write_export  # noqa: E402
from eligibility.batch.export_reader import LineReader, find_export_files  # noqa: E402

AS_OF = date(2026, 6, 1)


def parse_floor(export: Path) -> tuple[float, int]:
    """(MB/s, bytes) of orjson.loads over every line of the export, in one process."""
    files = find_export_files(export)
    started = time.perf_counter()
    for file in files:
        with LineReader(file) as reader:
            for _, line in reader:
                orjson.loads(line)
    size = sum(file.size for file in files)
    return size / 1e6 / (time.perf_counter() - started), size


class _PeakMemory:
    """Samples the RSS of this process and all its children (the worker processes) every 100 ms."""

    def __init__(self) -> None:
        self.peak_total = 0
        self.peak_parent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                parent = me.memory_info().rss
                children = sum(child.memory_info().rss for child in me.children(recursive=True))
            except psutil.Error:
                continue
            self.peak_parent = max(self.peak_parent, parent)
            self.peak_total = max(self.peak_total, parent + children)
            self._stop.wait(0.1)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def child_run(export: Path, out: Path, workers: int) -> dict[str, Any]:
    """One batch run (in a fresh process: memory figures are this run's alone)."""
    from eligibility.batch import BatchOptions, run_batch

    with _PeakMemory() as memory:
        started = time.perf_counter()
        summary = run_batch(BatchOptions(export, out, as_of=AS_OF, workers=workers))
        seconds = time.perf_counter() - started
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "seconds": seconds,
        "scan_seconds": summary.scan_seconds,
        "decide_seconds": summary.decide_seconds,
        "record_seconds": summary.record_seconds,
        "patients": summary.decided + summary.rejected,
        "rejected": summary.rejected,
        "export_bytes": summary.export_bytes,
        "peak_total_mb": memory.peak_total / 1e6,
        "peak_parent_mb": memory.peak_parent / 1e6,
        "parent_cpu_seconds": me.ru_utime + me.ru_stime,
        "workers_cpu_seconds": children.ru_utime + children.ru_stime,
        "load_average": os.getloadavg()[0],
    }


def per_patient_costs(count: int = 150) -> dict[str, float]:
    """Milliseconds per patient, in one process, for the single-patient path's steps."""
    from eligibility.from_fhir import decide_parsed, prepare
    from eligibility.policy import load_policy
    from eligibility.service import evaluate_one
    from fhir_adapters.read_set import ReadSet
    from fhir_adapters.validated import process_cache

    medications = {r["id"]: r for r in shared_resources() if r["resourceType"] == "Medication"}
    policy = load_policy()
    read_set = ReadSet.for_policy(policy)

    def bundle(resources: list[dict[str, Any]]) -> bytes:
        entries = [{"resource": r} for r in resources]
        return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})

    records = [p.resources + [medications[m] for m in p.medication_ids] for p in iter_patients(count, seed=99)]
    raws = [bundle(resources) for resources in records]
    read = [bundle([r for r in rs if read_set.reads_resource(r)]) for rs in records]
    parsed = [prepare(raw) for raw in read]

    def timed(run: Any) -> float:
        process_cache().clear()  # each patient at first sight, as in a batch run (fhir_adapters/validated.py)
        started = time.perf_counter()
        for item in run():
            del item
        return (time.perf_counter() - started) / count * 1000

    return {
        "kb": sum(map(len, raws)) / count / 1024,
        "read_kb": sum(map(len, read)) / count / 1024,
        "parse": timed(lambda: (orjson.loads(raw) for raw in raws)),
        "whole": timed(lambda: (evaluate_one(raw, as_of=AS_OF) for raw in raws)),
        "adapter": timed(lambda: (prepare(raw) for raw in read)),
        "engine": timed(
            lambda: (decide_parsed(p, as_of=AS_OF, policy=policy, decision_id="b", evaluated_at="t") for p in parsed)
        ),
        "evaluate_one": timed(lambda: (evaluate_one(raw, as_of=AS_OF) for raw in read)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/drg-batch-bench"))
    parser.add_argument("--gzip", action="store_true", help="compressed export files")
    parser.add_argument("--child", nargs=3, metavar=("EXPORT", "OUT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        export, out, workers = args.child
        print(json.dumps(child_run(Path(export), Path(out), int(workers))))
        return

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the runs")
    costs = per_patient_costs()
    print(
        f"per patient, one process: whole record ({costs['kb']:.0f} KB) orjson.loads {costs['parse']:.2f} ms, "
        f"evaluate_one {costs['whole']:.2f} ms; what the policy reads ({costs['read_kb']:.0f} KB): "
        f"adapter (parse + R4B validation + projection + canonical) {costs['adapter']:.2f} ms, "
        f"engine {costs['engine']:.2f} ms, evaluate_one {costs['evaluate_one']:.2f} ms"
    )
    header = (
        f"{'patients':>8} {'MB':>7} {'workers':>7} {'seconds':>8} {'scan s':>7} {'audit s':>7} {'pat/s':>7} "
        f"{'MB/s':>6} {'floor MB/s':>10} {'ratio':>6} {'peak MB':>8} {'parent MB':>9} {'CPU s par/wrk':>14} {'load':>5}"
    )
    for count in args.patients:
        export = args.dir / f"export-{count}{'-gz' if args.gzip else ''}"
        if not export.exists():
            started = time.perf_counter()
            stats = write_export(export, count, compress=args.gzip)
            unread = sum(
                size
                for kind, size in stats.bytes_by_type.items()
                if kind in {"Claim", "ExplanationOfBenefit", "DiagnosticReport", "DocumentReference", "Immunization"}
            )
            print(
                f"\nwrote {export}: {stats.resources:,} resources, {stats.total_bytes / 1e6:,.0f} MB uncompressed, "
                f"{unread / stats.total_bytes:.0%} in types the rules never read "
                f"({time.perf_counter() - started:.0f} s)"
            )
        floor, _ = parse_floor(export)
        print(f"\nfloor: orjson.loads of every line of {export.name}: {floor:,.1f} MB/s")
        print(header)
        seconds_by_workers: dict[int, float] = {}
        for workers in args.workers:
            run_dir = args.dir / f"run-{count}-{workers}"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir(parents=True)
            env = {**os.environ, "DRG_ELIGIBILITY_DATABASE_URL": f"sqlite:///{run_dir / 'audit.db'}"}
            command = [
                sys.executable,
                __file__,
                "--child",
                str(export),
                str(run_dir / "decisions.ndjson"),
                str(workers),
            ]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            seconds_by_workers[workers] = r["seconds"]
            mb_s = r["export_bytes"] / 1e6 / r["seconds"]
            print(
                f"{r['patients']:>8,} {r['export_bytes'] / 1e6:>7,.0f} {workers:>7} {r['seconds']:>8.1f} "
                f"{r['scan_seconds']:>7.1f} {r['record_seconds']:>7.1f} {r['patients'] / r['seconds']:>7.1f} "
                f"{mb_s:>6.1f} {floor:>10.1f} {mb_s / floor:>6.3f} {r['peak_total_mb']:>8.0f} "
                f"{r['peak_parent_mb']:>9.0f} {r['parent_cpu_seconds']:>6.0f}/{r['workers_cpu_seconds']:<7.0f} "
                f"{r['load_average']:>5.2f}"
            )
            shutil.rmtree(run_dir)
        if 1 in seconds_by_workers and 2 in seconds_by_workers:
            print(f"speed-up 1 -> 2 workers: {seconds_by_workers[1] / seconds_by_workers[2]:.2f}x")


if __name__ == "__main__":
    main()
