"""JSON-RPC framing over HTTP: errors, batches, limits, exposure, health."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from rpc.config import RpcConfig
from tests.rpc.live_server import LiveServer

JSON = {"content-type": "application/json"}


def post(live: LiveServer, body: str | bytes, headers: dict[str, str] | None = None) -> Any:
    return httpx.post(live.url, content=body, headers=headers or JSON, timeout=10)


@pytest.fixture
def limited() -> Iterator[LiveServer]:
    config = RpcConfig(
        port=0, max_body_bytes=4096, max_batch=3, cors_origins=("https://wallet.example",)
    )
    server = LiveServer(config=config).start()
    yield server
    server.stop()


@pytest.mark.parametrize("body", ["{", "not json", '{"a": NaN}', "\xff", ""])
def test_malformed_json_is_a_parse_error(live: LiveServer, body: str) -> None:
    reply = post(live, body.encode("utf-8", "surrogateescape"))
    assert reply.status_code == 200
    assert reply.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error", "data": "body is not valid JSON"},
    }


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (42, "a request must be a JSON object"),
        ({"id": 1, "method": "system_name"}, 'jsonrpc must be "2.0"'),
        ({"method": "system_name"}, 'jsonrpc must be "2.0"'),  # not even a valid notification
        ({"jsonrpc": "1.0", "id": 1, "method": "system_name"}, 'jsonrpc must be "2.0"'),
        ({"jsonrpc": "2.0", "id": 1, "method": 5}, "method must be a string"),
        ({"jsonrpc": "2.0", "id": {"x": 1}, "method": "system_name"}, "id must be"),
        ({"jsonrpc": "2.0", "id": True, "method": "system_name"}, "id must be"),
        ([], "empty batch"),
    ],
)
def test_invalid_requests(live: LiveServer, request_: Any, reason: str) -> None:
    reply = post(live, json.dumps(request_)).json()
    assert reply["error"]["code"] == -32600
    assert reason in reply["error"]["data"]


def test_unknown_method_and_wrong_param_counts(live: LiveServer) -> None:
    reply = post(live, '{"jsonrpc":"2.0","id":"a","method":"chain_fly"}').json()
    assert reply == {
        "jsonrpc": "2.0",
        "id": "a",
        "error": {
            "code": -32601,
            "message": "Method not found",
            "data": "unknown method 'chain_fly'",
        },
    }
    too_many = {"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": [None, 1]}
    error = post(live, json.dumps(too_many)).json()["error"]
    assert error == {
        "code": -32602,
        "message": "Invalid params",
        "data": "params: chain_getHeader takes at most 1 parameters, got 2",
    }
    missing = {"jsonrpc": "2.0", "id": 1, "method": "account_nextIndex", "params": []}
    assert post(live, json.dumps(missing)).json()["error"]["data"] == (
        "address: required parameter missing"
    )
    unknown_name = {"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": {"hsh": 1}}
    assert post(live, json.dumps(unknown_name)).json()["error"]["data"] == "hsh: unknown parameter"
    scalar = {"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": "0x00"}
    assert post(live, json.dumps(scalar)).json()["error"]["data"].startswith("params: must be")


def test_batches_keep_ids_and_order_and_skip_notifications(live: LiveServer) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "system_chain"},
        {"jsonrpc": "2.0", "method": "system_chain"},  # notification: no reply
        {"jsonrpc": "2.0", "id": "two", "method": "nope_nothing"},
        5,
        {"jsonrpc": "2.0", "id": 3, "method": "chain_getBlockHash", "params": [0]},
    ]
    replies = post(live, json.dumps(batch)).json()
    assert [r["id"] for r in replies] == [1, "two", None, 3]
    assert replies[0]["result"] == "credichain-testnet"
    assert replies[1]["error"]["code"] == -32601
    assert replies[2]["error"]["code"] == -32600
    assert replies[3]["result"] == "0x" + live.backend.genesis_hash.hex()


def test_notifications_only_get_no_body(live: LiveServer) -> None:
    reply = post(live, json.dumps([{"jsonrpc": "2.0", "method": "system_chain"}] * 2))
    assert (reply.status_code, reply.content) == (204, b"")
    reply = post(live, json.dumps({"jsonrpc": "2.0", "method": "no_such"}))
    assert (reply.status_code, reply.content) == (204, b"")


def test_oversized_batch_and_body(limited: LiveServer) -> None:
    batch = [{"jsonrpc": "2.0", "id": i, "method": "system_chain"} for i in range(4)]
    reply = post(limited, json.dumps(batch)).json()
    assert reply["error"] == {
        "code": -32600,
        "message": "Invalid request",
        "data": "batch of 4 calls exceeds the limit of 3",
    }
    assert len(post(limited, json.dumps(batch[:3])).json()) == 3
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_chain", "params": ["x" * 5000]})
    reply = post(limited, big)
    assert reply.status_code == 413
    assert reply.json()["error"] == {
        "code": -32600,
        "message": "Invalid request",
        "data": "request body exceeds the limit of 4096 bytes",
    }


def test_oversized_streamed_body_is_refused_while_reading(limited: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    reply = httpx.post(limited.url, content=chunks(), headers=JSON, timeout=10)
    assert reply.status_code == 413


def test_content_type_verbs_paths(live: LiveServer) -> None:
    body = '{"jsonrpc":"2.0","id":1,"method":"system_chain"}'
    assert post(live, body, {"content-type": "text/plain"}).status_code == 415
    ok = post(live, body, {"content-type": "application/json; charset=utf-8"})
    assert ok.json()["result"] == "credichain-testnet"
    assert httpx.get(live.url, timeout=10).status_code == 405
    assert httpx.post(live.url + "/other", content=body, headers=JSON).status_code == 404


def test_health_endpoint(live: LiveServer) -> None:
    reply = httpx.get(live.url + "/health", timeout=10)
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "peers": 1, "isSyncing": False, "bestHeight": 0}


def test_no_cors_unless_configured(live: LiveServer, limited: LiveServer) -> None:
    body = '{"jsonrpc":"2.0","id":1,"method":"system_chain"}'
    evil = {**JSON, "origin": "https://evil.example"}
    assert post(live, body, evil).status_code == 403
    preflight = httpx.options(live.url, headers={"origin": "https://evil.example"})
    assert preflight.status_code == 403
    good = {**JSON, "origin": "https://wallet.example"}
    reply = post(limited, body, good)
    assert reply.headers["access-control-allow-origin"] == "https://wallet.example"
    preflight = httpx.options(limited.url, headers={"origin": "https://wallet.example"})
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert post(limited, body, evil).status_code == 403


def test_unsafe_methods_only_when_enabled(live: LiveServer) -> None:
    request = '{"jsonrpc":"2.0","id":1,"method":"system_resetPeers"}'
    error = post(live, request).json()["error"]
    assert error["code"] == -32601 and "unsafe" in error["data"]
    listed = post(live, '{"jsonrpc":"2.0","id":1,"method":"rpc_methods"}').json()["result"]
    assert "system_resetPeers" not in listed["methods"]
    unsafe = LiveServer(config=RpcConfig(port=0, unsafe_methods=True)).start()
    try:
        assert post(unsafe, request).json()["result"] is True
        listed = post(unsafe, '{"jsonrpc":"2.0","id":1,"method":"rpc_methods"}').json()["result"]
        assert "system_resetPeers" in listed["methods"]
    finally:
        unsafe.stop()


def test_internal_errors_never_leak_details(live: LiveServer) -> None:
    def broken() -> list[Any]:
        raise RuntimeError("secret path /home/validator/key.json")

    live.backend.peers = broken  # type: ignore[method-assign]
    with structlog.testing.capture_logs() as logs:
        reply = post(live, '{"jsonrpc":"2.0","id":9,"method":"system_peers"}')
    assert reply.status_code == 200
    assert reply.json() == {
        "jsonrpc": "2.0",
        "id": 9,
        "error": {"code": -32603, "message": "Internal error"},
    }
    assert "secret" not in reply.text
    assert any(e["event"] == "rpc method failed" and e["method"] == "system_peers" for e in logs)
