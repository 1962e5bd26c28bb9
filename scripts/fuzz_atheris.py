"""Coverage-guided fuzzing of credichain's input parsers with atheris (libFuzzer).

Theory of operation
-------------------
The targets and their properties live in ``tests/fuzz`` (``TARGETS``; the
properties in ``tests/fuzz/harness.py``): the canonical codec, the extrinsic
decoder and validator, p2p frames and messages, the p2p handshake, JSON-RPC
bodies. libFuzzer runs until its time is up and then exits the process, so
this script runs each target in a child process of its own
(``--child NAME``), one after the other, and prints what each did:
executions, seconds, executions per second, corpus growth, crashes.

Inputs that grow coverage are kept in ``test-artifacts/fuzz-corpus/<target>``
(git-ignored) and reused by the next run, seeded with the target's valid
inputs and its regression corpus. An input that breaks a property (an
undeclared exception, an unclear refusal, a hang over 5 s, memory over the
limit) is written by libFuzzer to ``tests/fuzz/corpus/<target>/`` as
``crash-*``, ``timeout-*`` or ``oom-*``: from then on ``tests/fuzz/test_corpus.py``
replays it and fails until it is fixed, then it stays as a regression case.

Usage::

    .venv/bin/python scripts/fuzz_atheris.py                  # every target, 60 s each
    .venv/bin/python scripts/fuzz_atheris.py --seconds 600 --target codec

Exit status: 0 when no target broke a property, 1 otherwise, 2 when atheris
is not installed (``pip install atheris``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "test-artifacts" / "fuzz-corpus"
REGRESSIONS = ROOT / "tests" / "fuzz" / "corpus"
NAMES = ("codec", "extrinsic", "p2p_frames", "p2p_handshake", "rpc_http")
HANG_SECONDS = 5
RSS_LIMIT_MB = 2048


@dataclass(frozen=True, slots=True)
class Outcome:
    target: str
    executions: int
    seconds: float
    new_units: int
    artifacts: list[Path]
    returncode: int

    @property
    def per_second(self) -> float:
        return self.executions / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- child


def run_child(name: str, seconds: int, max_len: int) -> None:
    """Fuzz one target in this process until libFuzzer's time is up (it exits)."""
    import atheris  # type: ignore[import-untyped]

    sys.path.insert(0, str(ROOT))
    with atheris.instrument_imports(include=["ledger", "p2p", "rpc", "pallets"]):
        from tests.fuzz.harness import corpus_files, exercise
        from tests.fuzz.targets import TARGETS

    target = TARGETS[name]
    work = WORK / name
    work.mkdir(parents=True, exist_ok=True)
    for seed in [*target.seeds(), *(p.read_bytes() for p in corpus_files(name))]:
        (work / ("seed-" + hashlib.sha1(seed).hexdigest())).write_bytes(seed)
    artifacts = REGRESSIONS / name
    artifacts.mkdir(parents=True, exist_ok=True)

    def one_input(data: bytes) -> None:
        exercise(target, data, watchdog=False)  # libFuzzer's -timeout owns SIGALRM

    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={seconds}",
            f"-timeout={HANG_SECONDS}",
            f"-rss_limit_mb={RSS_LIMIT_MB}",
            f"-max_len={max_len}",
            f"-artifact_prefix={artifacts}/",
            "-print_final_stats=1",
            str(work),
        ],
        one_input,
    )
    atheris.Fuzz()


# ---------------------------------------------------------------- parent


def _stat(text: str, name: str) -> int:
    found = re.search(rf"stat::{name}:\s+(\d+)", text)
    return int(found.group(1)) if found else 0


ARTIFACT_PREFIXES = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")


def _artifacts(name: str) -> set[Path]:
    """What libFuzzer wrote for ``name`` (hand-written regression cases are not counted)."""
    directory = REGRESSIONS / name
    if not directory.is_dir():
        return set()
    return {p for p in directory.iterdir() if p.name.startswith(ARTIFACT_PREFIXES)}


def fuzz_one(name: str, seconds: int, max_len: int) -> Outcome:
    before = _artifacts(name)
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            name,
            "--seconds",
            str(seconds),
            "--max-len",
            str(max_len),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 120,
    )
    elapsed = time.monotonic() - started
    log = WORK / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    done = re.search(r"Done (\d+) runs in (\d+) second", proc.stderr)
    executions = int(done.group(1)) if done else _stat(proc.stderr, "number_of_executed_units")
    after = _artifacts(name)
    return Outcome(
        target=name,
        executions=executions,
        seconds=float(done.group(2)) if done else elapsed,
        new_units=_stat(proc.stderr, "new_units_added"),
        artifacts=sorted(after - before),
        returncode=proc.returncode,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="time per target")
    parser.add_argument("--target", action="append", choices=NAMES, help="repeatable; default all")
    parser.add_argument("--max-len", type=int, default=4096, help="longest input libFuzzer tries")
    parser.add_argument("--child", choices=NAMES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seconds < 1:
        parser.error("--seconds must be at least 1")
    if importlib.util.find_spec("atheris") is None:
        print("atheris is not installed: .venv/bin/pip install atheris", file=sys.stderr)
        return 2
    if args.child:
        run_child(args.child, args.seconds, args.max_len)
        return 0  # not reached: libFuzzer exits the process
    failed = False
    print(f"{'target':<15}{'executions':>12}{'seconds':>9}{'exec/s':>10}{'new units':>11}  result")
    for name in args.target or NAMES:
        outcome = fuzz_one(name, args.seconds, args.max_len)
        broken = outcome.returncode != 0 or bool(outcome.artifacts)
        failed |= broken
        result = "ok" if not broken else f"BROKEN (exit {outcome.returncode})"
        print(
            f"{name:<15}{outcome.executions:>12}{outcome.seconds:>9.0f}"
            f"{outcome.per_second:>10.0f}{outcome.new_units:>11}  {result}",
            flush=True,
        )
        for path in outcome.artifacts:
            print(f"    kept as a regression case: {path.relative_to(ROOT)}")
        if broken:
            print(f"    log: {(WORK / f'{name}.log').relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
