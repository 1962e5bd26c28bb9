"""A small typed JSON-RPC client: HTTP (sync, httpx) and WebSocket (trio + wsproto).

Theory of operation
-------------------
``RpcClient`` sends one POST per call (or per batch) over a keep-alive
``httpx.Client``; an error reply raises ``RpcError(code, message, data)``,
an unreachable node ``RpcConnectionError``. Typed helpers turn the JSON
forms back into Python values (hashes to bytes, addresses stay text).

``WsClient`` holds one WebSocket connection: a reader task parses every
incoming message and routes a reply to the caller waiting on its ``id``, a
notification to the subscription named in ``params.subscription``. The
reader registers a subscription's queue *while handling the reply that
carries its id*, before reading the next message, so the first notification
(which the server sends after the reply) can never arrive before its queue.
Subscriptions are async context managers that unsubscribe on exit.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import trio
import wsproto
import wsproto.events as ws_events

from rpc.errors import INTERNAL_ERROR, RpcError

__all__ = ["ChainProperties", "RpcClient", "RpcConnectionError", "RpcError", "WsClient"]


class RpcConnectionError(ConnectionError):
    """The node could not be reached or did not answer with JSON-RPC."""


def _unhex(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise RpcConnectionError(f"expected 0x-hex from the node, got {text!r}")
    return bytes.fromhex(text[2:])


def _result(reply: Any) -> Any:
    if not isinstance(reply, dict) or reply.get("jsonrpc") != "2.0":
        raise RpcConnectionError(f"not a JSON-RPC reply: {str(reply)[:200]}")
    if "error" in reply:
        error = reply["error"]
        if not isinstance(error, dict):
            raise RpcConnectionError(f"malformed error in reply: {str(error)[:200]}")
        raise RpcError(
            int(error.get("code", INTERNAL_ERROR)), str(error.get("message")), error.get("data")
        )
    return reply.get("result")


@dataclass(frozen=True, slots=True)
class ChainProperties:
    token_symbol: str
    token_decimals: int
    address_prefix: str


class RpcClient:
    """Synchronous HTTP JSON-RPC client; use as a context manager or call ``close``."""

    def __init__(self, url: str = "http://127.0.0.1:9944", timeout: float = 30.0) -> None:
        self.url = url
        self._http = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _post(self, payload: Any) -> Any:
        try:
            response = self._http.post(
                self.url,
                content=json.dumps(payload, separators=(",", ":")),
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise RpcConnectionError(f"cannot reach the node at {self.url}: {exc}") from exc
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise RpcConnectionError(
                f"{self.url} answered HTTP {response.status_code} without JSON"
            ) from None

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` with positional ``params``; its result or ``RpcError``."""
        return _result(
            self._post(
                {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
            )
        )

    def call_named(self, method: str, **params: Any) -> Any:
        return _result(
            self._post(
                {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
            )
        )

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """One request for many calls; each item is its result or an ``RpcError``."""
        ids = [next(self._ids) for _ in calls]
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
            for i, (m, p) in zip(ids, calls, strict=True)
        ]
        replies = self._post(payload)
        if isinstance(replies, dict):  # the whole batch was refused
            _result(replies)
        if not isinstance(replies, list):
            raise RpcConnectionError("batch reply is not an array")
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        out: list[Any] = []
        for i in ids:
            try:
                out.append(_result(by_id.get(i)))
            except RpcError as exc:
                out.append(exc)
        return out

    # ------------------------------------------------------------- typed helpers

    def properties(self) -> ChainProperties:
        props = self.call("system_properties")
        return ChainProperties(
            str(props["tokenSymbol"]), int(props["tokenDecimals"]), str(props["addressPrefix"])
        )

    def genesis_hash(self) -> bytes:
        found = self.call("chain_getBlockHash", 0)
        if found is None:
            raise RpcConnectionError("the node has no genesis block")
        return _unhex(found)

    def block_hash(self, height: int | None = None) -> bytes | None:
        found = self.call("chain_getBlockHash", *([] if height is None else [height]))
        return None if found is None else _unhex(found)

    def get_header(self, block_hash: bytes | None = None) -> dict[str, Any] | None:
        args = [] if block_hash is None else ["0x" + block_hash.hex()]
        header: dict[str, Any] | None = self.call("chain_getHeader", *args)
        return header

    def best_height(self) -> int:
        header = self.get_header()
        if header is None:
            raise RpcConnectionError("the node has no best block")
        return int(header["number"])

    def next_index(self, address: str) -> int:
        return int(self.call("account_nextIndex", address))

    def submit(self, extrinsic: bytes) -> bytes:
        """Submit encoded extrinsic bytes; the extrinsic hash."""
        return _unhex(self.call("author_submitExtrinsic", "0x" + extrinsic.hex()))

    def receipt(self, extrinsic_hash: bytes) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.call("chain_getReceipt", "0x" + extrinsic_hash.hex())
        return found

    def storage(self, key: bytes, at: bytes | None = None) -> bytes | None:
        args = ["0x" + key.hex()] + ([] if at is None else ["0x" + at.hex()])
        found = self.call("state_getStorage", *args)
        return None if found is None else _unhex(found)

    def pending_extrinsics(self, offset: int = 0, limit: int | None = None) -> list[bytes]:
        """A page of the pool (an unsafe method: the node must enable unsafe methods)."""
        params: list[Any] = [offset] if limit is None else [offset, limit]
        return [_unhex(x) for x in self.call("author_pendingExtrinsics", *params)]

    def free_balance(self, address: str) -> int:
        """Free balance in minor units, from the node's ``balances_getBalance`` query."""
        return int(self.call("balances_getBalance", address)["free"])


# ------------------------------------------------------------- WebSocket


def _lone_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    leaves: list[BaseException] = []

    def collect(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                collect(inner)
        else:
            leaves.append(exc)

    collect(group)
    return leaves[0] if len(leaves) == 1 else None


@dataclass
class _Pending:
    done: trio.Event = field(default_factory=trio.Event)
    reply: Any = None
    subscription: trio.MemorySendChannel[Any] | None = None


class Subscription:
    """Async iterator over one subscription's notification results."""

    def __init__(
        self, sub_id: str, receive: trio.MemoryReceiveChannel[Any], last: Callable[[Any], bool]
    ) -> None:
        self.id = sub_id
        self._receive = receive
        self._last = last
        self._ended = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Any:
        if self._ended:
            raise StopAsyncIteration
        try:
            item = await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None
        if isinstance(item, RpcError):  # the server ended the subscription, saying why
            self._ended = True
            raise item
        if self._last(item):
            self._ended = True
        return item


def _final_status(status: Any) -> bool:
    return status == "dropped" or (
        isinstance(status, dict) and bool({"finalized", "invalid"} & status.keys())
    )


class WsClient:
    """JSON-RPC over one WebSocket; open with ``async with WsClient.connect(url) as ws``."""

    def __init__(
        self, stream: trio.SocketStream, conn: wsproto.WSConnection, buffer: int = 1024
    ) -> None:
        self._buffer = buffer
        self._stream = stream
        self._conn = conn
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._subs: dict[str, trio.MemorySendChannel[Any]] = {}
        self._send_lock = trio.Lock()
        self._closed = False
        # Set when the server closes the connection (e.g. 1008 "client too slow: ...").
        self.close_code: int | None = None
        self.close_reason: str | None = None

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str, buffer: int = 1024) -> AsyncIterator[WsClient]:
        parts = urlsplit(url.replace("http://", "ws://", 1))
        if parts.scheme != "ws" or not parts.hostname:
            raise ValueError(f"expected a ws:// or http:// URL, got {url!r}")
        port = parts.port or 80
        try:
            stream = await trio.open_tcp_stream(parts.hostname, port)
        except OSError as exc:
            raise RpcConnectionError(f"cannot reach the node at {url}: {exc}") from exc
        conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        client = cls(stream, conn, buffer)
        await client._send_event(ws_events.Request(host=parts.netloc, target=parts.path or "/"))
        await client._await_accept()
        try:
            async with stream, trio.open_nursery() as nursery:
                nursery.start_soon(client._reader)
                try:
                    yield client
                finally:
                    await client._close()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # The caller's own exception (an RpcError, say) went through our
            # nursery and came out grouped: hand it back as it was raised.
            lone = _lone_exception(group)
            if lone is None:
                raise
            raise lone from None

    async def _send_event(self, event: ws_events.Event) -> None:
        async with self._send_lock:
            await self._stream.send_all(self._conn.send(event))

    async def _await_accept(self) -> None:
        while True:
            data = await self._stream.receive_some(65536)
            if not data:
                raise RpcConnectionError("connection closed during the WebSocket handshake")
            self._conn.receive_data(data)
            for event in self._conn.events():
                if isinstance(event, ws_events.AcceptConnection):
                    return
                if isinstance(event, ws_events.RejectConnection):
                    raise RpcConnectionError(f"WebSocket refused (HTTP {event.status_code})")

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._conn.state == wsproto.connection.ConnectionState.OPEN:
                await self._send_event(ws_events.CloseConnection(code=1000))
        except (
            trio.BrokenResourceError,
            trio.ClosedResourceError,
            wsproto.utilities.LocalProtocolError,
        ):
            pass  # the peer is already gone: nothing left to close politely

    async def _reader(self) -> None:
        text: list[str] = []
        try:
            while True:
                data = await self._stream.receive_some(65536)
                self._conn.receive_data(data or None)
                for event in self._conn.events():
                    if isinstance(event, ws_events.TextMessage):
                        text.append(event.data)
                        if event.message_finished:
                            self._route("".join(text))
                            text.clear()
                    elif isinstance(event, ws_events.Ping):
                        await self._send_event(event.response())
                    elif isinstance(event, ws_events.CloseConnection):
                        self.close_code, self.close_reason = event.code, event.reason
                        if self._conn.state != wsproto.connection.ConnectionState.CLOSED:
                            await self._send_event(event.response())
                        return
                if not data:
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        finally:
            self._closed = True
            for pending in self._pending.values():
                pending.done.set()
            for channel in self._subs.values():
                channel.close()

    def _route(self, text: str) -> None:
        message = json.loads(text)
        if isinstance(message, list):  # a batch reply
            for entry in message:
                self._route_reply(entry)
            return
        if "id" in message:
            self._route_reply(message)
            return
        params = message.get("params") or {}
        channel = self._subs.get(str(params.get("subscription")))
        if channel is not None:
            error = params.get("error")
            item: Any = params.get("result")
            if isinstance(error, dict):  # the subscription ended server-side (e.g. lagged)
                item = RpcError(
                    int(error.get("code", INTERNAL_ERROR)),
                    str(error.get("message")),
                    error.get("data"),
                )
            try:
                channel.send_nowait(item)
            except trio.WouldBlock:
                channel.close()  # the caller stopped reading; end its iteration
            except trio.ClosedResourceError:
                pass  # unsubscribed locally while notifications were in flight

    def _route_reply(self, reply: Any) -> None:
        pending = self._pending.pop(reply.get("id"), None)
        if pending is None:
            return
        pending.reply = reply
        if pending.subscription is not None and isinstance(reply.get("result"), str):
            self._subs[reply["result"]] = pending.subscription
        pending.done.set()

    async def _request(self, method: str, params: Any, pending: _Pending) -> Any:
        if self._closed:
            raise RpcConnectionError("the WebSocket connection is closed")
        request_id = next(self._ids)
        self._pending[request_id] = pending
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        await self._send_event(ws_events.TextMessage(data=json.dumps(payload)))
        await pending.done.wait()
        if pending.reply is None:
            raise RpcConnectionError("the WebSocket connection closed before the reply")
        return _result(pending.reply)

    async def call(self, method: str, *params: Any) -> Any:
        return await self._request(method, list(params), _Pending())

    @asynccontextmanager
    async def subscribe(
        self,
        method: str,
        params: Sequence[Any],
        unsubscribe: str,
        last: Callable[[Any], bool] = lambda _: False,
    ) -> AsyncIterator[Subscription]:
        """Subscribe with ``method``; iterate the notifications; ``unsubscribe`` on exit."""
        send, receive = trio.open_memory_channel[Any](self._buffer)
        sub_id = await self._request(method, list(params), _Pending(subscription=send))
        try:
            yield Subscription(sub_id, receive, last)
        finally:
            self._subs.pop(sub_id, None)
            send.close()
            if not self._closed:
                # An error means it already ended on the server (e.g. after "finalized").
                with (
                    trio.CancelScope(shield=True),
                    trio.move_on_after(5),
                    contextlib.suppress(RpcError, RpcConnectionError),
                ):
                    await self.call(unsubscribe, sub_id)

    def new_heads(self) -> Any:
        return self.subscribe("chain_subscribeNewHeads", [], "chain_unsubscribeNewHeads")

    def finalized_heads(self) -> Any:
        return self.subscribe(
            "chain_subscribeFinalizedHeads", [], "chain_unsubscribeFinalizedHeads"
        )

    def submit_and_watch(self, extrinsic: bytes) -> Any:
        """``async with ws.submit_and_watch(x) as statuses: async for s in statuses``.

        Yields ``"ready"``, ``{"inBlock": h}``, ``{"finalized": h}`` (the end), or
        ``{"invalid": reason}`` / ``"dropped"``. A refused extrinsic raises ``RpcError``.
        """
        return self.subscribe(
            "author_submitAndWatchExtrinsic",
            ["0x" + extrinsic.hex()],
            "author_unwatchExtrinsic",
            last=_final_status,
        )
