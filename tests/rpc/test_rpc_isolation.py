"""Issue 17: RPC never starves consensus, and every abuse limit refuses clearly.

Each limit of docs/rpc.md "Limits and isolation": static documents built once
and served as the same bytes; block-store methods in worker threads and the
loop yielded to between batch members; batches priced by cost; a token bucket
per connection; author_pendingExtrinsics unsafe-only and paginated; a slow
body answered 408 and closed, and a connection cap (real hypercorn, real
sockets); a lagging subscriber told why; a watched extrinsic that always
ends. Timings here are generous timeouts, never pass/fail measurements.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import trio
import trio.testing
import wsproto
import wsproto.events as ws_events

from ledger.crypto import Keypair
from ledger.types import Block, Call, Extrinsic
from node.daemon.config import ConfigError, NodeConfig, RpcSection, load_config
from rpc import methods as rpc_methods
from rpc.app import RpcApp
from rpc.client import WsClient
from rpc.config import RpcConfig
from rpc.errors import RpcError
from rpc.events import EventHub
from rpc.limits import RateLimit, TokenBucket
from rpc.server import BoundAddress, serve_asgi
from tests.fuzz.targets_rpc import asgi_request
from tests.rpc.fake_backend import FakeBackend, build_registry
from tests.rpc.test_rpc_limits import Socket

JSON = (b"content-type", b"application/json")
ALICE, BOB = Keypair.dev("alice"), Keypair.dev("bob").public


def request(method: str, params: list[Any] | None = None, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or []}


def make_app(backend: FakeBackend | None = None, **config: Any) -> RpcApp:
    return RpcApp(build_registry(), backend or FakeBackend(), RpcConfig(**config))


async def post(application: RpcApp, body: Any) -> tuple[int, bytes]:
    status, _, payload = await asgi_request(
        application, [json.dumps(body).encode()], headers=(JSON,)
    )
    return status, payload


def transfer(backend: FakeBackend, nonce: int) -> Extrinsic:
    call = Call("balances", "transfer", {"amount": 1, "dest": BOB})
    return Extrinsic.create(ALICE, nonce, 1000, call, backend.genesis_hash)


def hex_of(ext: Extrinsic) -> str:
    return "0x" + ext.encode().hex()


# ---------------------------------------------------------------- static documents


async def test_discover_is_built_once_and_served_as_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    application = make_app()
    _, first = await post(application, request("rpc_discover"))
    registry = application.dispatcher.registry
    key = ("rpc_discover", "credichain-fake", "0.1.0-test", False)
    cached = registry.cached(key, lambda: pytest.fail("rebuilt"))
    assert cached is registry.cached(key, dict)  # one object, serialized once
    assert json.loads(first)["result"] == json.loads(cached)

    def rebuilt(*_: Any, **__: Any) -> Any:
        raise AssertionError("the OpenRPC document was rebuilt")

    monkeypatch.setattr(rpc_methods, "openrpc_document", rebuilt)
    _, again = await post(application, request("rpc_discover"))
    assert again == first  # byte for byte
    status, batch = await post(application, [request("rpc_discover", id_=i) for i in range(100)])
    replies = json.loads(batch)
    assert status == 200 and len(replies) == 100
    assert all(r["result"] == json.loads(first)["result"] for r in replies)


async def test_metadata_and_method_list_are_cached_too() -> None:
    class Counting(FakeBackend):
        built = 0

        def metadata(self) -> Mapping[str, Any]:
            Counting.built += 1
            return super().metadata()

    application = make_app(Counting())
    replies = [await post(application, request(m)) for m in ["state_getMetadata"] * 3]
    assert Counting.built == 1 and len({payload for _, payload in replies}) == 1
    _, listed = await post(application, request("rpc_methods"))
    assert "author_pendingExtrinsics" not in json.loads(listed)["result"]["methods"]
    unsafe = make_app(unsafe_methods=True)
    _, listed = await post(unsafe, request("rpc_methods"))
    assert "author_pendingExtrinsics" in json.loads(listed)["result"]["methods"]


# ---------------------------------------------------------------- off the event loop


async def test_block_reads_run_in_a_worker_thread() -> None:
    seen: list[int] = []

    class Recording(FakeBackend):
        def block(self, block_hash: bytes) -> Block | None:
            seen.append(threading.get_ident())
            return super().block(block_hash)

    backend = Recording()
    backend.produce_block()
    _, payload = await post(make_app(backend), request("chain_getBlock"))
    assert json.loads(payload)["result"]["block"]["header"]["number"] == 1
    assert seen and threading.get_ident() not in seen


async def test_the_loop_runs_other_tasks_between_batch_members() -> None:
    """A batch of 100 calls: another task (consensus, say) gets the loop between calls."""
    application = make_app()
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.sleep(0)
        before = ticks
        _, payload = await post(application, [request("system_chain", id_=i) for i in range(100)])
        done = True
    assert len(json.loads(payload)) == 100
    assert ticks - before >= 50  # one checkpoint per member (no timing involved)


async def test_a_large_body_is_parsed_off_the_loop_and_still_answered() -> None:
    application = make_app()
    body = [request("system_chain", id_=i) for i in range(100)]
    for item in body:
        item["pad"] = "x" * 1000  # > 64 KiB in all: parsed in a worker thread
    status, payload = await post(application, body)
    assert status == 200 and [r["id"] for r in json.loads(payload)] == list(range(100))


# ---------------------------------------------------------------- batch cost


async def test_a_batch_over_the_cost_limit_is_refused_whole() -> None:
    backend = FakeBackend()
    application = make_app(backend, unsafe_methods=True)
    batch = [request("author_pendingExtrinsics", id_=i) for i in range(20)]  # 20 x 50
    batch.append(request("author_submitExtrinsic", [hex_of(transfer(backend, 0))], 20))  # + 2
    status, payload = await post(application, batch)
    reply = json.loads(payload)
    assert status == 200 and reply["error"]["code"] == -32600
    assert reply["error"]["data"].startswith("batch cost of 1002 exceeds the limit of 1000")
    assert backend.submitted == 0  # none of it ran
    _, payload = await post(application, batch[1:])  # cost 952: served
    assert len(json.loads(payload)) == 20 and backend.submitted == 1
    # 100 cheap calls (cost 100) are well within the default limit.
    _, payload = await post(application, [request("system_chain", id_=i) for i in range(100)])
    assert len(json.loads(payload)) == 100


async def test_costs_are_published_in_discover() -> None:
    _, payload = await post(make_app(), request("rpc_discover"))
    by_name = {m["name"]: m for m in json.loads(payload)["result"]["methods"]}
    assert by_name["chain_getBlock"]["x-cost"] == 10
    assert "x-cost" not in by_name["system_chain"]


# ---------------------------------------------------------------- rate limits


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, capacity=20, clock=lambda: now[0])
    assert bucket.take(20) == 0
    assert bucket.take(5) == pytest.approx(0.5)
    now[0] = 0.5
    assert bucket.take(5) == 0 and bucket.take(1) == pytest.approx(0.1)
    with pytest.raises(RpcError) as caught:
        bucket.check(1)
    assert caught.value.code == -32005 and caught.value.message == "rate limited"
    assert "retry in 0.10 s" in caught.value.data
    assert TokenBucket(rate=0, capacity=1).take(10**9) == 0  # rate 0: off
    assert not TokenBucket(rate=0, capacity=1).exhausted()
    now[0] = 10.0
    assert not bucket.exhausted() and bucket.take(20) == 0 and bucket.exhausted()


async def test_a_call_that_finds_tokens_but_not_enough_is_refused_with_its_id() -> None:
    application = make_app(rate_limit_per_s=0.01, rate_limit_burst=10, max_batch_cost=10)
    _, payload = await post(application, request("chain_getBlock", id_=3))  # 10 of 10
    assert "result" in json.loads(payload)
    application = make_app(rate_limit_per_s=0.01, rate_limit_burst=10, max_batch_cost=10)
    for i in range(5):
        await post(application, request("system_chain", id_=i))  # 5 left
    _, payload = await post(application, request("chain_getBlock", id_=9))  # costs 10
    reply = json.loads(payload)
    assert reply["id"] == 9 and reply["error"]["code"] == -32005
    assert "this request costs 10" in reply["error"]["data"]


async def test_http_connections_are_rate_limited_each_on_its_own(nursery: trio.Nursery) -> None:
    config = RpcConfig(port=0, rate_limit_per_s=0.01, rate_limit_burst=10, max_batch_cost=10)
    application = RpcApp(build_registry(), FakeBackend(), config)
    bound: BoundAddress = await nursery.start(serve_asgi, application, config)
    one_call = request("system_chain")
    async with httpx.AsyncClient(base_url=bound.url, timeout=5) as client:
        for _ in range(10):  # one connection, kept alive: 10 cost units
            assert (await client.post("/", json=one_call)).json()["result"]
        refused = (await client.post("/", json=one_call)).json()
    # No token left at all: refused before the body is even parsed, so without its id.
    assert refused["id"] is None and refused["error"]["code"] == -32005
    assert refused["error"]["message"] == "rate limited"
    assert "retry in" in refused["error"]["data"]
    async with httpx.AsyncClient(base_url=bound.url, timeout=5) as other:  # a new connection
        batch = [request("system_chain", id_=i) for i in range(10)]
        assert len((await other.post("/", json=batch)).json()) == 10
        refused = (await other.post("/", json=batch[:1])).json()  # a batch: refused whole
        assert refused["id"] is None and refused["error"]["code"] == -32005


def test_a_request_is_charged_to_every_bucket_or_to_none() -> None:
    connection = TokenBucket(rate=1, capacity=10, clock=lambda: 0.0)
    address = TokenBucket(rate=1, capacity=5, clock=lambda: 0.0, scope="this address")
    limit = RateLimit(connection, address)
    limit.check(4)
    with pytest.raises(RpcError) as caught:
        limit.check(4)  # the connection has 6, the address 1: refused by the address
    assert caught.value.data.startswith("this address may spend 1 cost units per second")
    assert connection.take(6) == 0  # the refused request took nothing from the connection
    assert not address.exhausted() and address.take(1) == 0 and limit.exhausted()


async def test_reconnecting_for_every_request_meets_the_per_address_limit(
    nursery: trio.Nursery,
) -> None:
    config = RpcConfig(
        port=0, rate_limit_per_ip_s=0.01, rate_limit_per_ip_burst=10, max_batch_cost=10
    )
    application = RpcApp(build_registry(), FakeBackend(), config)
    bound: BoundAddress = await nursery.start(serve_asgi, application, config)
    replies = []
    for i in range(11):  # a new connection each time: each starts a fresh connection bucket
        async with httpx.AsyncClient(base_url=bound.url, timeout=5) as client:
            replies.append((await client.post("/", json=request("system_chain", id_=i))).json())
    assert all("result" in reply for reply in replies[:10])
    refused = replies[10]["error"]
    assert refused["code"] == -32005
    assert refused["data"].startswith("this address may spend 0.01 cost units per second")


async def test_a_websocket_is_rate_limited(nursery: trio.Nursery) -> None:
    application = make_app(rate_limit_per_s=0.01, rate_limit_burst=5, max_batch_cost=5)
    socket = Socket(application)
    assert (await socket.opened(nursery))["type"] == "websocket.accept"
    for i in range(5):
        assert (await socket.call("system_name", i))["result"] == "credichain-fake"
    refused = await socket.call("system_name", 5)
    assert refused["id"] is None and refused["error"]["code"] == -32005
    nursery.cancel_scope.cancel()


# ---------------------------------------------------------------- pending pool


async def test_pending_extrinsics_is_off_by_default() -> None:
    _, payload = await post(make_app(), request("author_pendingExtrinsics"))
    error = json.loads(payload)["error"]
    assert error["code"] == -32601 and "rpc.unsafe_methods" in error["data"]


async def test_pending_extrinsics_is_paginated_with_a_hard_cap() -> None:
    backend = FakeBackend()
    application = make_app(backend, unsafe_methods=True, pending_page_default=2, pending_page_max=3)
    pool = [hex_of(transfer(backend, n)) for n in range(5)]
    for ext in pool:
        await post(application, request("author_submitExtrinsic", [ext]))

    async def page(*params: int) -> Any:
        _, payload = await post(application, request("author_pendingExtrinsics", list(params)))
        return json.loads(payload)

    assert (await page())["result"] == pool[:2]  # the default page size
    assert (await page(2, 3))["result"] == pool[2:5]
    assert (await page(4, 3))["result"] == pool[4:]  # short: the end
    assert (await page(9))["result"] == []
    error = (await page(0, 4))["error"]
    assert (
        error["code"] == -32602 and error["data"] == "limit: at most 3 extrinsics per page, got 4"
    )
    assert (await page(-1))["error"]["code"] == -32602


# ---------------------------------------------------------------- HTTP timeouts and cap


async def open_request(bound: BoundAddress, length: int) -> trio.SocketStream:
    """A POST whose headers promise ``length`` body bytes, none of them sent yet."""
    stream = await trio.open_tcp_stream(bound.host, bound.port)
    head = (
        f"POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
        f"content-length: {length}\r\n\r\n"
    )
    await stream.send_all(head.encode())
    return stream


async def read_until_closed(stream: trio.SocketStream) -> bytes:
    data = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some(65536):
            data += chunk
    return data


@pytest.mark.parametrize("trickle", [False, True])
async def test_a_slow_body_is_answered_408_and_closed(nursery: trio.Nursery, trickle: bool) -> None:
    """Silent, or one byte every 0.1 s (which a per-read timeout never catches)."""
    config = RpcConfig(port=0, body_timeout_s=0.5, read_timeout_s=30)
    application = RpcApp(build_registry(), FakeBackend(), config)
    bound: BoundAddress = await nursery.start(serve_asgi, application, config)
    stream = await open_request(bound, 1000)

    async def drip() -> None:
        try:
            while True:
                await stream.send_all(b" ")
                await trio.sleep(0.1)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

    if trickle:
        nursery.start_soon(drip)
    answer = await read_until_closed(stream)  # the server closes the connection
    assert answer.startswith(b"HTTP/1.1 408")
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["data"] == "request body not received within 0.5 s"
    with trio.fail_after(5):  # the request no longer counts against the cap
        while application.gate.active:
            await trio.sleep(0.01)
    await stream.aclose()


async def ws_close_of(bound: BoundAddress) -> ws_events.CloseConnection:
    stream = await trio.open_tcp_stream(bound.host, bound.port)
    conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    async with stream:
        await stream.send_all(conn.send(ws_events.Request(host="localhost", target="/")))
        with trio.fail_after(5):
            while True:
                conn.receive_data(await stream.receive_some(65536))
                for event in conn.events():
                    if isinstance(event, ws_events.CloseConnection):
                        return event


async def test_connections_beyond_the_cap_are_refused_until_one_ends(
    nursery: trio.Nursery,
) -> None:
    config = RpcConfig(port=0, max_connections=2, max_ws_connections=1, body_timeout_s=30)
    application = RpcApp(build_registry(), FakeBackend(), config)
    bound: BoundAddress = await nursery.start(serve_asgi, application, config)
    held = [await open_request(bound, 100) for _ in range(2)]
    with trio.fail_after(5):
        while application.gate.active < 2:
            await trio.sleep(0.01)
    async with httpx.AsyncClient(base_url=bound.url, timeout=5) as client:
        refused = await client.post("/", json=request("system_chain"))
    assert refused.status_code == 503 and refused.headers["connection"] == "close"
    assert refused.json()["error"]["data"] == "server busy: 2 connections in progress; retry later"
    close = await ws_close_of(bound)
    assert (close.code, close.reason) == (1013, "server busy: too many connections")
    await held[0].aclose()
    with trio.fail_after(5):
        while application.gate.active > 1:
            await trio.sleep(0.01)
    async with httpx.AsyncClient(base_url=bound.url, timeout=5) as client:
        served = await client.post("/", json=request("system_chain"))
    assert served.status_code == 200 and served.json()["result"] == "credichain-testnet"
    await held[1].aclose()


def test_hypercorn_gets_the_read_timeout_and_the_ping_interval() -> None:
    from rpc.server import hypercorn_config

    hc = hypercorn_config(RpcConfig(read_timeout_s=7, ws_ping_interval_s=3))
    assert (hc.read_timeout, hc.websocket_ping_interval) == (7, 3)
    with pytest.raises(ValueError, match="must be below read_timeout_s"):
        RpcConfig(read_timeout_s=7, ws_ping_interval_s=7)


async def test_a_quiet_subscriber_outlives_the_read_timeout(nursery: trio.Nursery) -> None:
    """It sends nothing for longer than read_timeout_s: the server's pings keep it open."""
    backend = FakeBackend()
    config = RpcConfig(port=0, read_timeout_s=1, ws_ping_interval_s=0.3)
    bound: BoundAddress = await nursery.start(
        serve_asgi, RpcApp(build_registry(), backend, config), config
    )
    async with WsClient.connect(bound.ws_url) as ws, ws.new_heads() as heads:
        await trio.sleep(2.5)  # quiet for 2.5 x read_timeout_s (WsClient answers pings)
        backend.produce_block()
        with trio.fail_after(5):
            assert (await heads.__anext__())["number"] == 1
        assert ws.close_code is None


