"""Generated requests never get an HTTP 500 or a reply that is not JSON-RPC.

Examples: ``RPC_FUZZ_EXAMPLES`` (default 150) per property; raise it for a
longer run, e.g. ``RPC_FUZZ_EXAMPLES=5000 pytest tests/rpc/test_fuzz.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.crypto import Keypair, encode_address
from tests.rpc.fake_backend import build_registry
from tests.rpc.live_server import LiveServer

EXAMPLES = int(os.environ.get("RPC_FUZZ_EXAMPLES", "150"))
METHODS = build_registry().names(include_unsafe=True)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
plausible_params = (
    st.binary(max_size=40).map(lambda b: "0x" + b.hex())
    | st.just("0x" + "00" * 32)
    | st.just(encode_address(Keypair.dev("bob").public))
    | st.integers(min_value=-5, max_value=10)
    | json_values
)
request_objects = st.fixed_dictionaries(
    {
        "jsonrpc": st.just("2.0") | json_values,
        "method": st.sampled_from(METHODS) | st.text(max_size=30),
    },
    optional={
        "id": st.integers() | st.text(max_size=10) | st.none() | json_values,
        "params": st.lists(plausible_params, max_size=4)
        | st.dictionaries(st.sampled_from(["hash", "height", "at", "key", "x"]), plausible_params)
        | json_values,
    },
)
bodies = (request_objects | st.lists(request_objects, min_size=0, max_size=5) | json_values).map(
    json.dumps
)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LiveServer, httpx.Client]]:
    live = LiveServer().start()
    with httpx.Client(headers={"content-type": "application/json"}, timeout=10) as client:
        yield live, client
    live.stop()


def check_reply(reply: Any) -> None:
    assert isinstance(reply, dict), reply
    assert reply["jsonrpc"] == "2.0"
    assert "id" in reply
    assert ("result" in reply) != ("error" in reply), reply
    if "error" in reply:
        assert isinstance(reply["error"]["code"], int)
        assert isinstance(reply["error"]["message"], str)
        assert reply["error"]["code"] != -32603, reply  # no generated input is a server bug


def check_response(response: httpx.Response) -> None:
    assert response.status_code in (200, 204), response.status_code
    if response.status_code == 204:
        assert response.content == b""
        return
    parsed = response.json()
    if isinstance(parsed, list):
        assert parsed
        for item in parsed:
            check_reply(item)
    else:
        check_reply(parsed)


@FUZZ
@given(body=bodies)
def test_generated_json_bodies(server: tuple[LiveServer, httpx.Client], body: str) -> None:
    live, client = server
    check_response(client.post(live.url, content=body))


@FUZZ
@given(body=st.binary(max_size=200))
def test_generated_raw_bodies(server: tuple[LiveServer, httpx.Client], body: bytes) -> None:
    live, client = server
    check_response(client.post(live.url, content=body))
