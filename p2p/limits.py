"""Bounded bookkeeping for peers: seen-hash LRUs, token buckets, fault scores.

Theory of operation
-------------------
Everything a peer can make us remember is bounded. ``SeenSet`` is an LRU
of hashes with a fixed capacity: the oldest entry leaves when a new one
arrives, so a flood of distinct hashes costs a constant amount of memory.

``TokenBucket`` meters what a peer may send us (bytes and messages). It is a
plain bucket refilled at ``rate`` per second up to ``burst``; taking more
than is available puts the bucket into debt and tells the caller how long to
wait, so one huge frame is allowed but the next ones are delayed
proportionally. The clock is passed in (``now``), which keeps this module
free of I/O and lets tests drive it with exact numbers.

``PeerScores`` counts faults per identity. Each fault adds points; points
decay linearly with time; reaching ``ban_threshold`` bans the identity for
``ban_seconds``. A banned identity is refused at the handshake. These are
operational bounds, not consensus state, so float seconds are fine here.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


class SeenSet:
    """A bounded set of hashes; the least recently added or touched leaves first."""

    __slots__ = ("_entries", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"SeenSet capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[bytes, None] = OrderedDict()

    def add(self, key: bytes) -> bool:
        """Remember ``key``; True if it was new."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return False
        self._entries[key] = None
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)


class TokenBucket:
    """Tokens refill at ``rate``/s up to ``burst``; taking may go into debt."""

    __slots__ = ("_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError(f"token bucket needs rate > 0 and burst > 0, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = now

    def take(self, amount: float, now: float) -> float:
        """Take ``amount`` tokens; return the seconds to wait before going on (0 if none).

        The tokens are taken at once (the bucket may go negative); the wait
        is how long the refill needs to bring the bucket back to zero.
        """
        if amount < 0:
            raise ValueError(f"cannot take a negative amount of tokens ({amount})")
        self._refill(now)
        self._tokens -= amount
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate

    def available(self, now: float) -> float:
        self._refill(now)
        return self._tokens


@dataclass(slots=True)
class _Score:
    points: float
    updated: float
    banned_until: float


class PeerScores:
    """Fault points per identity with linear decay, and temporary bans."""

    def __init__(
        self,
        ban_threshold: float = 100.0,
        decay_per_second: float = 1.0,
        ban_seconds: float = 300.0,
        capacity: int = 4096,
    ) -> None:
        self.ban_threshold = ban_threshold
        self.decay_per_second = decay_per_second
        self.ban_seconds = ban_seconds
        self.capacity = capacity
        self._scores: OrderedDict[bytes, _Score] = OrderedDict()

    def _current(self, identity: bytes, now: float) -> _Score:
        score = self._scores.get(identity)
        if score is None:
            score = _Score(0.0, now, 0.0)
            self._scores[identity] = score
            if len(self._scores) > self.capacity:
                self._scores.popitem(last=False)
        else:
            elapsed = max(0.0, now - score.updated)
            score.points = max(0.0, score.points - elapsed * self.decay_per_second)
            score.updated = now
            self._scores.move_to_end(identity)
        return score

    def penalize(self, identity: bytes, points: float, now: float) -> bool:
        """Add fault points; True if the identity is now banned."""
        score = self._current(identity, now)
        score.points += points
        if score.points >= self.ban_threshold:
            score.banned_until = now + self.ban_seconds
            score.points = 0.0
        return score.banned_until > now

    def points(self, identity: bytes, now: float) -> float:
        return self._current(identity, now).points

    def is_banned(self, identity: bytes, now: float) -> bool:
        score = self._scores.get(identity)
        return score is not None and score.banned_until > now

    def unban(self, identity: bytes) -> None:
        self._scores.pop(identity, None)