# ---------------------------------------------------------------- subscriptions


async def test_a_lagging_subscriber_gets_an_error_notification(nursery: trio.Nursery) -> None:
    backend = FakeBackend()
    backend.hub = EventHub(buffer=2)
    socket = Socket(make_app(backend))
    assert (await socket.opened(nursery))["type"] == "websocket.accept"
    sub_id = (await socket.call("chain_subscribeNewHeads", 1))["result"]
    await trio.testing.wait_all_tasks_blocked()
    for _ in range(4):  # four heads at once, no yield: one handed over, two buffered, then full
        backend.produce_block()
    notes = [json.loads((await socket.next())["text"]) for _ in range(4)]
    assert [n["params"]["result"]["number"] for n in notes[:3]] == [1, 2, 3]
    assert notes[3]["method"] == "chain_newHead"
    assert notes[3]["params"]["subscription"] == sub_id
    error = notes[3]["params"]["error"]
    assert (error["code"], error["message"]) == (-32003, "subscription lagged")
    assert "fell 2 events behind" in error["data"]
    unsubscribe = json.dumps(request("chain_unsubscribeNewHeads", [sub_id], 2))
    await socket._to_app.send({"type": "websocket.receive", "text": unsubscribe})
    assert json.loads((await socket.next())["text"])["result"] is False  # already ended
    nursery.cancel_scope.cancel()


