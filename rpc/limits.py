"""Per-connection rate limiting (token buckets) and the server's connection count.

Theory of operation
-------------------
Every call has a cost (``Method.cost``, 1 for most). Each connection has a
``TokenBucket`` holding at most ``rate_limit_burst`` cost units, refilled at
``rate_limit_per_s``; a request (one call or a whole batch, charged at once)
that finds too few tokens is refused with -32005 "rate limited" and the time
after which it would fit (the code go-ethereum and many other nodes use for
rate limits). A WebSocket owns its bucket; HTTP connections are told apart
by the client address and port ASGI reports, kept in a bounded table
(``BucketTable``; the least recently used entry is forgotten). Since a client
can open a new connection for every batch, each client address also has a
bucket (``rate_limit_per_ip_s``, larger, for NAT) that all its connections
share; a request is charged to both (``RateLimit``).

``ConnectionGate`` counts HTTP requests in progress and open WebSockets
against ``max_connections``: hypercorn has no connection cap of its own, and
a request in progress is what holds a socket and memory (a slow body).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from rpc.errors import RATE_LIMITED, RpcError


class TokenBucket:
    """``capacity`` tokens, ``rate`` more each second; ``rate == 0`` never refuses."""

    __slots__ = ("_clock", "_stamp", "_tokens", "capacity", "rate", "scope")

    def __init__(
        self,
        rate: float,
        capacity: int,
        clock: Callable[[], float] = time.monotonic,
        scope: str = "this connection",
    ) -> None:
        self.scope = scope
        self.rate = rate
        self.capacity = float(capacity)
        self._clock = clock
        self._tokens = float(capacity)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def exhausted(self) -> bool:
        """Not even one token left: refuse before parsing the request at all."""
        if self.rate <= 0:
            return False
        self._refill()
        return self._tokens < 1

    def take(self, cost: int) -> float:
        """Take ``cost`` tokens and return 0, or take none and return the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        if cost <= self._tokens:
            self._tokens -= cost
            return 0.0
        return (cost - self._tokens) / self.rate

    def wait(self) -> float:
        """Seconds until one token is back (0 when there is one)."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)

    def charge(self, cost: int) -> None:
        """Take ``cost`` after the fact (a reply's bytes, a refused request's parsing),
        going into debt if need be, at most one burst deep: the next requests wait."""
        if self.rate <= 0 or cost <= 0:
            return
        self._refill()
        self._tokens = max(-self.capacity, self._tokens - cost)

    def refund(self, cost: int) -> None:
        """Give back what ``take`` took (another limit refused the same request)."""
        if self.rate > 0:
            self._tokens = min(self.capacity, self._tokens + cost)

    def refusal(self, cost: int, wait: float) -> RpcError:
        return RpcError(
            RATE_LIMITED,
            "rate limited",
            data=(
                f"{self.scope} may spend {self.rate:g} cost units per second "
                f"(bursts of {self.capacity:g}); this request costs {cost}; "
                f"retry in {wait:.2f} s"
            ),
        )

    def check(self, cost: int) -> None:
        """``take`` or raise the -32005 refusal."""
        wait = self.take(cost)
        if wait > 0:
            raise self.refusal(cost, wait)


class RateLimit:
    """Every bucket a request is charged to: its connection's and its address's."""

    __slots__ = ("buckets",)

    def __init__(self, *buckets: TokenBucket) -> None:
        self.buckets = buckets

    def exhausted(self) -> bool:
        return any(bucket.exhausted() for bucket in self.buckets)

    def wait(self) -> float:
        """Seconds until every bucket has a token again."""
        return max((bucket.wait() for bucket in self.buckets), default=0.0)

    def charge(self, cost: int) -> None:
        """Charge every bucket after the fact (``TokenBucket.charge``)."""
        for bucket in self.buckets:
            bucket.charge(cost)

    def check(self, cost: int) -> None:
        """Charge every bucket, or none of them and raise the first refusal."""
        taken: list[TokenBucket] = []
        for bucket in self.buckets:
            wait = bucket.take(cost)
            if wait > 0:
                for done in taken:
                    done.refund(cost)
                raise bucket.refusal(cost, wait)
            taken.append(bucket)


class BucketTable:
    """Token buckets keyed by (client address, port) or by client address."""

    def __init__(
        self, rate: float, capacity: int, max_entries: int, scope: str = "this connection"
    ) -> None:
        self.rate, self.capacity, self.max_entries = rate, capacity, max_entries
        self.scope = scope
        self._buckets: OrderedDict[Hashable, TokenBucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def bucket(self, key: Hashable) -> TokenBucket:
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = TokenBucket(self.rate, self.capacity, scope=self.scope)
            while len(self._buckets) > self.max_entries:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return found


class ConnectionGate:
    """HTTP requests in progress plus open WebSockets, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.refused = 0

    def enter(self) -> bool:
        if self.active >= self.limit:
            self.refused += 1
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        self.active -= 1
