"""What a fuzz target is, and the properties every one of them must keep.

Theory of operation
-------------------
A ``Target`` wraps one entry point that reads bytes from outside (a peer, a
client, a file): ``parse(data)`` either returns a value or raises one of the
module's *declared* error types (``refusals``). ``exercise(target, data)``
runs it and turns every broken promise into an exception:

* any exception that is not a declared refusal is a crash and propagates;
* a refusal whose message is empty, or that does not say what is wrong
  (``explains``), raises ``UnclearRefusal``;
* an accepted value must pass the target's ``accepted`` check (for example,
  a decoded value re-encodes to the very same bytes);
* the whole call runs under ``time_limit``: a hang raises ``Hang`` from a
  SIGALRM timer instead of stalling the run.

The same ``exercise`` is called by the hypothesis tests in this package and by
``scripts/fuzz_atheris.py`` / ``scripts/fuzz.py``, so the properties are
written once. ``seeds()`` gives valid inputs (libFuzzer mutates them; the
hypothesis strategies mutate them too); files under ``corpus/<target>/``
are inputs that once broke a property, replayed by ``test_corpus.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"

# Examples per hypothesis property. The default keeps tests/fuzz well under a
# minute on two busy cores; CREDICHAIN_FUZZ_EXAMPLES=5000 is a longer run.
EXAMPLES = int(os.environ.get("CREDICHAIN_FUZZ_EXAMPLES", "120"))
# One input taking longer than this is a hang, whatever the machine's load.
HANG_SECONDS = 5.0


class Hang(Exception):
    """An input that kept a target busy for longer than ``HANG_SECONDS``."""


class UnclearRefusal(AssertionError):
    """A refusal that does not say what is wrong."""


@contextlib.contextmanager
def time_limit(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Raise ``Hang`` in the main thread if the body runs longer than ``seconds``."""

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"input still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _no_check(_data: bytes, _value: Any) -> None:
    return None


def _message_is_enough(_exc: BaseException) -> str | None:
    return None


@dataclass(frozen=True)
class Target:
    """One fuzzed entry point and what counts as a clean answer from it."""

    name: str
    doc: str
    parse: Callable[[bytes], Any]
    refusals: tuple[type[BaseException], ...]
    seeds: Callable[[], list[bytes]]
    accepted: Callable[[bytes, Any], None] = _no_check
    # Extra demand on a refusal beyond a non-empty message: None if it is fine,
    # else what is missing (e.g. an InvalidExtrinsic kind not in spec/rpc.md).
    explains: Callable[[BaseException], str | None] = _message_is_enough
    tags: frozenset[str] = field(default_factory=frozenset)


def exercise(target: Target, data: bytes, *, watchdog: bool = True) -> str:
    """Run ``target`` on ``data``; return "accepted" or "refused", else raise.

    ``watchdog=False`` leaves SIGALRM alone, for a caller (libFuzzer's
    ``-timeout``) that already owns it.
    """
    with time_limit() if watchdog else contextlib.nullcontext():
        try:
            value = target.parse(data)
        except target.refusals as exc:
            message = str(exc).strip()
            if not message:
                raise UnclearRefusal(
                    f"{target.name}: {type(exc).__name__} with an empty message"
                ) from exc
            problem = target.explains(exc)
            if problem is not None:
                raise UnclearRefusal(f"{target.name}: {problem} ({message!r})") from exc
            return "refused"
        target.accepted(data, value)
        return "accepted"


def corpus_files(target_name: str) -> list[Path]:
    directory = CORPUS / target_name
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
