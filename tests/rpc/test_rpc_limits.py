"""The RPC server's *default* limits and exposure, each refused as spec/rpc.md says.

test_http_protocol.py and test_websocket.py check the mechanisms with small,
configured limits. These tests build ``RpcConfig()`` exactly as shipped and
drive the ASGI app (the callable hypercorn serves) in-process, so that a
default quietly raised or dropped fails here: a 1 MiB body, 100-call
batches (an over-long batch runs none of its calls), 100 WebSocket
connections, 64 subscriptions on each, no CORS origin, no unsafe method (the
pool listing, author_pendingExtrinsics, included). The issue-17 limits are in
test_rpc_isolation.py.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import trio
import trio.testing

from ledger.crypto import Keypair
from ledger.types import Call, Extrinsic
from rpc.app import RpcApp
from rpc.config import RpcConfig
from tests.fuzz.targets_rpc import asgi_request
from tests.rpc.fake_backend import FakeBackend, build_registry

DEFAULT = RpcConfig()
MIB = 1 << 20
JSON = (b"content-type", b"application/json")
EVIL = (b"origin", b"https://evil.example")


def make_app(backend: FakeBackend | None = None) -> RpcApp:
    return RpcApp(build_registry(), backend or FakeBackend(), DEFAULT)


async def http(
    application: RpcApp,
    body: bytes,
    *headers: tuple[bytes, bytes],
    method: str = "POST",
) -> tuple[int, dict[bytes, bytes], Any]:
    status, sent_headers, payload = await asgi_request(
        application, [body], method=method, headers=(JSON, *headers)
    )
    return status, sent_headers, json.loads(payload) if payload else None


def request(method: str, params: list[Any] | None = None, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or []}


def test_the_shipped_limits_are_the_spec_ones() -> None:
    assert (DEFAULT.host, DEFAULT.max_body_bytes, DEFAULT.max_batch) == ("127.0.0.1", MIB, 100)
    assert (DEFAULT.max_ws_connections, DEFAULT.max_subscriptions_per_connection) == (100, 64)
    assert DEFAULT.cors_origins == () and DEFAULT.unsafe_methods is False


# ---------------------------------------------------------------- body and batch


async def test_a_body_of_exactly_1_mib_is_served_and_one_byte_more_is_refused() -> None:
    application = make_app()
    call = json.dumps(request("system_chain")).encode()
    exact = call + b" " * (MIB - len(call))
    status, _, reply = await http(application, exact)
    assert status == 200 and reply["result"] == "credichain-testnet"
    status, headers, reply = await http(application, exact + b" ")
    assert status == 413 and headers[b"connection"] == b"close"
    assert reply["error"] == {
        "code": -32600,
        "message": "Invalid request",
        "data": "request body exceeds the limit of 1048576 bytes",
    }


def signed_transfers(backend: FakeBackend, count: int) -> list[str]:
    alice, bob = Keypair.dev("alice"), Keypair.dev("bob")
    call = Call("balances", "transfer", {"amount": 1, "dest": bob.public})
    return [
        "0x" + Extrinsic.create(alice, n, 1000, call, backend.genesis_hash).encode().hex()
        for n in range(count)
    ]


async def test_an_over_long_batch_is_refused_whole_and_runs_none_of_its_calls() -> None:
    backend = FakeBackend()
    application = make_app(backend)
    extrinsics = signed_transfers(backend, 101)
    batch = [request("author_submitExtrinsic", [x], i) for i, x in enumerate(extrinsics)]
    status, _, reply = await http(application, json.dumps(batch).encode())
    assert status == 200
    assert reply["error"]["code"] == -32600
    assert reply["error"]["data"] == "batch of 101 calls exceeds the limit of 100"
    assert backend.submitted == 0 and backend.pool == []
    # The same calls in a batch of 100 all run, in order.
    status, _, replies = await http(application, json.dumps(batch[:100]).encode())
    assert [r["id"] for r in replies] == list(range(100))
    assert all("result" in r for r in replies) and backend.submitted == 100


async def test_a_body_full_of_parameter_names_gets_one_short_refusal() -> None:
    """80 000 unknown names in 1 MiB once cost one error each: seconds and a 2 MB reply."""
    params = {f"k{i}": 0 for i in range(80_000)}
    body = json.dumps({**request("system_chain"), "params": params}).encode()
    assert len(body) < MIB
    _, _, reply = await http(make_app(), body)
    assert reply["error"]["code"] == -32602
    assert reply["error"]["data"] == "params: system_chain takes at most 0 parameters, got 80000"


async def test_read_proofs_take_at_most_1024_keys_and_refusals_stay_short() -> None:
    application = make_app()
    keys = ["0x00"] * 1025
    _, _, reply = await http(
        application, json.dumps(request("state_getReadProof", [keys])).encode()
    )
    assert reply["error"]["code"] == -32602
    assert "keys: List should have at most 1024 items" in reply["error"]["data"]
    bad = ["zz"] * 170_000  # a 1 MiB body of bad keys: one short reply, not 6 MB
    status, _, reply = await http(
        application, json.dumps(request("state_getReadProof", [bad])).encode()
    )
    assert status == 200 and len(json.dumps(reply)) < 512
    bad = ["zz"] * 25  # under the bound: the first ten problems are named, then a count
    _, _, reply = await http(application, json.dumps(request("state_getReadProof", [bad])).encode())
    problems = reply["error"]["data"].split("; ")
    assert problems[0] == "keys.0: hex must start with 0x"
    assert len(problems) == 11 and problems[-1] == "and 15 more"


# ---------------------------------------------------------------- CORS


async def test_no_browser_origin_is_allowed_by_default() -> None:
    application = make_app()
    body = json.dumps(request("system_chain")).encode()
    status, headers, reply = await http(application, body, EVIL)
    assert status == 403 and reply["error"]["data"] == "origin not allowed"
    assert b"access-control-allow-origin" not in headers
    status, headers, _ = await http(application, b"", EVIL, method="OPTIONS")
    assert status == 403 and b"access-control-allow-origin" not in headers
    # A non-browser client (no Origin header) is served, still without CORS headers.
    status, headers, reply = await http(application, body)
    assert status == 200 and reply["result"] == "credichain-testnet"
    assert b"access-control-allow-origin" not in headers


# ---------------------------------------------------------------- unsafe methods


async def test_unsafe_methods_are_refused_and_unlisted_by_default() -> None:
    application = make_app()
    registry = build_registry()
    unsafe = sorted(set(registry.names(include_unsafe=True)) - set(registry.names(False)))
    assert unsafe == ["author_pendingExtrinsics", "system_resetPeers"]
    for name in unsafe:
        _, _, reply = await http(application, json.dumps(request(name)).encode())
        assert reply["error"]["code"] == -32601 and "rpc.unsafe_methods" in reply["error"]["data"]
    _, _, listed = await http(application, json.dumps(request("rpc_methods")).encode())
    _, _, discovered = await http(application, json.dumps(request("rpc_discover")).encode())
    documented = {m["name"] for m in discovered["result"]["methods"]}
    for name in unsafe:
        assert name not in listed["result"]["methods"] and name not in documented


# ---------------------------------------------------------------- WebSocket


class Socket:
    """One in-process WebSocket client of the ASGI app."""

    def __init__(self, application: RpcApp, *headers: tuple[bytes, bytes]) -> None:
        self.application = application
        self.scope = {"type": "websocket", "path": "/", "headers": list(headers)}
        self._to_app, self._app_in = trio.open_memory_channel[dict[str, Any]](256)
        self._app_out, self._from_app = trio.open_memory_channel[dict[str, Any]](256)
        self.finished = trio.Event()

    async def run(self) -> None:
        await self._to_app.send({"type": "websocket.connect"})
        try:
            await self.application(self.scope, self._app_in.receive, self._app_out.send)
        finally:
            self.finished.set()

    async def opened(self, nursery: trio.Nursery) -> dict[str, Any]:
        """Start the connection; the app's first answer (accept or close)."""
        nursery.start_soon(self.run)
        return await self._from_app.receive()

    async def next(self) -> dict[str, Any]:
        return await self._from_app.receive()

    async def call(self, method: str, id_: int) -> Any:
        text = json.dumps(request(method, id_=id_))
        await self._to_app.send({"type": "websocket.receive", "text": text})
        return json.loads((await self._from_app.receive())["text"])

    async def close(self) -> None:
        await self._to_app.send({"type": "websocket.disconnect", "code": 1000})
        await self.finished.wait()


