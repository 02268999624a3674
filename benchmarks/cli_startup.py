"""How long `drg-eligibility --help`, `policy list` and `info` take from a cold process (issue 11: < 1 s).

    python benchmarks/cli_startup.py [--runs 5]

Prints the median and the slowest of the runs per command, with the machine's load average beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["policy", "list"], ["info"], ["--version"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    entry = [sys.executable, "-c", "from eligibility.cli import main; main()"]
    print(f"load average {os.getloadavg()[0]:.2f}, {args.runs} runs each")
    for command in COMMANDS:
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([*entry, *command], capture_output=True, check=True, timeout=120)
            times.append(time.perf_counter() - start)
        print(f"{' '.join(command):<14} median {statistics.median(times):.2f} s   slowest {max(times):.2f} s")


if __name__ == "__main__":
    main()