async def test_a_client_that_does_not_read_is_closed_with_a_reason(nursery: trio.Nursery) -> None:
    backend = FakeBackend()
    socket = Socket(make_app(backend, ws_send_queue=16))
    assert (await socket.opened(nursery))["type"] == "websocket.accept"
    await socket.call("chain_subscribeNewHeads", 1)
    for _ in range(400):  # the test reads nothing: 256 in its pipe, 16 queued, then...
        backend.produce_block()
        await trio.sleep(0)
    with trio.fail_after(5):
        while (message := await socket.next())["type"] != "websocket.close":
            pass  # the notifications it did get before the close do not matter here
    assert message["code"] == 1008
    assert message["reason"] == "client too slow: 16 messages queued unread (rpc.ws_send_queue)"


async def wait_for_subscribers(backend: FakeBackend, count: int) -> None:
    with trio.fail_after(5):
        while backend.hub.subscriber_count != count:
            await trio.sleep(0.01)


async def test_a_watched_extrinsic_evicted_from_the_pool_ends_dropped(
    ws_server: BoundAddress, backend: FakeBackend
) -> None:
    ext = transfer(backend, 0)
    async with (
        WsClient.connect(ws_server.ws_url) as ws,
        ws.submit_and_watch(ext.encode()) as statuses,
    ):
        assert await statuses.__anext__() == "ready"
        backend.pool.clear()  # evicted, with no event published for it
        backend.pool_hashes.clear()
        backend.produce_block()
        with trio.fail_after(5):
            rest = [status async for status in statuses]
    assert rest == ["dropped"]


