"""How long ``credichain`` takes to answer, beside a bare interpreter in the same run.

Times whole processes (as a person waits for them): ``python -c pass`` (the
floor no command can beat), ``credichain --help`` (the index alone,
node/cli/main.py), ``credichain version`` and ``credichain fund --help`` (one
group imported). Prints the median and the slowest of ``--runs`` runs of each,
and each median as a multiple of the floor, so that figures from machines of
different speeds can be compared. The target of issue 21 is ``--help`` under
0.3 s.

    .venv/bin/python scripts/bench_cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "credichain --help": [sys.executable, "-m", "node.cli.main", "--help"],
    "credichain version": [sys.executable, "-m", "node.cli.main", "version"],
    "credichain fund --help": [sys.executable, "-m", "node.cli.main", "fund", "--help"],
}


def wall_times(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (>= 3)")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.runs} runs each")
    floor = 0.0
    for label, command in CASES.items():
        times = wall_times(command, args.runs)
        median = statistics.median(times)
        floor = floor or median
        print(
            f"  {label:26} median {median * 1000:6.0f} ms  slowest {max(times) * 1000:6.0f} ms"
            f"  {median / floor:5.1f}x the floor"
        )


if __name__ == "__main__":
    main()
