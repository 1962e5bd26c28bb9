"""node/indexer/fetch.py over a stand-in client that answers from a real chain's block store.

The stand-in answers the JSON-RPC methods the fetcher uses as the node does
(raw blocks, raw events and receipts, hex hashes), from the store of a chain
built by the runtime; a test can tamper with one answer, or make batches
"too big", and the fetcher must notice. The real node is followed in
tests/e2e/test_indexer_postgres.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import pytest

from ledger import codec
from ledger.crypto import blake2b256
from node.indexer.fetch import MAX_BATCH_CALLS, Fetcher, FetchError
from node.testing.replay_fixture import ChainBuilder
from rpc.client import RpcClient
from rpc.errors import INVALID_PARAMS, RATE_LIMITED, RESPONSE_TOO_BIG, RpcError
from tests.indexer.chain import identity

Tamper = Callable[[str, list[Any], Any], Any]


class StoreClient:
    """Answers batches from ``builder``'s block store; ``tamper`` may rewrite an answer."""

    def __init__(self, builder: ChainBuilder, too_big_above: int = 10_000) -> None:
        self.store = builder.chain.blocks
        self.builder = builder
        self.too_big_above = too_big_above
        self.tamper: Tamper = lambda method, params, answer: answer
        self.batches: list[int] = []
        self.calls: list[tuple[str, list[Any]]] = []

    def _answer(self, method: str, params: list[Any]) -> Any:
        if method == "chain_getBlockHash":
            found = self.store.hash_at(params[0])
            return None if found is None else "0x" + found.hex()
        if method == "chain_getBlockRaw":
            block = self.store.block_by_hash(bytes.fromhex(params[0][2:]))
            return None if block is None else "0x" + block.encode().hex()
        if method == "chain_getEvents":
            block = self.store.block_by_hash(bytes.fromhex(params[0][2:]))
            events = [] if block is None else self.store.events_at(block.header.height) or []
            return {"events": [{"raw": "0x" + codec.encode(e.to_wire()).hex()} for e in events]}
        if method == "chain_getReceipt":
            located = self.store.receipt(bytes.fromhex(params[0][2:]))
            return None if located is None else {"raw": "0x" + located[2].encode().hex()}
        if method in ("loans_get", "funds_get", "funds_report"):
            return None
        if method == "chain_getGenesis":
            return {"document": self.builder.genesis.to_json_dict()}
        return RpcError(INVALID_PARAMS, data=f"{method} is not served here")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        if len(calls) > self.too_big_above:
            raise RpcError(RESPONSE_TOO_BIG, "response too big")
        self.batches.append(len(calls))
        self.calls += [(m, list(p)) for m, p in calls]
        return [self.tamper(m, list(p), self._answer(m, list(p))) for m, p in calls]

    def call(self, method: str, *params: Any) -> Any:
        return self._answer(method, list(params))


@pytest.fixture
def built() -> Iterator[ChainBuilder]:
    builder = ChainBuilder(validators=1, accounts=3)
    for _ in range(4):
        builder.add_block(builder.transfers(2))
    yield builder
    builder.close()


def _fetcher(client: StoreClient) -> Fetcher:
    return Fetcher(cast(RpcClient, client))


def test_a_range_comes_back_whole_checked_and_in_order(built: ChainBuilder) -> None:
    client = StoreClient(built)
    chain = identity(built)
    fetched = _fetcher(client).fetch(0, 4, identity=chain, prev_time_ms=None, cash_accounts={})
    assert [f.height for f in fetched] == [0, 1, 2, 3, 4]
    for f in fetched[1:]:
        stored = built.chain.blocks.block_by_height(f.height)
        assert stored is not None and f.block == stored
        assert [r.extrinsic_hash for r in f.receipts] == [blake2b256(x) for x in stored.extrinsics]
    doc = built.genesis.to_json_dict()
    assert {(b["account"], int(b["amount"])) for b in doc["balances"]} <= set(
        fetched[0].genesis_balances
    )
    assert all(len(b.receipts) == 2 for b in fetched[1:])