async def test_a_watcher_whose_stream_lags_still_ends_finalized(
    ws_server: BoundAddress, backend: FakeBackend
) -> None:
    backend.hub = EventHub(buffer=1)
    ext = transfer(backend, 0)
    async with (
        WsClient.connect(ws_server.ws_url) as ws,
        ws.submit_and_watch(ext.encode()) as statuses,
    ):
        assert await statuses.__anext__() == "ready"
        block = backend.produce_block()  # inBlock fills the buffer; finalized head cuts off
        with trio.fail_after(5):
            rest = [status async for status in statuses]
    assert backend.hub.lagged == 1
    assert rest == [{"inBlock": "0x" + block.hash.hex()}, {"finalized": "0x" + block.hash.hex()}]


async def test_a_lag_error_reaches_a_client_iterating_heads(
    ws_server: BoundAddress, backend: FakeBackend
) -> None:
    backend.hub = EventHub(buffer=1)
    async with WsClient.connect(ws_server.ws_url) as ws, ws.new_heads() as heads:
        await wait_for_subscribers(backend, 1)
        for _ in range(3):  # at once: the buffer of one overflows
            backend.produce_block()
        numbers = []
        with trio.fail_after(5), pytest.raises(RpcError) as caught:
            async for header in heads:
                numbers.append(header["number"])
    assert numbers in ([1], [1, 2])  # one or two delivered (one may be handed over at once)
    assert caught.value.code == -32003 and "behind" in str(caught.value.data)


