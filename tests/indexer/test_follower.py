"""node/indexer/follower.py: the loop over a real PostgreSQL, fed blocks built by the runtime.

The fetcher here serves blocks from a ``ChainBuilder`` instead of a node's
RPC (the end-to-end test, tests/e2e/test_indexer_postgres.py, follows a real
node), and can be told to lose its node for a few calls.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import psycopg
import pytest

from node.indexer.fetch import ChainIdentity, Fetcher
from node.indexer.follower import FollowOptions, follow
from node.indexer.rows import FetchedBlock
from node.indexer.sink import PostgresSink
from node.testing.replay_fixture import ChainBuilder
from rpc.client import RpcConnectionError
from rpc.errors import INVALID_PARAMS, RATE_LIMITED, RpcError
from tests.indexer.chain import genesis_block, identity, transfer_blocks


class BuiltFetcher(Fetcher):
    """Serves ``blocks``; the next ``failures`` calls to ``best_height`` raise ``error``."""

    def __init__(self, builder: ChainBuilder, blocks: list[FetchedBlock]) -> None:
        self.chain = identity(builder)
        self.blocks = blocks
        self.failures = 0
        self.error: Exception = RpcConnectionError("cannot reach the node")
        self.ranges: list[tuple[int, int]] = []

    def identity(self) -> ChainIdentity:
        return self.chain

    def best_height(self) -> int:
        if self.failures:
            self.failures -= 1
            raise self.error
        return len(self.blocks) - 1

    def fetch(
        self,
        first: int,
        last: int,
        *,
        identity: ChainIdentity,
        prev_time_ms: int | None,
        cash_accounts: Mapping[bytes, int],
    ) -> list[FetchedBlock]:
        self.ranges.append((first, last))
        return self.blocks[first : last + 1]


@pytest.fixture
def chain() -> Iterator[tuple[ChainBuilder, list[FetchedBlock]]]:
    builder = ChainBuilder(validators=1, accounts=3)
    yield builder, [genesis_block(builder), *transfer_blocks(builder, 6, per_block=2)]
    builder.close()


def _mark(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT height FROM indexer_state").fetchone()
    assert row is not None
    return int(row[0])


def test_it_catches_up_in_batches_and_resumes_after_its_mark(
    chain: tuple[ChainBuilder, list[FetchedBlock]], db_url: str
) -> None:
    builder, blocks = chain
    fetcher = BuiltFetcher(builder, blocks)
    logs: list[str] = []
    sink = PostgresSink.connect(db_url)
    high = follow(fetcher, sink, FollowOptions(batch=3, until=4), log=logs.append)
    sink.close()
    assert high is not None and high.height == 4 and _mark(db_url) == 4
    assert fetcher.ranges == [(0, 2), (3, 4)]
    assert logs[0].startswith(f"indexing {builder.genesis.chain} (genesis 0x")
    assert logs[0].endswith("from block 0")

    logs.clear()
    sink = PostgresSink.connect(db_url)
    high = follow(fetcher, sink, FollowOptions(batch=3, once=True), log=logs.append)
    sink.close()
    assert high is not None and high.height == 6 and _mark(db_url) == 6
    assert logs[0].endswith("from block 5") and fetcher.ranges[-1] == (5, 6)


def test_a_lost_node_is_waited_out_and_other_refusals_stop_it(
    chain: tuple[ChainBuilder, list[FetchedBlock]], db_url: str
) -> None:
    builder, blocks = chain
    fetcher = BuiltFetcher(builder, blocks)
    fetcher.failures = 3
    logs: list[str] = []
    waits: list[float] = []
    sink = PostgresSink.connect(db_url)
    options = FollowOptions(once=True, retry_s=0.5)
    high = follow(fetcher, sink, options, log=logs.append, sleep=waits.append)
    assert high is not None and high.height == 6
    assert waits == [0.5, 1.0, 2.0]  # doubling
    assert sum("node unavailable (cannot reach the node); retrying" in line for line in logs) == 3

    fetcher.failures, fetcher.error = 1, RpcError(RATE_LIMITED, "rate limited")
    waits.clear()
    follow(fetcher, sink, options, log=logs.append, sleep=waits.append)
    assert waits == [0.5]

    fetcher.failures, fetcher.error = 1, RpcError(INVALID_PARAMS, data="at: unknown block")
    with pytest.raises(RpcError, match="at: unknown block"):
        follow(fetcher, sink, options, log=logs.append, sleep=waits.append)
    sink.close()


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match=r"batch must be 1\.\.1000 blocks, got 0"):
        FollowOptions(batch=0)
    with pytest.raises(ValueError, match="until must be a height"):
        FollowOptions(until=-1)
