"""WebSocket: calls, subscriptions to heads, submit-and-watch, limits."""

from __future__ import annotations

import functools
import json

import pytest
import trio
import wsproto
import wsproto.events as ws_events

from ledger.crypto import Keypair
from ledger.types import Call, Extrinsic
from rpc.client import RpcConnectionError, WsClient
from rpc.config import RpcConfig
from rpc.errors import RpcError
from rpc.server import BoundAddress, serve
from tests.rpc.fake_backend import FakeBackend, build_registry

ALICE = Keypair.dev("alice")
BOB = Keypair.dev("bob").public


def transfer(backend: FakeBackend, nonce: int, amount: int = 10) -> Extrinsic:
    call = Call("balances", "transfer", {"amount": amount, "dest": BOB})
    return Extrinsic.create(ALICE, nonce, 1000, call, backend.genesis_hash)


async def wait_for_subscribers(backend: FakeBackend, count: int) -> None:
    with trio.fail_after(5):
        while backend.hub.subscriber_count != count:
            await trio.sleep(0.01)


async def test_calls_and_batches_over_websocket(ws_server: BoundAddress) -> None:
    async with WsClient.connect(ws_server.ws_url) as ws:
        assert await ws.call("system_chain") == "credichain-testnet"
        with pytest.raises(RpcError) as caught:
            await ws.call("chain_getBlockHash", "x")
        assert caught.value.code == -32602
        assert await ws.call("chain_unsubscribeNewHeads", "nope") is False


async def test_new_heads_in_order_then_unsubscribe(
    ws_server: BoundAddress, backend: FakeBackend
) -> None:
    async with WsClient.connect(ws_server.ws_url) as ws:
        async with ws.new_heads() as heads:
            await wait_for_subscribers(backend, 1)
            for _ in range(6):
                backend.produce_block()
            numbers = []
            with trio.fail_after(5):
                async for header in heads:
                    numbers.append(header["number"])
                    assert header["hash"] == "0x" + backend.by_height[header["number"]].hex()
                    if len(numbers) == 6:
                        break
            assert numbers == [1, 2, 3, 4, 5, 6]
            sub_id = heads.id
        await wait_for_subscribers(backend, 0)
        # Unsubscribed on exit: the id is gone on the server too.
        assert await ws.call("chain_unsubscribeNewHeads", sub_id) is False


async def test_finalized_heads(ws_server: BoundAddress, backend: FakeBackend) -> None:
    async with WsClient.connect(ws_server.ws_url) as ws, ws.finalized_heads() as heads:
        await wait_for_subscribers(backend, 1)
        backend.produce_block()
        with trio.fail_after(5):
            header = await heads.__anext__()
        assert header["number"] == 1


async def test_submit_and_watch_reports_ready_in_block_finalized(
    ws_server: BoundAddress, backend: FakeBackend
) -> None:
    ext = transfer(backend, 0)
    seen = []
    async with WsClient.connect(ws_server.ws_url) as ws:
        async with ws.submit_and_watch(ext.encode()) as statuses:
            with trio.fail_after(5):
                async for status in statuses:
                    seen.append(status)
                    if status == "ready":
                        backend.produce_block()
        block_hash = "0x" + backend.by_height[1].hex()
        assert seen == ["ready", {"inBlock": block_hash}, {"finalized": block_hash}]
        receipt = await ws.call("chain_getReceipt", "0x" + ext.hash.hex())
        assert receipt["blockHash"] == block_hash and receipt["success"] is True
    await wait_for_subscribers(backend, 0)


async def test_submit_and_watch_refusal_leaves_no_subscription(
    ws_server: BoundAddress, backend: FakeBackend
) -> None:
    ext = transfer(backend, 5)
    forged = Extrinsic(ext.signer, 0, ext.valid_until, ext.call, bytes(64))
    async with WsClient.connect(ws_server.ws_url) as ws:
        with pytest.raises(RpcError) as caught:
            async with ws.submit_and_watch(forged.encode()):
                pass
        assert (caught.value.code, caught.value.data) == (1010, "bad signature")
        await wait_for_subscribers(backend, 0)
        assert await ws.call("system_chain") == "credichain-testnet"


async def test_subscription_limit_per_connection(nursery: trio.Nursery) -> None:
    backend = FakeBackend()
    config = RpcConfig(port=0, max_subscriptions_per_connection=2)
    bound = await nursery.start(
        functools.partial(serve, backend, config, registry=build_registry())
    )
    async with WsClient.connect(bound.ws_url) as ws, ws.new_heads(), ws.finalized_heads():
        with pytest.raises(RpcError) as caught:
            await ws.call("chain_subscribeNewHeads")
        assert caught.value.code == -32600
        assert caught.value.data == "subscription limit of 2 per connection reached"


async def test_connection_limit(nursery: trio.Nursery) -> None:
    config = RpcConfig(port=0, max_ws_connections=1)
    bound = await nursery.start(
        functools.partial(serve, FakeBackend(), config, registry=build_registry())
    )
    async with WsClient.connect(bound.ws_url) as first:
        assert await first.call("system_name") == "credichain-fake"
        async with WsClient.connect(bound.ws_url) as second:
            with pytest.raises(RpcConnectionError):
                await second.call("system_name")
    async with WsClient.connect(bound.ws_url) as third:  # the slot is free again
        assert await third.call("system_name") == "credichain-fake"


async def test_browser_origin_refused_unless_configured(ws_server: BoundAddress) -> None:
    stream = await trio.open_tcp_stream(ws_server.host, ws_server.port)
    conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    request = ws_events.Request(
        host=f"{ws_server.host}:{ws_server.port}",
        target="/",
        extra_headers=[(b"origin", b"https://evil.example")],
    )
    async with stream:
        await stream.send_all(conn.send(request))
        events: list[ws_events.Event] = []
        with trio.fail_after(5):
            while not events:
                conn.receive_data(await stream.receive_some(65536))
                events = list(conn.events())
    assert isinstance(events[0], ws_events.RejectConnection)
    assert events[0].status_code == 403


async def raw_exchange(bound: BoundAddress, texts: list[str]) -> list[object]:
    """Send each text as one frame on a bare wsproto connection; the parsed replies."""
    stream = await trio.open_tcp_stream(bound.host, bound.port)
    conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    replies: list[object] = []
    async with stream:
        await stream.send_all(conn.send(ws_events.Request(host="localhost", target="/")))
        accepted = False
        with trio.fail_after(5):
            while not accepted:
                conn.receive_data(await stream.receive_some(65536))
                accepted = any(isinstance(e, ws_events.AcceptConnection) for e in conn.events())
            for text in texts:
                await stream.send_all(conn.send(ws_events.TextMessage(data=text)))
            while len(replies) < len(texts):
                conn.receive_data(await stream.receive_some(65536))
                for event in conn.events():
                    if isinstance(event, ws_events.TextMessage):
                        replies.append(json.loads(event.data))
    return replies


async def test_raw_batch_and_parse_error_over_websocket(ws_server: BoundAddress) -> None:
    replies = await raw_exchange(
        ws_server, ["[{", '[{"jsonrpc":"2.0","id":1,"method":"system_name"}]']
    )
    assert replies == [
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": "Parse error", "data": "body is not valid JSON"},
        },
        [{"jsonrpc": "2.0", "id": 1, "result": "credichain-fake"}],
    ]


async def test_errors_in_the_callers_block_come_out_ungrouped(ws_server: BoundAddress) -> None:
    with pytest.raises(KeyError, match="mine"):
        async with WsClient.connect(ws_server.ws_url):
            raise KeyError("mine")