# ---------------------------------------------------------------- node config


def test_the_shipped_isolation_limits_are_the_documented_ones() -> None:
    """docs/rpc.md "Limits and isolation": a default changed here must change there."""
    shipped = RpcConfig()
    assert (shipped.worker_threads, shipped.max_batch_cost) == (2, 1000)
    assert (shipped.rate_limit_per_s, shipped.rate_limit_burst) == (5000, 10_000)
    assert (shipped.rate_limit_per_ip_s, shipped.rate_limit_per_ip_burst) == (20_000, 40_000)
    assert (shipped.pending_page_default, shipped.pending_page_max) == (100, 1000)
    assert (shipped.body_timeout_s, shipped.keep_alive_timeout_s) == (10, 10)
    assert (shipped.read_timeout_s, shipped.ws_ping_interval_s) == (60, 20)
    assert (shipped.max_connections, shipped.max_response_bytes) == (500, 15 << 20)
    assert shipped.ws_send_queue == 1024 and shipped.unsafe_methods is False


def test_every_limit_is_reachable_from_the_nodes_rpc_section() -> None:
    not_in_section = {"host", "port", "explorer_dir", "keep_alive_max_requests"}
    assert set(RpcConfig.model_fields) - not_in_section <= set(RpcSection.model_fields)
    assert RpcSection().server_config() == RpcConfig()  # the same defaults
    section = RpcSection(
        listen="127.0.0.1:1",
        max_batch_cost=7,
        rate_limit_per_s=3,
        rate_limit_burst=9,
        body_timeout_s=4,
        max_connections=150,
        pending_page_max=5,
        pending_page_default=5,
        worker_threads=3,
    )
    server = section.server_config()
    assert (server.max_batch_cost, server.rate_limit_per_s, server.rate_limit_burst) == (7, 3, 9)
    assert (server.body_timeout_s, server.max_connections, server.worker_threads) == (4, 150, 3)
    assert (server.pending_page_max, server.port) == (5, 1)


