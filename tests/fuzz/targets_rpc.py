"""Fuzz target of the JSON-RPC server: HTTP bodies through the ASGI app.

Theory of operation
-------------------
``rpc_http`` hands the input, as the body of ``POST /``, to ``rpc.app.RpcApp``
(the very callable hypercorn serves) over the in-memory ``FakeBackend`` of
tests/rpc, with the default ``RpcConfig``. No socket: one ``trio.run`` per
input, so thousands of bodies a second reach the dispatcher.

The server has no error type of its own to raise: every input must get a
JSON-RPC answer. The properties are those of spec/rpc.md, "Errors": status
200 (or 204 when the body held only notifications); a reply object, or a
non-empty array of them, each with ``jsonrpc: "2.0"``, an ``id`` and exactly
one of ``result``/``error``; an error code from the spec with a non-empty
message; for -32700/-32600/-32601/-32602 and 1010-1014 a non-empty ``data``
naming what is wrong; never -32603, since no client input is a server bug.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import trio

from rpc.app import RpcApp
from rpc.config import RpcConfig
from tests.fuzz.harness import Target
from tests.rpc.fake_backend import FakeBackend, build_registry

STANDARD_CODES = frozenset({-32700, -32600, -32601, -32602})
EXTRINSIC_CODES = frozenset({1010, 1011, 1012, 1013, 1014})
Response = tuple[int, dict[bytes, bytes], bytes]


@functools.cache
def app(config: RpcConfig | None = None) -> RpcApp:
    return RpcApp(build_registry(), FakeBackend(), config or RpcConfig())


async def asgi_request(
    application: RpcApp,
    pieces: Sequence[bytes],
    *,
    method: str = "POST",
    headers: tuple[tuple[bytes, bytes], ...] = ((b"content-type", b"application/json"),),
) -> Response:
    """Drive one HTTP request through the ASGI app; the body arrives as ``pieces``."""
    pieces = list(pieces) or [b""]
    scope = {"type": "http", "method": method, "path": "/", "headers": list(headers)}
    sent: list[dict[str, Any]] = []
    position = 0

    async def receive() -> dict[str, Any]:
        nonlocal position
        if position >= len(pieces):
            await trio.sleep_forever()
        piece = pieces[position]
        position += 1
        return {"type": "http.request", "body": piece, "more_body": position < len(pieces)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), payload


def post(body: bytes, application: RpcApp | None = None) -> Response:
    return trio.run(functools.partial(asgi_request, application or app(), [body]))


def check_reply(reply: Any) -> None:
    assert isinstance(reply, dict), f"a reply must be an object: {reply!r}"
    assert reply.get("jsonrpc") == "2.0", reply
    assert "id" in reply, reply
    assert ("result" in reply) != ("error" in reply), reply
    if "result" in reply:
        return
    error = reply["error"]
    code = error["code"]
    assert code != -32603, f"client input caused an internal error: {reply}"
    assert code in STANDARD_CODES | EXTRINSIC_CODES, f"code {code} is not in spec/rpc.md"
    assert isinstance(error["message"], str) and error["message"].strip(), reply
    data = error.get("data")
    assert isinstance(data, str) and data.strip(), f"error {code} does not say what is wrong"


def _parse_rpc(data: bytes) -> Response:
    return post(data)


def _rpc_accepted(_data: bytes, response: Response) -> None:
    status, _headers, payload = response
    assert status in (200, 204), f"status {status}"
    if status == 204:
        assert payload == b""
        return
    parsed = json.loads(payload)
    if isinstance(parsed, list):
        assert parsed, "an empty batch reply is not JSON-RPC"
        for reply in parsed:
            check_reply(reply)
    else:
        check_reply(parsed)


def _rpc_seeds() -> list[bytes]:
    bodies: list[Any] = [
        {"jsonrpc": "2.0", "id": 1, "method": "system_chain"},
        {"jsonrpc": "2.0", "id": 2, "method": "chain_getBlockHash", "params": [0]},
        {"jsonrpc": "2.0", "id": 3, "method": "chain_getHeader", "params": ["0x" + "00" * 32]},
        {"jsonrpc": "2.0", "id": 4, "method": "author_submitExtrinsic", "params": ["0x9601"]},
        {"jsonrpc": "2.0", "id": 5, "method": "state_getStorage", "params": {"key": "0x00"}},
        [
            {"jsonrpc": "2.0", "id": "a", "method": "account_nextIndex", "params": ["0x00"]},
            {"jsonrpc": "2.0", "method": "system_health"},
        ],
    ]
    return [json.dumps(body).encode() for body in bodies]


RPC_HTTP = Target(
    name="rpc_http",
    doc="JSON-RPC bodies through the ASGI app (rpc.app.RpcApp) over the fake backend",
    parse=_parse_rpc,
    refusals=(),
    seeds=_rpc_seeds,
    accepted=_rpc_accepted,
)
