"""The runtime and localnet benchmarks (README's figures) in small real runs.

No timing is asserted: the figures belong to the benchmarks (docs/status.md).
These runs check that the commands the README gives work end to end and print
what the figures are read from.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _run(*argv: str, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_bench_runtime_quick_reports_rates_and_memory() -> None:
    out = _run("scripts/bench_runtime.py", "--quick", timeout=120)
    assert "transfers/s" in out
    assert "peak" in out and "VmHWM" in out


def test_bench_localnet_reports_throughput_against_its_ceiling_and_cleans_up() -> None:
    before = set(Path(tempfile.gettempdir()).glob("credichain-bench-*"))
    out = _run(
        "scripts/bench_localnet.py",
        *("--duration", "3", "--rate", "100", "--senders", "8", "--validators", "4"),
        timeout=300,
    )
    assert "verifications/s on 1 thread" in out
    assert "of the ceiling" in out
    assert "finality latency: p50" in out
    cpu_lines = [line for line in out.splitlines() if line.strip().startswith("node")]
    assert len(cpu_lines) == 4 and all("verifications" in line for line in cpu_lines)
    assert set(Path(tempfile.gettempdir()).glob("credichain-bench-*")) == before


def test_bench_localnet_refuses_a_negative_bracket() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/bench_localnet.py", "--find-max", "--high", "-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--high must be >= 0" in done.stderr


def test_bench_runtime_alternates_sizes_over_rounds_and_compares_best_rounds() -> None:
    out = _run(
        "scripts/bench_runtime.py",
        *("--accounts", "2000", "4000", "--blocks", "1", "--block-size", "200"),
        *("--warmup", "0", "--threads", "1", "--rounds", "2"),
        timeout=300,
    )
    rounds = [line for line in out.splitlines() if line.startswith("== ") and ", round " in line]
    assert rounds == [
        "== 2,000 accounts, round 1 of 2",
        "== 4,000 accounts, round 1 of 2",
        "== 2,000 accounts, round 2 of 2",
        "== 4,000 accounts, round 2 of 2",
    ]
    assert "(rounds " in out
    assert "ratio 4,000 / 2,000 accounts: threads=1: " in out


def test_bench_runtime_refuses_zero_rounds() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/bench_runtime.py", "--rounds", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--rounds must be at least 1" in done.stderr