def test_env_overrides_and_cross_field_checks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("CREDICHAIN_RPC__MAX_BATCH_COST", "40")
    assert NodeConfig().rpc.server_config().max_batch_cost == 40
    monkeypatch.delenv("CREDICHAIN_RPC__MAX_BATCH_COST")
    path = tmp_path / "config.toml"
    path.write_text("[rpc]\nmax_connections = 50\n")  # below max_ws_connections (100)
    with pytest.raises(ConfigError, match=r"rpc: .*max_ws_connections"):
        load_config(path)
    path.write_text("[rpc]\nrate_limit_burst = 10\n")  # a full batch could never run
    with pytest.raises(ConfigError, match="rate_limit_burst"):
        load_config(path)


# ---------------------------------------------------------------- reply size


async def test_a_reply_over_the_size_limit_is_refused_not_sent() -> None:
    application = make_app(max_response_bytes=50_000)  # the OpenRPC document is ~15 KB
    _, payload = await post(application, request("rpc_discover"))
    assert "result" in json.loads(payload)
    _, payload = await post(application, [request("rpc_discover", id_=i) for i in range(10)])
    reply = json.loads(payload)
    assert len(payload) < 1000 and reply["id"] is None
    assert (reply["error"]["code"], reply["error"]["message"]) == (-32008, "response too big")
    assert "rpc.max_response_bytes" in reply["error"]["data"]
    tiny = make_app(max_response_bytes=1024)
    _, payload = await post(tiny, request("rpc_discover", id_=7))
    reply = json.loads(payload)
    assert reply["id"] == 7 and reply["error"]["code"] == -32008


