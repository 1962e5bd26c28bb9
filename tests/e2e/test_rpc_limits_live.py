"""Issue 17 against a real localnet: RPC floods do not stop consensus; limits refuse clearly.

The attack of the issue, scaled down: batches of 100 ``rpc_discover``
(a 2.7 MB reply each) sent to all four RPC ports from four threads for a few
seconds. Blocks must keep coming (a generous floor, not a benchmark: the
figure is printed for the record), and every flood reply must be complete.
Then the node's own limits: the pool listing refused as unsafe, an
over-priced batch refused whole, and a watched transfer that ends finalized.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from ledger.crypto import Keypair, encode_address
from ledger.types import Call, Extrinsic
from rpc.client import RpcError, WsClient
from tests.e2e.cluster import Cluster, running_cluster

FLOOD_SECONDS = 3.0


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(Path(tmp_path_factory.mktemp("rpclimits"))) as cluster:
        yield cluster


RATE_LIMITED = -32005


def flood(
    url: str, stop_at: float, replies: list[int], errors: list[str], limited: list[int]
) -> None:
    """Send batches as fast as they are answered. A node fast enough to answer more
    than the connection's cost budget allows refuses the excess with the rate-limit
    error (the limit working, not a failure): the flood backs off briefly then."""
    body = [{"jsonrpc": "2.0", "id": i, "method": "rpc_discover"} for i in range(100)]
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.monotonic() < stop_at:
            reply = client.post("/", json=body).json()
            if isinstance(reply, dict) and reply.get("error", {}).get("code") == RATE_LIMITED:
                limited.append(1)
                time.sleep(0.1)
                continue
            if not isinstance(reply, list) or len(reply) != 100:
                errors.append(str(reply)[:200])
                return
            replies.append(len(reply))


def test_a_discover_flood_on_every_port_does_not_stop_the_chain(net: Cluster) -> None:
    quiet_start = net.height(0)
    time.sleep(FLOOD_SECONDS)  # the block rate without a flood, for the printed figure
    start_height = net.height(0)
    assert quiet_start is not None and start_height is not None
    stop_at = time.monotonic() + FLOOD_SECONDS
    replies: list[int] = []
    errors: list[str] = []
    limited: list[int] = []
    threads = [
        threading.Thread(target=flood, args=(client.url, stop_at, replies, errors, limited))
        for client in net.clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    end_height = net.height(0)
    assert end_height is not None
    print(
        f"flood: {len(replies)} batches of 100 rpc_discover in {FLOOD_SECONDS} s on 4 ports "
        f"({len(limited)} more refused by the rate limit); "
        f"blocks {start_height} -> {end_height} (without the flood: {quiet_start} -> "
        f"{start_height} in the same time)"
    )
    assert errors == []
    assert len(replies) >= 4  # each port answered
    assert end_height >= start_height + 2, net.logs()  # the chain kept committing


def test_the_pool_listing_is_unsafe_and_batches_are_priced(net: Cluster) -> None:
    rpc = net.clients[1]
    with pytest.raises(RpcError) as caught:
        rpc.call("author_pendingExtrinsics")
    assert caught.value.code == -32601 and "rpc.unsafe_methods" in str(caught.value.data)
    blocks = [("chain_getBlock", []) for _ in range(100)]  # 100 x 10 = 1000: the limit
    results = rpc.batch(blocks)
    assert len(results) == 100 and all(isinstance(r, dict) and "block" in r for r in results)
    body = [{"jsonrpc": "2.0", "id": i, "method": "chain_getBlock"} for i in range(101)]
    refused = httpx.post(rpc.url, json=body, timeout=10).json()
    assert refused["error"]["code"] == -32600  # the count limit speaks first at 101
    body = [
        {"jsonrpc": "2.0", "id": i, "method": "state_getReadProof", "params": [["0x00"]]}
        for i in range(51)
    ]  # 51 x 20 = 1020
    refused = httpx.post(rpc.url, json=body, timeout=10).json()
    assert refused["error"]["data"].startswith("batch cost of 1020 exceeds the limit of 1000")


def test_a_watched_transfer_ends_finalized(net: Cluster) -> None:
    alice, bob = Keypair.dev("alice"), Keypair.dev("bob")
    rpc = net.clients[2]
    nonce = rpc.next_index(encode_address(alice.public))
    call = Call("balances", "transfer", {"amount": 1, "dest": bob.public})
    ext = Extrinsic.create(alice, nonce, rpc.best_height() + 100, call, net.genesis_hash)

    async def watch() -> list[object]:
        async with (
            WsClient.connect(rpc.url) as ws,
            ws.submit_and_watch(ext.encode()) as statuses,
        ):
            with trio.fail_after(30):
                return [status async for status in statuses]

    statuses = trio.run(watch)
    assert statuses[0] == "ready" and isinstance(statuses[-1], dict)
    assert "finalized" in statuses[-1], json.dumps(statuses)
