"""Every required method of spec/rpc.md over real HTTP, with a fake backend."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from ledger import codec
from ledger.crypto import Keypair, decode_address, encode_address
from rpc.client import RpcClient
from rpc.errors import RpcError
from tests.rpc import mini_wallet
from tests.rpc.fake_backend import INITIAL, balance_key
from tests.rpc.live_server import LiveServer

ALICE_SEED = hashlib.blake2b(b"credichain-dev/alice", digest_size=32).digest()
BOB = Keypair.dev("bob").public


def call(live: LiveServer, method: str, params: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 7, "method": method}
    if params is not None:
        body["params"] = params
    reply = httpx.post(live.url, json=body, timeout=10)
    assert reply.status_code == 200
    data: dict[str, Any] = reply.json()
    assert data["jsonrpc"] == "2.0" and data["id"] == 7
    return data


def result(live: LiveServer, method: str, params: Any = None) -> Any:
    data = call(live, method, params)
    assert "error" not in data, data
    return data["result"]


def error(live: LiveServer, method: str, params: Any = None) -> dict[str, Any]:
    data = call(live, method, params)
    assert "result" not in data, data
    err: dict[str, Any] = data["error"]
    return err


def submit_transfer(live: LiveServer, nonce: int, amount: int = 1000) -> bytes:
    genesis = bytes.fromhex(result(live, "chain_getBlockHash", [0])[2:])
    ext = mini_wallet.transfer(ALICE_SEED, genesis, nonce, 100, BOB, amount)
    returned = result(live, "author_submitExtrinsic", ["0x" + ext.hex()])
    assert returned == "0x" + mini_wallet.extrinsic_hash(ext).hex()
    return ext


def test_system_methods(live: LiveServer) -> None:
    assert result(live, "system_name") == "credichain-fake"
    assert result(live, "system_version") == "0.1.0-test"
    assert result(live, "system_chain") == "credichain-testnet"
    assert result(live, "system_properties") == {
        "tokenSymbol": "CC",
        "tokenDecimals": 6,
        "addressPrefix": "cc",
    }
    assert result(live, "system_health") == {
        "peers": 1,
        "isSyncing": False,
        "shouldHavePeers": True,
    }
    assert result(live, "system_peers") == [
        {"peerId": "peer-1", "address": "127.0.0.1:30333", "bestHeight": 0, "isValidator": True}
    ]


def test_block_hash_by_height_and_best(live: LiveServer) -> None:
    for _ in range(3):
        live.run(live.backend.produce_block)
    hashes = live.backend.by_height
    assert result(live, "chain_getBlockHash", [0]) == "0x" + hashes[0].hex()
    assert result(live, "chain_getBlockHash", [2]) == "0x" + hashes[2].hex()
    assert result(live, "chain_getBlockHash") == "0x" + hashes[3].hex()
    assert result(live, "chain_getBlockHash", {"height": 1}) == "0x" + hashes[1].hex()
    assert result(live, "chain_getBlockHash", [99]) is None
    assert result(live, "chain_getFinalizedHead") == "0x" + hashes[3].hex()


@pytest.mark.parametrize("bad", ["1", -1, True, 1.5, [1], 2**70])
def test_block_hash_refuses_a_bad_height(live: LiveServer, bad: Any) -> None:
    err = error(live, "chain_getBlockHash", [bad])
    assert err["code"] == -32602
    assert err["data"].startswith("height: ")


def test_header_fields(live: LiveServer) -> None:
    block = live.run(live.backend.produce_block)
    header = block.header
    got = result(live, "chain_getHeader")
    assert got == result(live, "chain_getHeader", ["0x" + header.hash.hex()])
    assert got["hash"] == "0x" + header.hash.hex()
    assert got["parentHash"] == "0x" + header.parent_hash.hex()
    assert got["number"] == 1
    assert got["timestamp"] == header.timestamp_ms
    assert got["stateRoot"] == "0x" + header.state_root.hex()
    assert got["extrinsicsRoot"] == "0x" + header.extrinsics_root.hex()
    assert got["validatorsHash"] == "0x" + header.validators_hash.hex()
    assert decode_address(got["proposer"]) == header.proposer
    assert got["nextValidatorsHash"] == "0x" + header.next_validators_hash.hex()
    assert result(live, "chain_getHeader", ["0x" + "ab" * 32]) is None


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("0xzz" + "00" * 31, "not a hex digit"),
        ("abcd", "must start with 0x"),
        ("0x123", "even number"),
        ("0x" + "00" * 31, "a hash is 32 bytes"),
        (5, "expected a 0x-prefixed hex string"),
    ],
)
def test_header_refuses_bad_hex(live: LiveServer, bad: Any, reason: str) -> None:
    err = error(live, "chain_getHeader", [bad])
    assert err["code"] == -32602
    assert err["data"].startswith("hash: ") and reason in err["data"]


def test_block_with_extrinsics_and_commit(live: LiveServer) -> None:
    ext = submit_transfer(live, 0)
    block = live.run(live.backend.produce_block)
    got = result(live, "chain_getBlock", ["0x" + block.hash.hex()])
    assert got["block"]["header"]["hash"] == "0x" + block.hash.hex()
    assert got["block"]["extrinsics"] == ["0x" + ext.hex()]
    commit = got["commit"]
    assert commit["height"] == 1 and commit["round"] == 0
    assert commit["blockHash"] == "0x" + block.hash.hex()
    (sig,) = commit["signatures"]
    assert decode_address(sig["validator"]) == live.backend.validators.validators[0].public
    assert len(bytes.fromhex(sig["signature"][2:])) == 64
    assert result(live, "chain_getBlock") == got
    assert result(live, "chain_getBlock", ["0x" + "cd" * 32]) is None


def test_submit_from_independent_wallet_and_receipt(live_unsafe: LiveServer) -> None:
    live = live_unsafe
    alice_hex = "0x" + mini_wallet.account_of(ALICE_SEED).hex()
    assert result(live, "account_nextIndex", [alice_hex]) == 0
    ext = submit_transfer(live, 0, amount=2500)
    ext_hash = "0x" + mini_wallet.extrinsic_hash(ext).hex()
    assert result(live, "author_pendingExtrinsics") == ["0x" + ext.hex()]
    assert result(live, "account_nextIndex", [encode_address(Keypair.dev("alice").public)]) == 1
    assert result(live, "chain_getReceipt", [ext_hash]) is None
    block = live.run(live.backend.produce_block)
    receipt = result(live, "chain_getReceipt", [ext_hash])
    assert receipt["blockHash"] == "0x" + block.hash.hex()
    assert (receipt["height"], receipt["index"], receipt["success"]) == (1, 0, True)
    assert receipt["error"] is None
    assert receipt["events"] == [
        {
            "pallet": "balances",
            "name": "Transfer",
            "attributes": {
                "amount": "2500",
                "from": alice_hex,
                "to": "0x" + BOB.hex(),
            },
        }
    ]
    assert result(live, "author_pendingExtrinsics") == []


def test_failed_receipt_carries_the_dispatch_error(live: LiveServer) -> None:
    ext = submit_transfer(live, 0, amount=INITIAL["alice"] + 1)
    live.run(live.backend.produce_block)
    receipt = result(live, "chain_getReceipt", ["0x" + mini_wallet.extrinsic_hash(ext).hex()])
    assert receipt["success"] is False
    assert receipt["error"] == {
        "pallet": "balances",
        "code": "InsufficientBalance",
        "rule": "F1",
        "message": "balance too low",
    }


def _genesis(live: LiveServer) -> bytes:
    return live.backend.genesis_hash


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda g: mini_wallet.transfer(ALICE_SEED, bytes(32), 0, 100, BOB, 1), "bad signature"),
        (lambda g: mini_wallet.transfer(ALICE_SEED, g, 0, 100, BOB, 1)[:-1], "not canonical"),
        (
            lambda g: mini_wallet.pack(
                [
                    1,
                    bytes(32),
                    0,
                    100,
                    ["balances", "transfer", {"dest": BOB, "amount": 1}],
                    bytes(64),
                ]
            ),
            "not canonical",
        ),
    ],
)
def test_invalid_extrinsics_are_refused_with_1010(live: LiveServer, make: Any, reason: str) -> None:
    ext = make(_genesis(live))
    err = error(live, "author_submitExtrinsic", ["0x" + ext.hex()])
    assert err["code"] == 1010
    assert err["message"] == "Invalid Transaction"
    assert reason in err["data"]


def test_stale_nonce_expired_unknown_call_bad_args(live: LiveServer) -> None:
    key = Keypair.dev("alice")
    g = _genesis(live)
    submit_transfer(live, 0)
    for _ in range(3):
        live.run(live.backend.produce_block)
    from ledger.types import Call, Extrinsic

    cases = [
        (Extrinsic.create(key, 0, 100, Call("balances", "transfer", {"amount": 1, "dest": BOB}), g),
         "stale nonce"),
        (Extrinsic.create(key, 1, 2, Call("balances", "transfer", {"amount": 1, "dest": BOB}), g),
         "expired"),
        (Extrinsic.create(key, 1, 100, Call("loans", "steal", {}), g), "unknown call"),
        (Extrinsic.create(key, 1, 100, Call("balances", "transfer", {"amount": "x", "dest": BOB}),
                          g), "bad arguments"),
    ]  # fmt: skip
    for ext, reason in cases:
        err = error(live, "author_submitExtrinsic", ["0x" + ext.encode().hex()])
        assert (err["code"], err["data"].split(":")[0]) == (1010, reason)


def test_banned_duplicate_and_pool_full(live: LiveServer) -> None:
    g = _genesis(live)
    ext = submit_transfer(live, 0)
    err = error(live, "author_submitExtrinsic", ["0x" + ext.hex()])
    assert (err["code"], err["message"]) == (1013, "Transaction Already Imported")
    live.backend.banned.add(mini_wallet.account_of(ALICE_SEED))
    err = error(live, "author_submitExtrinsic", ["0x" + mini_wallet.transfer(
        ALICE_SEED, g, 1, 100, BOB, 5).hex()])  # fmt: skip
    assert (err["code"], err["data"]) == (1012, "signer temporarily banned")
    live.backend.banned.clear()
    live.backend.pool_limit = 1
    err = error(live, "author_submitExtrinsic", ["0x" + mini_wallet.transfer(
        ALICE_SEED, g, 1, 100, BOB, 5).hex()])  # fmt: skip
    assert (err["code"], err["data"]) == (1014, "pool full")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (encode_address(BOB)[:-1] + ("q" if encode_address(BOB)[-1] != "q" else "p"), "checksum"),
        (encode_address(BOB, "xx"), "is not this chain's 'cc'"),
        ("0x1234", "must be 32 bytes"),
        (42, "expected an address string"),
    ],
)
def test_next_index_refuses_bad_addresses(live: LiveServer, address: Any, reason: str) -> None:
    err = error(live, "account_nextIndex", [address])
    assert err["code"] == -32602
    assert err["data"].startswith("address: ") and reason in err["data"]


def test_storage_at_blocks_and_proofs(live: LiveServer) -> None:
    key = "0x" + balance_key(BOB).hex()
    genesis_hash = "0x" + live.backend.genesis_hash.hex()
    submit_transfer(live, 0, amount=7)
    live.run(live.backend.produce_block)
    best = result(live, "state_getStorage", [key])
    assert codec.decode(bytes.fromhex(best[2:])) == INITIAL["bob"] + 7
    at_genesis = result(live, "state_getStorage", [key, genesis_hash])
    assert codec.decode(bytes.fromhex(at_genesis[2:])) == INITIAL["bob"]
    assert result(live, "state_getStorage", ["0x00"]) is None
    err = error(live, "state_getStorage", [key, "0x" + "ee" * 32])
    assert (err["code"], err["data"]) == (-32602, f"at: unknown block 0x{'ee' * 32}")
    live.backend.pruned.add(live.backend.genesis_hash)
    err = error(live, "state_getStorage", {"key": key, "at": genesis_hash})
    assert err["code"] == -32602 and "pruned" in err["data"]
    proof = result(live, "state_getReadProof", [[key, "0x01"]])
    assert proof["at"] == "0x" + live.backend.best_hash().hex()
    assert [codec.decode(bytes.fromhex(p[2:]))[0] for p in proof["proof"]] == [
        balance_key(BOB),
        b"\x01",
    ]
    err = error(live, "state_getReadProof", [["0xg0"]])
    assert err["code"] == -32602 and err["data"].startswith("keys.0: ")


def test_metadata_and_pallet_query(live: LiveServer) -> None:
    metadata = result(live, "state_getMetadata")
    assert metadata["pallets"][0]["name"] == "balances"
    bob = encode_address(BOB)
    assert result(live, "balances_getBalance", [bob]) == {"free": str(INITIAL["bob"])}
    genesis_hash = "0x" + live.backend.genesis_hash.hex()
    assert result(live, "balances_getBalance", {"address": bob, "at": genesis_hash}) == {
        "free": str(INITIAL["bob"])
    }
    err = error(live, "balances_getBalance", [bob, "0x" + "11" * 32])
    assert err["code"] == -32602 and err["data"].startswith("at: unknown block")


def test_subscriptions_need_a_websocket(live: LiveServer) -> None:
    for method in ("chain_subscribeNewHeads", "author_submitAndWatchExtrinsic"):
        err = error(live, method, ["0x00"] if method.startswith("author") else None)
        assert err["code"] == -32601 and "WebSocket" in err["data"]


def test_typed_client_helpers(live_unsafe: LiveServer) -> None:
    live = live_unsafe
    with RpcClient(live.url) as client:
        assert client.properties().token_decimals == 6
        assert client.genesis_hash() == live.backend.genesis_hash
        ext = mini_wallet.transfer(ALICE_SEED, client.genesis_hash(), 0, 100, BOB, 3)
        assert client.submit(ext) == mini_wallet.extrinsic_hash(ext)
        assert client.pending_extrinsics() == [ext]
        assert client.next_index(encode_address(Keypair.dev("alice").public)) == 1
        live.run(live.backend.produce_block)
        assert client.best_height() == 1
        assert client.block_hash(1) == live.backend.by_height[1]
        assert client.receipt(mini_wallet.extrinsic_hash(ext))["success"] is True  # type: ignore[index]
        assert client.free_balance(encode_address(BOB)) == INITIAL["bob"] + 3
        assert client.storage(b"\x00") is None
        replies = client.batch([("system_chain", []), ("chain_getBlockHash", ["x"])])
        assert replies[0] == "credichain-testnet"
        assert isinstance(replies[1], RpcError) and replies[1].code == -32602
        with pytest.raises(RpcError) as caught:
            client.submit(ext)
        assert caught.value.code == 1013