async def test_a_real_client_that_stops_reading_is_closed_with_a_reason(
    nursery: trio.Nursery,
) -> None:
    """Over a real socket: the client subscribes, then reads nothing while blocks come."""
    backend = FakeBackend()
    config = RpcConfig(port=0, ws_send_queue=64)
    application = RpcApp(build_registry(), backend, config)
    bound: BoundAddress = await nursery.start(serve_asgi, application, config)
    sock = trio.socket.socket()
    sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 4096)  # fill up sooner
    await sock.connect((bound.host, bound.port))
    stream = trio.SocketStream(sock)
    conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    await stream.send_all(conn.send(ws_events.Request(host="localhost", target="/")))
    subscribe = json.dumps(request("chain_subscribeNewHeads"))
    texts: list[str] = []
    with trio.fail_after(5):
        while not texts:
            conn.receive_data(await stream.receive_some(65536))
            for event in conn.events():
                if isinstance(event, ws_events.AcceptConnection):
                    await stream.send_all(conn.send(ws_events.TextMessage(data=subscribe)))
                elif isinstance(event, ws_events.TextMessage):
                    texts.append(event.data)
    assert isinstance(json.loads(texts[0])["result"], str)
    produced = 0
    with trio.fail_after(8):  # the client reads nothing: the server's queue overflows
        while backend.hub.subscriber_count:
            backend.produce_block()
            produced += 1
            await trio.sleep(0.001)  # slow enough for the server to write each one out
    close: ws_events.CloseConnection | None = None
    with trio.fail_after(8):  # now read it all: the notifications, then the close frame
        while close is None:
            data = await stream.receive_some(1 << 20)
            assert data, "connection closed without a close frame"
            conn.receive_data(data)
            for event in conn.events():
                if isinstance(event, ws_events.CloseConnection):
                    close = event
    assert close.code == 1008
    assert close.reason == "client too slow: 64 messages queued unread (rpc.ws_send_queue)"
    assert produced > 64
    await stream.aclose()


