"""Benchmark (not a test): how long RPC work holds the event loop, before and after issue 17.

Run: ``PYTHONPATH=. .venv/bin/python tests/rpc/bench_rpc_isolation.py``

In-process, over the node's real method registry (``node_registry``) and the
fake backend, so the figures are the RPC layer's own:

1. the OpenRPC document built and serialized 100 times (what a batch of 100
   ``rpc_discover`` cost before: it was rebuilt on every call) against a
   batch of 100 cached ``rpc_discover``;
2. the longest stretch the loop was held while that batch (and one of 20
   ``chain_getBlock`` of 1 000-extrinsic blocks, decoded in worker threads)
   was served: a ticker task measures the gaps between its turns;
3. the reply to one ``author_pendingExtrinsics`` page (at most
   ``pending_page_max``) against the whole pool the method used to return.
"""

from __future__ import annotations

import json
import time
from typing import Any

import trio

from ledger.crypto import Keypair
from ledger.types import Call, Extrinsic
from node.daemon.rpc_queries import node_registry
from rpc.app import RpcApp
from rpc.config import RpcConfig
from rpc.registry import openrpc_document
from tests.fuzz.targets_rpc import asgi_request
from tests.rpc.fake_backend import FakeBackend

JSON = (b"content-type", b"application/json")


def batch(method: str, count: int, params: list[Any] | None = None) -> bytes:
    calls = [
        {"jsonrpc": "2.0", "id": i, "method": method, "params": params or []} for i in range(count)
    ]
    return json.dumps(calls).encode()


async def longest_hold(app: RpcApp, body: bytes) -> tuple[float, float, int]:
    """(seconds to answer, longest gap between a ticker's turns, reply bytes)."""
    gaps: list[float] = []
    done = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await trio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.sleep(0.01)
        gaps.clear()
        start = time.perf_counter()
        _, _, payload = await asgi_request(app, [body], headers=(JSON,))
        elapsed = time.perf_counter() - start
        done = True
    return elapsed, max(gaps, default=0.0), len(payload)


async def main() -> None:
    registry = node_registry()
    backend = FakeBackend()
    start = time.perf_counter()
    for _ in range(100):
        json.dumps(openrpc_document(registry, title="t", version="v", include_unsafe=False))
    rebuilt = time.perf_counter() - start
    app = RpcApp(registry, backend, RpcConfig(unsafe_methods=True))
    discover = batch("rpc_discover", 100)
    await asgi_request(app, [discover], headers=(JSON,))  # build the cache once
    elapsed, hold, size = await longest_hold(app, discover)
    print(f"registry: {len(registry.names(False))} methods")
    print(f"100 x OpenRPC build+serialize (before): {rebuilt * 1000:.0f} ms on the loop")
    print(
        f"batch of 100 rpc_discover (after): answered in {elapsed * 1000:.1f} ms, "
        f"loop held at most {hold * 1000:.2f} ms, reply {size} B"
    )

    alice, bob = Keypair.dev("alice"), Keypair.dev("bob").public
    call = Call("balances", "transfer", {"amount": 1, "dest": bob})
    signed: list[tuple[bytes, Extrinsic]] = []
    for block in range(3):
        for n in range(1000):
            ext = Extrinsic.create(alice, block * 1000 + n, 10_000, call, backend.genesis_hash)
            signed.append((ext.encode(), ext))
            backend.pool.append(signed[-1])
        backend.produce_block()
    blocks = batch("chain_getBlock", 20)  # 100 would exceed max_response_bytes (-32008)
    elapsed, hold, size = await longest_hold(app, blocks)
    print(
        f"batch of 20 chain_getBlock (1 000-extrinsic blocks, worker threads): "
        f"{elapsed * 1000:.0f} ms, loop held at most {hold * 1000:.2f} ms, reply {size} B"
    )

    backend.pool = [signed[n % len(signed)] for n in range(20_000)]  # pending_extrinsics reads it
    whole = sum(len(x) * 2 + 4 for x, _ in backend.pool)
    elapsed, hold, size = await longest_hold(app, batch("author_pendingExtrinsics", 1))
    print(
        f"author_pendingExtrinsics over a pool of 20 000 ({whole} B as hex): one page "
        f"{size} B in {elapsed * 1000:.1f} ms (before: the whole pool per call, "
        f"{whole * 20} B for a batch of 20)"
    )


if __name__ == "__main__":
    trio.run(main)