def test_batches_stay_small_and_split_when_the_reply_is_too_big(built: ChainBuilder) -> None:
    client = StoreClient(built, too_big_above=3)
    chain = identity(built)
    fetched = _fetcher(client).fetch(1, 4, identity=chain, prev_time_ms=None, cash_accounts={})
    assert [f.height for f in fetched] == [1, 2, 3, 4]
    assert max(client.batches) <= 3
    assert MAX_BATCH_CALLS <= 50  # 50 calls of cost 15 stay under the node's max_batch_cost


@pytest.mark.parametrize(
    ("method", "change", "message"),
    [
        ("chain_getBlockHash", lambda a: None, "the node has no block 2"),
        ("chain_getBlockRaw", lambda a: None, "the node has no block 2"),
        ("chain_getEvents", lambda a: {"events": [{"raw": "0x93a162a16380"}]}, "eventsRoot"),
        ("chain_getReceipt", lambda a: None, "block 1: the node has no receipt for 0x"),
    ],
)
def test_an_answer_that_does_not_match_the_header_is_refused(
    built: ChainBuilder, method: str, change: Callable[[Any], Any], message: str
) -> None:
    client = StoreClient(built)
    block_two = "0x" + (built.chain.blocks.hash_at(2) or b"").hex()

    def tamper(m: str, params: list[Any], answer: Any) -> Any:
        about_two = params and params[0] in (2, block_two)
        if m == method and (about_two or (m == "chain_getReceipt" and answer is not None)):
            return change(answer)
        return answer

    client.tamper = tamper
    with pytest.raises(FetchError, match=message):
        _fetcher(client).fetch(1, 3, identity=identity(built), prev_time_ms=None, cash_accounts={})


def test_another_block_than_asked_for_is_refused(built: ChainBuilder) -> None:
    client = StoreClient(built)
    three = built.chain.blocks.block_by_height(3)
    assert three is not None

    def tamper(m: str, params: list[Any], answer: Any) -> Any:
        if (
            m == "chain_getBlockRaw"
            and answer is not None
            and params[0].endswith((built.chain.blocks.hash_at(2) or b"").hex())
        ):
            return "0x" + three.encode().hex()
        return answer

    client.tamper = tamper
    with pytest.raises(FetchError, match="block 2: the node served another block"):
        _fetcher(client).fetch(1, 3, identity=identity(built), prev_time_ms=None, cash_accounts={})


def test_a_refused_call_names_the_method(built: ChainBuilder) -> None:
    client = StoreClient(built)
    client.tamper = lambda m, p, a: (
        RpcError(INVALID_PARAMS, data="at: pruned") if m == ("chain_getEvents") else a
    )
    with pytest.raises(FetchError, match=r"the node refused chain_getEvents\('0x"):
        _fetcher(client).fetch(1, 1, identity=identity(built), prev_time_ms=None, cash_accounts={})


def test_every_known_fund_is_reported_when_block_time_crosses_the_interval(
    built: ChainBuilder,
) -> None:
    client = StoreClient(built)
    fetcher = Fetcher(cast(RpcClient, client), report_interval_s=2)
    first = built.chain.blocks.block_by_height(1)
    assert first is not None
    fetched = fetcher.fetch(
        1,
        4,
        identity=identity(built),
        prev_time_ms=first.header.timestamp_ms - 1000,
        cash_accounts={b"\x01" * 32: 5},
    )
    reported = {
        params[1] for method, params in client.calls if method == "funds_report" and params[0] == 5
    }
    crossed = {
        "0x" + f.block.hash.hex()
        for f, prev in zip(
            fetched,
            [first.header.timestamp_ms - 1000, *(g.block.header.timestamp_ms for g in fetched)],
            strict=False,
        )
        if prev // 2000 != f.block.header.timestamp_ms // 2000
    }
    assert crossed and reported == crossed  # fund 5 at each block that starts an interval


def test_a_rate_limited_call_is_handed_to_the_follower_to_wait_out(built: ChainBuilder) -> None:
    client = StoreClient(built)
    client.tamper = lambda m, p, a: (
        RpcError(RATE_LIMITED, "rate limited") if m == ("chain_getReceipt") else a
    )
    with pytest.raises(RpcError, match="rate limited") as refused:
        _fetcher(client).fetch(1, 1, identity=identity(built), prev_time_ms=None, cash_accounts={})
    assert refused.value.code == RATE_LIMITED
