"""The follower loop: from the high-water mark to the node's best block, then wait for more.

Theory of operation
-------------------
``follow`` reads the high-water mark, fetches the next ``batch`` blocks from
the node (``node.indexer.fetch``), writes each in its own transaction
(``node.indexer.sink``), and repeats; once it has reached the node's best
block it sleeps ``poll_s`` and asks again (with BFT finality the best block
is final: nothing written is ever taken back). It stops when the mark
reaches ``until``, or, with ``once``, when it has caught up.

A lost connection to the node or a node that asks it to slow down (-32005)
is waited out (``retry_s``, doubling up to a minute) and the range fetched
again; anything else (a block that does not hash as announced, a database of
another chain, a schema version it does not write) stops it with a message.
Killed at any moment, it resumes from the mark: the block it was writing is
fetched and written again, and the sink makes that write a no-op if it had
committed (see node/indexer/sink.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from node.indexer.fetch import ChainIdentity, Fetcher, FetchError
from node.indexer.rows import created_funds
from node.indexer.sink import HighWater, PostgresSink
from rpc.client import RpcConnectionError
from rpc.encoding import hex0x
from rpc.errors import RATE_LIMITED, RpcError

__all__ = ["FollowOptions", "follow"]

MAX_RETRY_S: Final = 60.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FollowOptions:
    batch: int = 32
    poll_s: float = 1.0
    retry_s: float = 1.0
    until: int | None = None
    once: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.batch <= 1000:
            raise ValueError(f"batch must be 1..1000 blocks, got {self.batch}")
        if self.poll_s <= 0 or self.retry_s <= 0:
            raise ValueError("poll_s and retry_s must be positive")
        if self.until is not None and self.until < 0:
            raise ValueError(f"until must be a height (>= 0), got {self.until}")


def _transient(exc: Exception) -> bool:
    if isinstance(exc, RpcError):
        return exc.code == RATE_LIMITED
    return isinstance(exc, (RpcConnectionError, OSError))


def follow(
    fetcher: Fetcher,
    sink: PostgresSink,
    options: FollowOptions,
    *,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> HighWater | None:
    """Index until ``options`` say to stop; the final high-water mark."""
    identity = _with_retries(fetcher.identity, options, log, sleep)
    sink.lock()
    sink.ensure_schema()
    mark = sink.attach(identity)
    cash = sink.cash_accounts(identity.hrp)
    log(
        f"indexing {identity.chain} (genesis 0x{identity.genesis_hash.hex()}) from block "
        f"{0 if mark is None else mark.height + 1}"
    )
    while True:
        if options.until is not None and mark is not None and mark.height >= options.until:
            return mark
        best = _with_retries(fetcher.best_height, options, log, sleep)
        first = 0 if mark is None else mark.height + 1
        last = min(best, first + options.batch - 1)
        if options.until is not None:
            last = min(last, options.until)
        if first > last:
            if options.once:
                return mark
            sleep(options.poll_s)
            continue
        mark = _index_range(fetcher, sink, identity, mark, first, last, cash, options, log, sleep)
        log(f"indexed blocks {first}..{last} (node at {best})")


def _index_range(
    fetcher: Fetcher,
    sink: PostgresSink,
    identity: ChainIdentity,
    mark: HighWater | None,
    first: int,
    last: int,
    cash: dict[bytes, int],
    options: FollowOptions,
    log: Callable[[str], None],
    sleep: Callable[[float], None],
) -> HighWater:
    prev_time = None if mark is None else mark.time_ms
    fetched = _with_retries(
        lambda: fetcher.fetch(
            first, last, identity=identity, prev_time_ms=prev_time, cash_accounts=cash
        ),
        options,
        log,
        sleep,
    )
    for block in fetched:
        sink.write(block, identity)
        for receipt in block.receipts:
            cash.update(created_funds(receipt.events))
        cash.update(created_funds(block.hook_events))
        mark = HighWater(block.height, hex0x(block.block.hash), block.block.header.timestamp_ms)
    if mark is None:
        raise FetchError(f"the node returned no block for {first}..{last}")
    return mark


def _with_retries(
    action: Callable[[], T],
    options: FollowOptions,
    log: Callable[[str], None],
    sleep: Callable[[float], None],
) -> T:
    wait = options.retry_s
    while True:
        try:
            return action()
        except (RpcError, RpcConnectionError, OSError) as exc:
            if not _transient(exc):
                raise
            log(f"node unavailable ({exc}); retrying in {wait:.0f} s")
            sleep(wait)
            wait = min(MAX_RETRY_S, wait * 2)
