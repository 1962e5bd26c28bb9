"""Proposer selection: CometBFT's weighted round robin, a pure function of the set.

Theory of operation
-------------------
CometBFT's proposer-priority algorithm (spec/consensus/proposer-selection.md):
each validator carries a priority, initially 0. One *increment* adds each
validator's power to its priority, picks the validator with the highest
priority (ties: the smaller public key), and subtracts the total power from
the winner's priority. Priorities always sum to 0 and every validator is
picked in proportion to its power; a validator with the most power does not
propose twice in a row while others wait for long ("smooth" round robin).

CometBFT carries priorities across heights in the chain state. To keep the
proposer a pure function of (validator set, height, round), credichain runs
the algorithm from zero priorities for the set: the proposer of (height,
round) is the winner of increment number ``height + round + 1``, counting
the increments from 1 (docs/protocol/consensus.md §6 has a worked example
that a test checks). Starting from zero the sequence is periodic:
after ``cycle = sum(power // g)`` increments (``g`` = gcd of the powers) each
validator has been picked exactly ``power // g`` times and every priority is
back to 0, so only the increment number modulo ``cycle`` matters (tests
check this property).
Dividing by ``g`` does not change any comparison, so the picks are those of
the undivided powers. When the set changes (at H+2, see
``consensus/__init__.py``) the schedule restarts from zero priorities for the
new set, where CometBFT would carry the old priorities over.

``ProposerSelector`` memoises the state at the start of the current height
so that the usual query pattern — rounds 0, 1, 2... of height h, then height
h+1 — costs O(n) per increment, O(n · round) per query.
"""

from __future__ import annotations

from math import gcd

from ledger.types import ValidatorSet


class _Schedule:
    """Zero-start priorities of one validator set, advanced one increment at a time."""

    def __init__(self, validator_set: ValidatorSet) -> None:
        if not validator_set.validators:
            raise ValueError("proposer selection needs a non-empty validator set")
        # Sorted by public key (ValidatorSet's invariant), so "first max wins" is
        # "smaller public key wins" on ties.
        self.keys = [v.public for v in validator_set.validators]
        g = 0
        for v in validator_set.validators:
            g = gcd(g, v.power)
        self.powers = [v.power // g for v in validator_set.validators]
        self.total = sum(self.powers)
        self.cycle = self.total

    def pick(self, priorities: list[int]) -> int:
        """The index the next increment picks from ``priorities`` (not modified)."""
        best = 0
        best_priority = priorities[0] + self.powers[0]
        for i in range(1, len(priorities)):
            p = priorities[i] + self.powers[i]
            if p > best_priority:
                best, best_priority = i, p
        return best

    def advance(self, priorities: list[int], times: int) -> None:
        """Apply ``times`` increments to ``priorities`` in place."""
        powers, total, n = self.powers, self.total, len(self.powers)
        for _ in range(times):
            best = 0
            best_priority = priorities[0] + powers[0]
            priorities[0] = best_priority
            for i in range(1, n):
                p = priorities[i] + powers[i]
                priorities[i] = p
                if p > best_priority:
                    best, best_priority = i, p
            priorities[best] -= total


class ProposerSelector:
    """``proposer(height, round)`` for one validator set, memoised per height."""

    def __init__(self, validator_set: ValidatorSet) -> None:
        self.validator_set = validator_set
        self._schedule = _Schedule(validator_set)
        self._base_index = 0  # k (mod cycle) of _base_priorities
        self._base_priorities = [0] * len(self._schedule.keys)
        self._base_height: int | None = None
        self._cache: dict[tuple[int, int], bytes] = {}

    def proposer(self, height: int, round_: int) -> bytes:
        if height < 0 or round_ < 0:
            raise ValueError(f"proposer: height and round must be >= 0, got {height}, {round_}")
        cached = self._cache.get((height, round_))
        if cached is not None:
            return cached
        schedule = self._schedule
        if self._base_height != height:
            target = height % schedule.cycle
            if target < self._base_index:
                self._base_priorities = [0] * len(schedule.keys)
                self._base_index = 0
            schedule.advance(self._base_priorities, target - self._base_index)
            self._base_index = target
            self._base_height = height
            self._cache.clear()
        priorities = list(self._base_priorities)
        schedule.advance(priorities, round_ % schedule.cycle)
        key = schedule.keys[schedule.pick(priorities)]
        self._cache[(height, round_)] = key
        return key


def proposer_of(validator_set: ValidatorSet, height: int, round_: int) -> bytes:
    """The proposer of (height, round) for ``validator_set`` (no memoisation)."""
    return ProposerSelector(validator_set).proposer(height, round_)
