"""chain_getHeaderRaw, chain_getBlockRaw, chain_getEvents, chain_getGenesis (rpc/archive.py),
the header's ``version``, ``evidenceFull`` in chain_getBlock and ``raw`` in receipts.

Over the real server with an in-memory backend, and the node's backend over a
small built chain (the events and genesis document it serves from its store).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import pytest

from genesis.build import genesis_hash, parse_genesis
from ledger import codec
from ledger.crypto import Keypair, blake2b256
from ledger.types import (
    Block,
    Call,
    Event,
    Evidence,
    Extrinsic,
    Header,
    Receipt,
    Vote,
    VoteType,
    events_root,
    evidence_root,
    receipts_root,
)
from node.daemon.rpc_backend import NodeRpcBackend, RpcNode
from node.testing.replay_fixture import ChainBuilder
from rpc.archive import ArchiveBackend, register_archive_methods
from rpc.client import RpcClient
from rpc.config import RpcConfig
from rpc.errors import RpcError
from tests.rpc.fake_backend import FakeBackend, build_registry
from tests.rpc.live_server import LiveServer

ALICE, BOB = Keypair.dev("alice"), Keypair.dev("bob")
UNKNOWN = "0x" + "ab" * 32
GENESIS_DOC = {"chain": "credichain-testnet", "validators": [{"power": 10}]}


class ArchiveFake(FakeBackend):
    """The fake chain with the archive methods: hook events are its receipts' events
    (the fake commits its events root to those), the genesis document a stub."""

    def block_events(self, block_hash: bytes) -> Sequence[Event] | None:
        if block_hash not in self.blocks:
            return None
        records = sorted(
            (r for r in self.receipts.values() if r.block_hash == block_hash),
            key=lambda r: r.index,
        )
        return [e for r in records for e in r.receipt.events]

    def genesis_document(self) -> Mapping[str, Any]:
        return GENESIS_DOC


def _transfer(backend: FakeBackend, nonce: int, amount: int) -> bytes:
    call = Call("balances", "transfer", {"amount": amount, "dest": BOB.public})
    return Extrinsic.create(ALICE, nonce, 100, call, backend.genesis_hash).encode()


def _server(backend: FakeBackend, config: RpcConfig | None = None) -> LiveServer:
    registry = build_registry()
    register_archive_methods(registry)
    return LiveServer(backend, config=config, registry=registry).start()


@pytest.fixture
def archive() -> Iterator[tuple[LiveServer, RpcClient]]:
    backend = ArchiveFake()
    server = _server(backend)
    client = RpcClient(server.url)
    client.submit(_transfer(backend, 0, 5))
    server.run(backend.produce_block)
    yield server, client
    client.close()
    server.stop()


def _error(client: RpcClient, method: str, *params: Any) -> RpcError:
    with pytest.raises(RpcError) as caught:
        client.call(method, *params)
    return caught.value


def test_raw_header_and_block_are_the_hashed_and_stored_bytes(
    archive: tuple[LiveServer, RpcClient],
) -> None:
    server, client = archive
    backend = cast(ArchiveFake, server.backend)
    head = backend.by_height[-1]
    block = backend.blocks[head]
    raw_header = bytes.fromhex(client.call("chain_getHeaderRaw", "0x" + head.hex())[2:])
    assert blake2b256(raw_header) == head and raw_header == block.header.encode()
    raw_block = bytes.fromhex(client.call("chain_getBlockRaw", "0x" + head.hex())[2:])
    assert raw_block == block.encode() and Block.decode(raw_block) == block
    # the best block when the hash is omitted
    assert client.call("chain_getHeaderRaw") == "0x" + raw_header.hex()
    assert client.call("chain_getBlockRaw") == "0x" + raw_block.hex()
    assert (
        client.call("chain_getHeader")["version"]
        == Header.from_wire(codec.decode(raw_header)).to_wire()[0]
    )


def test_events_are_served_in_events_root_order_with_their_leaves(
    archive: tuple[LiveServer, RpcClient],
) -> None:
    server, client = archive
    backend = cast(ArchiveFake, server.backend)
    head = backend.by_height[-1]
    served = client.call("chain_getEvents", "0x" + head.hex())
    assert (served["blockHash"], served["number"]) == ("0x" + head.hex(), 1)
    events = [Event.from_wire(codec.decode(bytes.fromhex(e["raw"][2:]))) for e in served["events"]]
    assert [(e.pallet, e.name) for e in events] == [("balances", "Transfer")]
    assert served["events"][0]["attributes"]["amount"] == "5"  # the receipts' JSON form
    assert events_root(events) == backend.blocks[head].header.events_root
    genesis = client.call("chain_getEvents", "0x" + backend.genesis_hash.hex())
    assert genesis["events"] == [] and genesis["number"] == 0


def test_receipts_carry_their_leaf_and_blocks_their_evidence_in_full(
    archive: tuple[LiveServer, RpcClient],
) -> None:
    server, client = archive
    backend = cast(ArchiveFake, server.backend)
    head = backend.by_height[-1]
    (extrinsic,) = backend.blocks[head].extrinsics
    found = client.call("chain_getReceipt", "0x" + blake2b256(extrinsic).hex())
    receipt = Receipt.from_wire(codec.decode(bytes.fromhex(found["raw"][2:])))
    assert receipt.success and receipts_root([receipt]) == backend.blocks[head].header.receipts_root
    served = client.call("chain_getBlock", "0x" + head.hex())["block"]
    assert served["evidence"] == served["evidenceFull"] == []

    # a block with evidence: hashes as before, and each piece in full beside them
    key = Keypair.dev("validator-1")
    votes = [
        Vote.create(key, backend.genesis_hash, VoteType.PREVOTE, 1, 0, value, 7)
        for value in (head, None)
    ]
    evidence = Evidence(*sorted(votes, key=lambda v: codec.encode(v.to_wire())))
    block = backend.blocks[head]
    backend.blocks[head] = Block(block.header, block.extrinsics, block.last_commit, (evidence,))
    served = client.call("chain_getBlock", "0x" + head.hex())["block"]
    assert served["evidence"] == ["0x" + evidence.hash.hex()]
    (full,) = served["evidenceFull"]
    leaf = bytes.fromhex(full["raw"][2:])
    assert evidence_root([evidence]) == evidence_root([Evidence.from_wire(codec.decode(leaf))])
    assert full["hash"] == "0x" + blake2b256(leaf).hex()
    assert [v["blockHash"] for v in full["votes"]] == [
        None if v.block_hash is None else "0x" + v.block_hash.hex()
        for v in (evidence.vote_a, evidence.vote_b)
    ]
    assert {v["type"] for v in full["votes"]} == {1} and full["votes"][0]["timestamp"] == 7


def test_unknown_blocks_are_null_and_the_genesis_is_served_once(
    archive: tuple[LiveServer, RpcClient],
) -> None:
    server, client = archive
    for method in ("chain_getHeaderRaw", "chain_getBlockRaw", "chain_getEvents"):
        assert client.call(method, UNKNOWN) is None, method
    cast(ArchiveFake, server.backend).genesis_hash = bytes(32)  # the hash is read each call
    first = client.call("chain_getGenesis")
    assert first["document"] == GENESIS_DOC
    assert client.call("chain_getGenesis") == first  # built and serialized once


def test_bad_params_are_named(archive: tuple[LiveServer, RpcClient]) -> None:
    _, client = archive
    for method in ("chain_getHeaderRaw", "chain_getBlockRaw", "chain_getEvents"):
        error = _error(client, method, "0x1234")
        assert error.code == -32602 and error.data == "hash: a hash is 32 bytes, got 2", method
        error = _error(client, method, 7)
        assert error.code == -32602 and str(error.data).startswith("hash: "), method
        error = _error(client, method, UNKNOWN, 1)
        assert error.code == -32602, method
    error = _error(client, "chain_getGenesis", 1)
    assert error.code == -32602


def test_costs_are_published(archive: tuple[LiveServer, RpcClient]) -> None:
    _, client = archive
    names = {"chain_getHeaderRaw", "chain_getBlockRaw", "chain_getEvents", "chain_getGenesis"}
    methods = {m["name"]: m for m in client.call("rpc_discover")["methods"] if m["name"] in names}
    costs = {name: method.get("x-cost", 1) for name, method in methods.items()}
    assert costs == {
        "chain_getHeaderRaw": 1,
        "chain_getBlockRaw": 10,
        "chain_getEvents": 5,
        "chain_getGenesis": 5,
    }
    assert all(method["result"]["schema"] for method in methods.values())


def test_a_raw_block_over_the_response_limit_is_refused() -> None:
    backend = ArchiveFake()
    server = _server(backend, RpcConfig(port=0, max_response_bytes=4096))
    client = RpcClient(server.url)
    try:
        for nonce in range(40):
            client.submit(_transfer(backend, nonce, 1))
        server.run(backend.produce_block)
        head = "0x" + backend.by_height[-1].hex()
        error = _error(client, "chain_getBlockRaw", head)
        assert error.code == -32008  # response too big: the operator's limit holds
        assert len(client.call("chain_getHeaderRaw", head)) < 1024
    finally:
        client.close()
        server.stop()


def test_a_backend_without_the_archive_refuses_events_and_genesis() -> None:
    server = _server(FakeBackend())
    client = RpcClient(server.url)
    try:
        assert client.call("chain_getHeaderRaw") is not None  # from the decoded header
        for method in ("chain_getEvents", "chain_getGenesis"):
            error = _error(client, method)
            assert error.code == -32601 and "not served by this backend" in str(error.data)
    finally:
        client.close()
        server.stop()


def test_the_node_backend_serves_hook_events_and_genesis_from_its_store() -> None:
    builder = ChainBuilder(validators=1, accounts=2)
    built = [builder.add_block(builder.transfers(1)) for _ in range(3)]
    chain = builder.chain
    node = type("Node", (), {"genesis": builder.genesis, "chain": chain})()
    backend = NodeRpcBackend(cast(RpcNode, node))
    assert isinstance(backend, ArchiveBackend)
    for item in built:
        events = backend.block_events(item.block.hash)
        assert events == list(item.events)
        assert events_root(events) == item.block.header.events_root
    assert backend.block_events(bytes(32)) is None
    document = backend.genesis_document()
    assert genesis_hash(parse_genesis(dict(document), "served")) == chain.genesis_hash
    builder.close()
