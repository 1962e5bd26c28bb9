"""A pallet's declared query reaches metadata, JSON-RPC and OpenRPC with nothing else written.

The probe pallet (tests/rpc/probe_pallet/: one call, one query) is added to
the runtime by one line, ``RUNTIME`` below. Its call runs on a ``TestChain``
of that runtime; the resulting state is served by a real HTTP server over the
fake backend, with the methods generated from ``RUNTIME``'s declarations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Final

import pytest

from ledger.crypto import encode_address
from pallets import construct
from pallets.executive.registry import PalletRegistry
from pallets.support.argtypes import U32
from pallets.support.declare import Pallet, RuntimeFault
from pallets.support.queries import QuerySet
from rpc.client import RpcClient
from rpc.errors import INVALID_PARAMS, RpcError
from rpc.methods import standard_registry
from rpc.queries import json_schema, register_queries
from tests.pallets.helpers import ALICE, BOB, TestChain
from tests.rpc.fake_backend import FakeBackend
from tests.rpc.live_server import LiveServer
from tests.rpc.probe_pallet import PALLET
from tests.rpc.probe_pallet.queries import DEPOSIT, NOTE_VIEW
from tests.rpc.probe_pallet.storage import NOTES

RUNTIME: Final = PalletRegistry((*construct.PALLETS, PALLET), wiring=construct.WIRING)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    chain = TestChain(registry=RUNTIME)
    receipts = chain.execute([chain.sign(ALICE, "probe", "set_note", {"note": "hello"})]).receipts
    assert [r.success for r in receipts] == [True]
    backend = FakeBackend()
    backend.states[backend.genesis_hash].update(chain.state().iterate(NOTES.prefix))
    methods = standard_registry()
    register_queries(methods, RUNTIME)
    server = LiveServer(backend, registry=methods).start()
    yield server
    server.stop()


def _error(live: LiveServer, **params: Any) -> RpcError:
    with RpcClient(live.url) as client, pytest.raises(RpcError) as caught:
        client.call_named("probe_getNote", **params)
    assert caught.value.code == INVALID_PARAMS
    return caught.value


def test_the_query_is_in_the_metadata() -> None:
    (probe,) = [p for p in RUNTIME.metadata()["pallets"] if p["name"] == "probe"]
    (query,) = probe["queries"]
    assert query["method"] == "probe_getNote"
    assert [(a["name"], a["type"], a["required"]) for a in query["args"]] == [
        ("address", "account", True),
        ("pad", "u32", False),
    ]
    assert query["args"][1]["default"] == 0
    assert query["result"]["def"]["kind"] == "struct"
    assert [f["name"] for f in query["result"]["def"]["fields"]] == [
        "owner",
        "note",
        "length",
        "deposit",
    ]
    assert query["doc"] == "An account's note (null if none) and its length plus ``pad``."
    assert RUNTIME.query("probe", "getNote") is not None


def test_the_query_is_served_over_http(live: LiveServer) -> None:
    alice, bob = encode_address(ALICE.public, "cc"), encode_address(BOB.public, "cc")
    with RpcClient(live.url) as client:
        assert "probe_getNote" in client.call("rpc_methods")["methods"]
        assert client.call("probe_getNote", alice) == {
            "owner": alice,
            "note": "hello",
            "length": 5,
            "deposit": str(DEPOSIT),
        }
        by_name = client.call_named("probe_getNote", address="0x" + BOB.public.hex(), pad=2)
        assert by_name == {"owner": bob, "note": None, "length": 2, "deposit": str(DEPOSIT)}
        genesis = "0x" + live.backend.genesis_hash.hex()
        assert client.call("probe_getNote", alice, 1, genesis)["length"] == 6


def test_openrpc_lists_the_query_with_its_schemas(live: LiveServer) -> None:
    with RpcClient(live.url) as client:
        document = client.call("rpc_discover")
    (entry,) = [m for m in document["methods"] if m["name"] == "probe_getNote"]
    assert entry["description"] == "An account's note (null if none) and its length plus ``pad``."
    assert [(p["name"], p["required"]) for p in entry["params"]] == [
        ("address", True),
        ("pad", False),
        ("at", False),
    ]
    assert entry["params"][1]["schema"]["type"] == "integer"
    schema = entry["result"]["schema"]
    assert schema == json_schema(NOTE_VIEW)
    assert schema["required"] == ["owner", "note", "length", "deposit"]
    assert schema["properties"]["deposit"]["pattern"] == "^[0-9]+$"
    assert schema["properties"]["note"]["oneOf"][1] == {"type": "null"}
    assert entry["x-cost"] == 2


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"address": "cc1notanaddress"}, "address: "),
        ({"address": "0x" + "11" * 32, "pad": -1}, "pad: -1 is outside the u32 range"),
        ({"address": "0x" + "11" * 32, "pad": "2"}, "pad: expected an integer"),
        ({"pad": 1}, "address: required parameter missing"),
        ({"address": "0x" + "11" * 32, "color": 1}, "color: unknown parameter"),
        ({"address": "0x" + "11" * 32, "at": "0x" + "22" * 32}, "at: unknown block"),
    ],
)
def test_a_bad_argument_is_named(live: LiveServer, params: dict[str, Any], named: str) -> None:
    error = _error(live, **params)
    assert str(error.data).startswith(named), error.data


def test_two_pallets_cannot_declare_one_query() -> None:
    twin = QuerySet("twin", namespace="probe")

    @twin.query("getNote", args=(("pad", U32),), result=U32)
    def get_note(state: Any, pad: int) -> int:
        """A query of the same name as the probe's."""
        return pad

    clash = Pallet(name="twin", index=91, doc="test", queries=tuple(twin.defs))
    with pytest.raises(RuntimeFault, match="probe_getNote is declared by both probe and twin"):
        PalletRegistry((*construct.PALLETS, PALLET, clash), wiring=construct.WIRING)


def test_the_cli_reaches_the_query_from_its_declaration(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """``credichain query`` lists and runs it: no command was written for it."""
    from typer.testing import CliRunner

    from node.cli import common
    from node.cli.query import query_app

    monkeypatch.setattr(construct, "PALLETS", (*construct.PALLETS, PALLET))  # the one line
    common.runtime.cache_clear()
    try:
        runner = CliRunner()
        options = ["--rpc", live.url, "--keystore", str(tmp_path)]

        def run(*args: str) -> Any:
            return runner.invoke(query_app, [*options, *args])

        listed = run("list", "--json")
        assert listed.exit_code == 0, listed.output
        rows = {row["method"]: row for row in json.loads(listed.stdout)}
        assert rows["probe_getNote"]["arguments"] == "address:account pad?:u32"
        alice = encode_address(ALICE.public, "cc")
        got = runner.invoke(
            query_app, [*options, "get", "probe_getNote", f"address={alice}", "pad=1", "--json"]
        )
        assert got.exit_code == 0, got.output
        assert json.loads(got.stdout) == {
            "owner": alice,
            "note": "hello",
            "length": 6,
            "deposit": str(DEPOSIT),
        }
        bad = run("get", "probe_getNote", "pad=x")
        assert bad.exit_code == 1 and "pad: 'x' is not an integer" in bad.output
        unknown = runner.invoke(
            query_app, [*options, "get", "probe_getNote", f"address={alice}", "color=1"]
        )
        assert unknown.exit_code == 1 and "takes no argument 'color'" in unknown.output
        missing = run("get", "probe_getNote")
        assert missing.exit_code == 1 and "needs address" in missing.output
    finally:
        common.runtime.cache_clear()
