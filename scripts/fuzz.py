"""Time-bounded fuzzing with hypothesis (no atheris needed), examples/s per target.

Theory of operation
-------------------
The same targets and properties as ``scripts/fuzz_atheris.py`` and
``tests/fuzz`` (``tests/fuzz/harness.py``), driven by the structured
strategies of ``tests/fuzz/strategies.py`` instead of libFuzzer's coverage
feedback. Each target generates examples until its time is up: the test
function raises ``TimeUp`` then, and only the generate phase runs (no
shrinking, so the stop is immediate). An input that breaks a property is
written to ``tests/fuzz/corpus/<target>/crash-<sha1>`` (replayed by
tests/fuzz/test_corpus.py until fixed); run ``pytest tests/fuzz`` with
``CREDICHAIN_FUZZ_EXAMPLES`` raised to get it shrunk.

Usage::

    .venv/bin/python scripts/fuzz.py --seconds 60 [--target codec ...]

Exit status 0 when every target kept its properties, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.fuzz import strategies  # noqa: E402
from tests.fuzz.harness import CORPUS, exercise  # noqa: E402
from tests.fuzz.targets import TARGETS  # noqa: E402

STRATEGIES: dict[str, st.SearchStrategy[bytes]] = {
    "codec": strategies.codec_inputs(),
    "extrinsic": strategies.extrinsic_inputs(),
    "p2p_frames": strategies.frame_inputs(),
    "p2p_handshake": strategies.handshake_inputs(),
    "rpc_http": strategies.rpc_inputs(),
}


class TimeUp(Exception):
    """Raised inside the property when the target's time is over (not a failure)."""


def fuzz_target(name: str, seconds: float) -> tuple[int, float, list[bytes]]:
    """Run ``name`` for ``seconds``; (examples, elapsed, inputs that broke a property)."""
    target = TARGETS[name]
    target.seeds()  # build what the target caches before the clock starts
    broken: list[bytes] = []
    count = 0
    started = time.monotonic()
    deadline = started + seconds

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(STRATEGIES[name])
    def run(data: bytes) -> None:
        nonlocal count
        if time.monotonic() >= deadline:
            raise TimeUp
        count += 1
        try:
            exercise(target, data)
        except Exception:
            broken.append(data)
            raise

    try:
        run()
    except TimeUp:
        pass
    except Exception:  # a broken property: hypothesis stopped at the first one
        traceback.print_exc()
    return count, time.monotonic() - started, broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="time per target")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS))
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    failed = False
    print(f"{'target':<15}{'examples':>10}{'seconds':>9}{'examples/s':>12}  result")
    for name in args.target or list(STRATEGIES):
        count, elapsed, broken = fuzz_target(name, args.seconds)
        failed |= bool(broken)
        print(
            f"{name:<15}{count:>10}{elapsed:>9.0f}{count / elapsed:>12.0f}  "
            + ("ok" if not broken else "BROKEN"),
            flush=True,
        )
        for data in broken[:1]:
            path = CORPUS / name / ("crash-" + hashlib.sha1(data).hexdigest())
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"    kept as a regression case: {path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