async def test_a_browser_origin_is_refused_a_websocket_by_default(nursery: trio.Nursery) -> None:
    answer = await Socket(make_app(), EVIL).opened(nursery)
    assert answer == {"type": "websocket.close", "code": 1008}


async def test_the_101st_websocket_is_closed_until_a_slot_frees(nursery: trio.Nursery) -> None:
    application = make_app()
    sockets = [Socket(application) for _ in range(DEFAULT.max_ws_connections)]
    for socket in sockets:
        assert (await socket.opened(nursery))["type"] == "websocket.accept"
    await trio.testing.wait_all_tasks_blocked()  # each counts itself just after accepting
    assert application.ws_connections == 100
    extra = Socket(application)
    assert (await extra.opened(nursery))["type"] == "websocket.accept"
    assert await extra.next() == {
        "type": "websocket.close",
        "code": 1013,
        "reason": "too many WebSocket connections",
    }
    await sockets[0].close()
    again = Socket(application)
    assert (await again.opened(nursery))["type"] == "websocket.accept"
    assert (await again.call("system_name", 1))["result"] == "credichain-fake"
    nursery.cancel_scope.cancel()


async def test_the_65th_subscription_on_a_connection_is_refused(nursery: trio.Nursery) -> None:
    socket = Socket(make_app())
    assert (await socket.opened(nursery))["type"] == "websocket.accept"
    limit = DEFAULT.max_subscriptions_per_connection
    for i in range(limit):
        assert isinstance((await socket.call("chain_subscribeNewHeads", i))["result"], str)
    refused = await socket.call("chain_subscribeNewHeads", limit)
    assert refused["error"] == {
        "code": -32600,
        "message": "Invalid request",
        "data": "subscription limit of 64 per connection reached",
    }
    assert (await socket.call("system_chain", limit + 1))["result"] == "credichain-testnet"
    nursery.cancel_scope.cancel()


def test_asgi_driver_sanity() -> None:
    """The in-process driver above sees what a real client sees (see test_http_protocol)."""
    status, _, payload = trio.run(
        functools.partial(asgi_request, make_app(), [b'{"jsonrpc":"2.0","id":7,"method":"x"}'])
    )
    assert status == 200 and json.loads(payload)["error"]["code"] == -32601