async def test_a_client_that_reads_keeps_up_at_that_rate(nursery: trio.Nursery) -> None:
    """The control of the test above: same queue, same pace, a reading client is served."""
    backend = FakeBackend()
    config = RpcConfig(port=0, ws_send_queue=64)
    bound: BoundAddress = await nursery.start(
        serve_asgi, RpcApp(build_registry(), backend, config), config
    )
    async with WsClient.connect(bound.ws_url) as ws, ws.new_heads() as heads:
        await wait_for_subscribers(backend, 1)

        async def produce() -> None:
            for _ in range(100):
                backend.produce_block()
                await trio.sleep(0.001)

        nursery.start_soon(produce)
        numbers: list[int] = []
        with trio.fail_after(8):
            async for header in heads:
                numbers.append(header["number"])
                if len(numbers) == 100:
                    break
    assert numbers == list(range(1, 101)) and ws.close_code is None


@pytest.mark.parametrize("sent", [b"", b"POST / HTTP/1.1\r\nhost: localhost\r\n"])
async def test_a_connection_without_a_whole_request_is_closed_when_idle(
    nursery: trio.Nursery, sent: bytes
) -> None:
    """Nothing sent, or headers never finished: closed after keep_alive_timeout_s."""
    config = RpcConfig(port=0, keep_alive_timeout_s=1)
    application = RpcApp(build_registry(), FakeBackend(), config)
    bound: BoundAddress = await nursery.start(serve_asgi, application, config)
    stream = await trio.open_tcp_stream(bound.host, bound.port)
    await stream.send_all(sent)
    assert await read_until_closed(stream) == b""  # closed by the server, nothing said
    await stream.aclose()


def test_a_reply_is_charged_by_its_bytes_and_a_refused_batch_by_its_calls() -> None:
    from rpc.dispatch import REFUSED_COST, REPLY_BYTES_PER_UNIT

    now = [0.0]
    bucket = TokenBucket(rate=100, capacity=1000, clock=lambda: now[0])
    limit = RateLimit(bucket)
    # A cached document as large as the whole burst: the next request waits.
    limit.charge(1000 * REPLY_BYTES_PER_UNIT // REPLY_BYTES_PER_UNIT)
    assert limit.exhausted()
    with pytest.raises(RpcError):
        limit.check(1)
    # Debt is at most one burst deep: after 20 s at 100 a second it is all back.
    limit.charge(10**9)
    now[0] += 20
    assert bucket.take(1000) == 0
    assert REFUSED_COST >= 1


async def test_large_replies_spend_the_budget_over_http(nursery: trio.Nursery) -> None:
    from rpc.dispatch import REPLY_BYTES_PER_UNIT

    config = RpcConfig(port=0, rate_limit_per_s=0.01, rate_limit_burst=200, max_batch_cost=100)
    application = RpcApp(build_registry(), FakeBackend(), config)
    bound: BoundAddress = await nursery.start(serve_asgi, application, config)
    async with httpx.AsyncClient(base_url=bound.url, timeout=5) as client:
        first = await client.post("/", json=request("rpc_discover", id_=1))
        assert "result" in first.json()
        weight = len(first.content) // REPLY_BYTES_PER_UNIT
        replies = [
            (await client.post("/", json=request("rpc_discover", id_=i))).json()
            for i in range(2, 2 + 200 // max(1, weight) + 2)
        ]
    # Each discover reply costs its KiB: the burst of 200 units runs out long before
    # 200 calls (a call alone costs 5), and the client is told to wait.
    refused = [r for r in replies if "error" in r]
    assert refused and refused[0]["error"]["code"] == -32005
