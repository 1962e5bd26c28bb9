"""The JSON-RPC contract of spec/rpc.md against a real running localnet.

tests/rpc/ covers every method and error against a fake backend; this
module checks that the node's own backend answers the same contract: reads
at the head and at history, read proofs that verify against the header's
state root, refusals with their codes, and WebSocket subscriptions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from ledger import codec
from ledger.crypto import Keypair, encode_address
from ledger.proof import verify_proof
from ledger.types import Call, Extrinsic
from pallets.balances.storage import FREE
from rpc.client import RpcError, WsClient
from tests.e2e.cluster import Cluster

ALICE, BOB = Keypair.dev("alice"), Keypair.dev("bob")


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(Path(tmp_path_factory.mktemp("rpcnet")))
    cluster.start()
    try:
        cluster.wait_height(3, timeout=90)
        yield cluster
    finally:
        cluster.stop()


def test_system_and_chain_methods(net: Cluster) -> None:
    rpc = net.clients[0]
    assert rpc.call("system_name") == "credichain"
    assert rpc.call("system_chain") == "credichain-localnet"
    assert rpc.call("system_properties") == {
        "tokenSymbol": "CRED",
        "tokenDecimals": 6,
        "addressPrefix": "cc",
    }
    health = rpc.call("system_health")
    assert health["peers"] == 3 and health["shouldHavePeers"] is True
    peers = rpc.call("system_peers")
    assert len(peers) == 3 and all(p["isValidator"] for p in peers)
    genesis = rpc.call("chain_getBlockHash", 0)
    assert rpc.call("chain_getHeader", genesis)["number"] == 0
    assert rpc.call("chain_getBlock", genesis)["commit"] is None
    head = rpc.call("chain_getFinalizedHead")
    block = rpc.call("chain_getBlock", head)
    header = block["block"]["header"]
    assert header["hash"] == head
    commit = block["commit"]
    assert commit["blockHash"] == head and len(commit["signatures"]) >= 3
    assert rpc.call("chain_getBlockHash", 10**9) is None
    assert rpc.call("chain_getHeader", "0x" + "00" * 32) is None
    metadata = rpc.call("state_getMetadata")
    assert {"system", "balances"} <= {p["name"] for p in metadata["pallets"]}
    methods = rpc.call("rpc_methods")["methods"]
    assert "balances_getBalance" in methods
    assert rpc.call("rpc_discover")["openrpc"].startswith("1.")


def test_storage_and_read_proof_verify_against_the_state_root(net: Cluster) -> None:
    rpc = net.clients[1]
    head = rpc.block_hash()
    assert head is not None
    header = rpc.get_header(head)
    assert header is not None
    key, absent = FREE.key(ALICE.public), FREE.key(bytes(32))
    value = rpc.storage(key, head)
    assert value is not None
    proof = rpc.call(
        "state_getReadProof", ["0x" + key.hex(), "0x" + absent.hex()], "0x" + head.hex()
    )
    nodes = [bytes.fromhex(n[2:]) for n in proof["proof"]]
    root = bytes.fromhex(header["stateRoot"][2:])
    assert verify_proof(root, key, nodes) == value
    assert verify_proof(root, absent, nodes) is None
    balance = rpc.free_balance(encode_address(ALICE.public))
    assert codec.decode(value) == balance


def _wide_nonce(raw: bytes, nonce: int) -> bytes:
    """The same extrinsic with its nonce in the 9-byte uint64 form: not canonical."""
    offset = 2 + 34  # array header, version, then signer as bin8(32)
    assert raw[offset] == nonce < 128, "the test needs a fixint nonce"
    return raw[:offset] + b"\xcf" + nonce.to_bytes(8, "big") + raw[offset + 1 :]


def test_refusals_carry_their_codes(net: Cluster) -> None:
    rpc = net.clients[2]
    genesis = net.genesis_hash
    nonce = rpc.next_index(encode_address(BOB.public))
    top = rpc.best_height()
    call = Call("balances", "transfer", {"amount": 5, "dest": ALICE.public})
    good = Extrinsic.create(BOB, nonce, top + 100, call, genesis)
    cases = {
        "bad signature": Extrinsic(BOB.public, nonce, top + 100, call, bytes(64)).encode(),
        "expired": Extrinsic.create(BOB, nonce, 0, call, genesis).encode(),
        "another chain": Extrinsic.create(BOB, nonce, top + 100, call, bytes(32)).encode(),
        "unknown call": Extrinsic.create(
            BOB, nonce, top + 100, Call("nope", "x", {}), genesis
        ).encode(),
        "not canonical": _wide_nonce(good.encode(), nonce),
    }
    for name, raw in cases.items():
        with pytest.raises(RpcError) as err:
            rpc.submit(raw)
        assert err.value.code == 1010, name
    tx_hash = rpc.submit(good.encode())
    with pytest.raises(RpcError) as err:
        rpc.submit(good.encode())
    assert err.value.code == 1013
    net.wait_for("the transfer committed", lambda: rpc.receipt(tx_hash) is not None)
    with pytest.raises(RpcError) as err:
        rpc.submit(good.encode())
    assert err.value.code in (1010, 1013)  # stale nonce or already in a recent block
    with pytest.raises(RpcError) as err:
        rpc.call("chain_getBlockHash", "ten")
    assert err.value.code == -32602


async def test_websocket_heads_in_order_and_submit_and_watch(net: Cluster) -> None:
    url = f"ws://127.0.0.1:{net.ports.rpc + 3}"
    async with WsClient.connect(url) as ws:
        with trio.fail_after(30):
            async with ws.new_heads() as heads:
                numbers = []
                async for header in heads:
                    numbers.append(header["number"])
                    if len(numbers) == 5:
                        break
        assert numbers == list(range(numbers[0], numbers[0] + 5))
        rpc = net.clients[3]
        nonce = rpc.next_index(encode_address(ALICE.public))
        call = Call("balances", "transfer", {"amount": 9, "dest": BOB.public})
        ext = Extrinsic.create(ALICE, nonce, rpc.best_height() + 100, call, net.genesis_hash)
        statuses = []
        with trio.fail_after(30):
            async with ws.submit_and_watch(ext.encode()) as watch:
                async for status in watch:
                    statuses.append(status)
        assert statuses[0] == "ready"
        assert "inBlock" in statuses[1] and "finalized" in statuses[-1]
        assert statuses[1]["inBlock"] == statuses[-1]["finalized"]


def test_metrics_endpoint_serves_chain_figures(net: Cluster) -> None:
    with urlopen(f"http://127.0.0.1:{net.ports.metrics}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples["credichain_height"] >= 3
    assert samples["credichain_height"] <= (net.height(0) or 0)
    assert samples["credichain_rounds_per_height_count"] >= 3
    assert samples["credichain_mempool_extrinsics"] >= 0
    assert 0 < samples["credichain_last_block_unixtime"] <= time.time()
