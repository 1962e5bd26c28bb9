"""Small shared vocabulary of the consensus engine.

Theory of operation
-------------------
The engine decides on *values*. A value is identified by its block hash
(``ValueId``: 32 bytes); ``None`` stands for *nil*, the vote for no value.
The core never looks inside a block: the node builds and executes blocks and
tells the core the hash, whether the block is valid, and its BFT time.

Thresholds are by voting power and use integers only:

* a *quorum* (the paper's 2f+1) is power strictly above two thirds of the
  total: ``3 * power > 2 * total``;
* the *honest threshold* (the paper's f+1) is power strictly above one third:
  ``3 * power > total``. A set of validators that holds it contains at least
  one honest validator whenever the byzantine power is below one third.

Timeouts grow linearly with the round so that, after the network becomes
synchronous, some round's timeouts exceed the real message delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from ledger.crypto import HASH_LEN

ValueId = bytes
"""A block hash: the identity of the value the validators agree on."""

NIL_ROUND: Final = -1
"""``lockedRound``/``validRound``/``pol_round`` when there is none (paper: −1)."""

# Votes for rounds further than this above the current round are not stored
# (a byzantine validator could otherwise make us store votes for 2**64
# rounds); they still count for round skipping (see VoteKeeper).
MAX_ROUND_LOOKAHEAD: Final = 256


class ConsensusError(Exception):
    """Local misuse of the engine (a bug in the caller): fails loudly."""


class Step(IntEnum):
    """The step of the round machine (paper: step_p), ordered."""

    UNSTARTED = 0
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    COMMIT = 4  # decided; waiting for the node to start the next height


class TimeoutStep(IntEnum):
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3


@dataclass(frozen=True, slots=True)
class TimeoutParams:
    """``timeout<Step>(round) = base + round * delta_ms`` (paper §3, "timeouts grow")."""

    propose_ms: int = 1000
    prevote_ms: int = 500
    precommit_ms: int = 500
    delta_ms: int = 250

    def __post_init__(self) -> None:
        for name in ("propose_ms", "prevote_ms", "precommit_ms", "delta_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"TimeoutParams.{name} must be an integer >= 0, got {value!r}")
        if min(self.propose_ms, self.prevote_ms, self.precommit_ms) <= 0:
            raise ValueError("TimeoutParams base timeouts must be positive")

    def duration_ms(self, step: TimeoutStep, round_: int) -> int:
        if step is TimeoutStep.PROPOSE:
            base = self.propose_ms
        elif step is TimeoutStep.PREVOTE:
            base = self.prevote_ms
        else:
            base = self.precommit_ms
        return base + round_ * self.delta_ms


def is_quorum(power: int, total: int) -> bool:
    """Strictly more than 2/3 of ``total`` (the paper's 2f+1)."""
    return 3 * power > 2 * total


def is_honest_threshold(power: int, total: int) -> bool:
    """Strictly more than 1/3 of ``total`` (the paper's f+1)."""
    return 3 * power > total


def check_value_id(value: object, what: str) -> ValueId:
    if not isinstance(value, bytes) or len(value) != HASH_LEN:
        raise ConsensusError(f"{what}: expected a {HASH_LEN}-byte block hash, got {value!r}")
    return value


def check_height(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConsensusError(f"{what}: expected a height >= 1, got {value!r}")
    return value


def check_round(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConsensusError(f"{what}: expected a round >= 0, got {value!r}")
    return value
