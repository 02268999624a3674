"""How fast is one evaluation, and where does the time go?

Prints, per input: orjson parse (the floor), parse+validate+project (fhir_adapters), the engine
alone (derive + durable_rules + compose), and the end-to-end pipeline, with ratios to the floor.

    python benchmarks/engine_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import orjson

from eligibility.from_fhir import decide_parsed, prepare
from eligibility.policy import load_policy

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "examples" / "fhir-samples"
AS_OF = date(2026, 11, 20)


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds per call (after one warm-up call)."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    policy = load_policy()
    inputs = [REPO / "examples" / "crps-left-foot.json"]
    inputs += sorted(SAMPLES.glob("*_*.json")) if SAMPLES.exists() else []
    header = f"{'input':<34} {'KB':>7} {'parse ms':>9} {'adapt ms':>9} {'engine ms':>10} {'total ms':>9} {'eval/s':>8}"
    print(header)
    print("-" * len(header))
    for path in inputs:
        raw = path.read_bytes()
        parsed = prepare(raw)

        def engine(parsed: object = parsed) -> object:
            return decide_parsed(parsed, as_of=AS_OF, policy=policy, decision_id="b", evaluated_at="t")  # type: ignore[arg-type]

        def total(raw: bytes = raw) -> object:
            return decide_parsed(prepare(raw), as_of=AS_OF, policy=policy, decision_id="b", evaluated_at="t")

        floor = timed(lambda raw=raw: orjson.loads(raw), args.repeat)
        adapt = timed(lambda raw=raw: prepare(raw), args.repeat)
        eng = timed(engine, args.repeat)
        tot = timed(total, args.repeat)
        print(
            f"{path.name[:34]:<34} {len(raw) / 1024:7.0f} {floor * 1e3:9.2f} {adapt * 1e3:9.2f} {eng * 1e3:10.2f} "
            f"{tot * 1e3:9.2f} {1 / tot:8.0f}"
        )
        print(
            f"{'':<34} ratios to the orjson floor: adapters {adapt / floor:5.1f}x, engine {eng / floor:5.1f}x, "
            f"end-to-end {tot / floor:5.1f}x; end-to-end {len(raw) / tot / 1e6:6.1f} MB/s"
        )


if __name__ == "__main__":
    main()
