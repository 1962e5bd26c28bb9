"""An outsider rebuilds every hash, root and commit of a chain from RPC answers alone (issue 22).

The verifier (``Outsider`` and the functions above it) shares no code with the
node: it imports msgpack, hashlib, nacl and httpx, and writes the recipes of
docs/PROTOCOL.md out itself (canonical MessagePack, BLAKE2b-256, the RFC 6962
Merkle root, bech32m, Ed25519 vote signatures). For every block it checks:
the header hash from ``chain_getHeaderRaw`` and from the JSON header, the
block's bytes (``chain_getBlockRaw``) against its JSON, the extrinsics root and
each extrinsic's signature, the evidence root and each piece of evidence (in
full, ``evidenceFull``), the receipts root (``chain_getReceipt``'s ``raw``),
the events root (``chain_getEvents``), ``lastCommitHash``, the block's commit
and the commit carried by the next block against the validator set of their
height, ``validatorsHash``/``nextValidatorsHash``, and block 0 against
``chain_getGenesis``.

The validator set of a height is taken from the state, as the docs leave it
to be inferred (issue 22 point 2): the genesis document's set for heights
0-2; for h >= 3, ``system/validator_changes/<u64be(h)>`` in the state after
block h-2 if present, otherwise the set of h-1 (and ``system/validators`` in
the state after block h must equal it).

Two chains are verified:

* **in memory, over the real RPC server**: evidence against an equivocating
  validator cannot be produced reliably on a live localnet within the time
  budget (the chaos "twin" needs a proxy net and up to 45 s), so the community
  chain of ``node.testing.replay_fixture_community`` (a governance validator
  change, a failed ballot, epoch and enactment hook events) is extended with
  a block carrying equivocation evidence and a failed transfer, written to
  LevelDB, reopened (as a restarted node would) and served by the node's own
  ``NodeRpcBackend`` and ``node_registry()`` on hypercorn;
* **a live localnet** of two validator processes, with a failed transfer: the
  same verifier over what real nodes serve.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import msgpack
import nacl.exceptions
import nacl.signing
import pytest
import trio

# ============================================================== the outsider's recipes


def H(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode())
        return {k: _canonical(v) for k, v in items}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def enc(value: Any) -> bytes:
    """Canonical MessagePack: shortest ints, bin for bytes, str keys sorted by UTF-8 bytes."""
    return bytes(msgpack.packb(_canonical(value), use_bin_type=True))


def dec(data: bytes) -> Any:
    """Decode, and refuse bytes that are not the canonical encoding of what they hold."""
    value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    assert enc(value) == data, "not canonical"
    return value


def merkle_root(items: list[bytes]) -> bytes:
    if not items:
        return H(b"")

    def root(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return leaves[0]
        split = 1 << ((len(leaves) - 1).bit_length() - 1)
        return H(b"\x01" + root(leaves[:split]) + root(leaves[split:]))

    return root([H(b"\x00" + item) for item in items])


_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32m_decode(text: str) -> bytes:
    """BIP-350 bech32m of a 32-byte key (8-to-5-bit words, no witness version)."""
    hrp, _, data = text.rpartition("1")
    words = [_CHARSET.index(c) for c in data]
    checksum = 1
    for value in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + words:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            checksum ^= gen if (top >> i) & 1 else 0
    assert checksum == 0x2BC830A3, f"{text}: bad bech32m checksum"
    acc = bits = 0
    out = bytearray()
    for word in words[:-6]:
        acc, bits = (acc << 5) | word, bits + 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    assert len(out) == 32, text
    return bytes(out)


def unhex(text: str) -> bytes:
    assert text.startswith("0x"), text
    return bytes.fromhex(text[2:])


def verify(key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(key).verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def vote_sign_bytes(
    genesis: bytes, height: int, round_: int, kind: int, block: Any, ts: int
) -> bytes:
    return b"CREDICHAIN/VOTE/1" + genesis + enc([height, round_, kind, block, ts])


def json_form(value: Any) -> Any:
    """docs/rpc.md "JSON forms": bytes as 0x hex, every integer as a decimal string."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {k: json_form(v) for k, v in value.items()}
    return [json_form(v) for v in value]


HEADER_FIELDS = (
    "number", "timestamp", "parentHash", "lastCommitHash", "extrinsicsRoot", "evidenceRoot",
    "stateRoot", "receiptsRoot", "eventsRoot", "validatorsHash", "nextValidatorsHash",
    "proposer", "proposalRound", "vrfProof",
)  # fmt: skip


def header_from_json(header: dict[str, Any]) -> list[Any]:
    """PROTOCOL.md §3's array rebuilt from the JSON header (its ``version`` field first)."""
    out: list[Any] = [header["version"]]
    for name in HEADER_FIELDS:
        value = header[name]
        if name == "proposer":
            value = bech32m_decode(value)
        elif isinstance(value, str):
            value = unhex(value)
        out.append(value)
    return out


class Outsider:
    """Checks a chain through JSON-RPC only."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(timeout=30)
        self.url = url
        self.sets: dict[int, list[list[Any]]] = {}
        self.hashes: dict[int, bytes] = {}
        self.seen = {"evidence": 0, "failed": 0, "hook_events": 0, "set_changes": 0}

    def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply = self.http.post(self.url, json=body).json()
        assert "error" not in reply, (method, params, reply)
        return reply["result"]

    def storage(self, key: bytes, at: bytes) -> Any:
        found = self.call("state_getStorage", "0x" + key.hex(), "0x" + at.hex())
        return None if found is None else dec(unhex(found))

    def block_hash(self, height: int) -> bytes:
        if height not in self.hashes:
            self.hashes[height] = unhex(self.call("chain_getBlockHash", height))
        return self.hashes[height]

    # ---------------------------------------------------------- genesis, validator sets

    def check_genesis(self) -> None:
        genesis = self.call("chain_getGenesis")
        doc, self.genesis = genesis["document"], unhex(genesis["hash"])
        assert (
            self.genesis
            == self.block_hash(0)
            == H(unhex(self.call("chain_getHeaderRaw", "0x" + self.genesis.hex())))
        )
        header = self.call("chain_getHeader", "0x" + self.genesis.hex())
        assert header["timestamp"] == doc["genesis_time"] * 1000
        assert (
            doc["chain"] == self.call("system_chain") == self.storage(b"system/chain", self.genesis)
        )
        vset = sorted([bytes.fromhex(v["public_key"]), v["power"]] for v in doc["validators"])
        assert "0x" + H(enc(vset)).hex() == header["validatorsHash"] == header["nextValidatorsHash"]
        assert self.storage(b"system/validators", self.genesis) == vset
        self.sets.update({0: vset, 1: vset, 2: vset})

    def validator_set(self, height: int) -> list[list[Any]]:
        if height not in self.sets:
            previous = self.validator_set(height - 1)
            key = b"system/validator_changes/" + height.to_bytes(8, "big")
            change = self.storage(key, self.block_hash(height - 2))
            self.sets[height] = previous if change is None else change
            if change is not None:
                self.seen["set_changes"] += 1
        return self.sets[height]

    def check_commit(self, commit: dict[str, Any], height: int, block_hash: bytes) -> None:
        assert (commit["height"], unhex(commit["blockHash"])) == (height, block_hash)
        powers = {key: power for key, power in self.validator_set(height)}
        signed, keys = 0, []
        for sig in commit["signatures"]:
            key = bech32m_decode(sig["validator"])
            assert key in powers, f"commit of {height}: {sig['validator']} is not in the set"
            message = vote_sign_bytes(
                self.genesis, height, commit["round"], 2, block_hash, sig["timestamp"]
            )
            assert verify(key, message, unhex(sig["signature"])), (
                f"commit of {height}: bad signature"
            )
            signed += powers[key]
            keys.append(key)
        assert keys == sorted(set(keys)), f"commit of {height}: not sorted or repeated"
        assert 3 * signed > 2 * sum(powers.values()), f"commit of {height}: no quorum"

    # ---------------------------------------------------------- one block

    def check_block(self, height: int) -> None:
        block_hash = self.block_hash(height)
        at = "0x" + block_hash.hex()
        raw_header = unhex(self.call("chain_getHeaderRaw", at))
        header = self.call("chain_getHeader", at)
        assert H(raw_header) == block_hash == unhex(header["hash"])
        assert enc(header_from_json(header)) == raw_header, f"header {height} from JSON"
        assert header["version"] == 2 and header["number"] == height
        if height > 0:
            assert unhex(header["parentHash"]) == self.block_hash(height - 1)

        raw_block = unhex(self.call("chain_getBlockRaw", at))
        block_header, extrinsics, last_commit, evidence = dec(raw_block)
        assert enc(block_header) == raw_header  # the header nests as an array, not as bin
        served = self.call("chain_getBlock", at)
        body = served["block"]
        assert body["header"] == header
        assert ["0x" + x.hex() for x in extrinsics] == body["extrinsics"]
        assert merkle_root(extrinsics) == unhex(header["extrinsicsRoot"])
        self.check_extrinsics(extrinsics)

        leaves = [enc(item) for item in evidence]  # evidence nests as arrays of arrays
        assert merkle_root(leaves) == unhex(header["evidenceRoot"])
        assert [unhex(e["raw"]) for e in body["evidenceFull"]] == leaves
        assert [e["hash"] for e in body["evidenceFull"]] == body["evidence"]
        for item, full in zip(evidence, body["evidenceFull"], strict=True):
            self.check_evidence(item, full)

        if last_commit is None:
            assert height <= 1 and unhex(header["lastCommitHash"]) == bytes(32)
        else:
            assert H(enc(last_commit)) == unhex(header["lastCommitHash"])
            assert body["lastCommit"]["blockHash"] == "0x" + last_commit[2].hex()
            self.check_commit(body["lastCommit"], height - 1, self.block_hash(height - 1))
        if height > 0:
            self.check_commit(served["commit"], height, block_hash)

        self.check_receipts(height, block_hash, extrinsics, header)
        events = self.call("chain_getEvents", at)
        assert (events["blockHash"], events["number"]) == (at, height)
        raws = [unhex(e["raw"]) for e in events["events"]]
        for raw, event in zip(raws, events["events"], strict=True):
            pallet, name, attributes = dec(raw)
            assert [pallet, name, json_form(attributes)] == [
                event["pallet"],
                event["name"],
                event["attributes"],
            ]
        assert merkle_root(raws) == unhex(header["eventsRoot"]), f"events root of {height}"
        self.seen["hook_events"] += len(raws)

        assert "0x" + H(enc(self.validator_set(height))).hex() == header["validatorsHash"]
        assert "0x" + H(enc(self.validator_set(height + 1))).hex() == header["nextValidatorsHash"]
        assert self.storage(b"system/validators", block_hash) == self.validator_set(height)

    def check_extrinsics(self, extrinsics: list[bytes]) -> None:
        for raw in extrinsics:
            version, signer, nonce, valid_until, call, signature = dec(raw)
            payload = enc([version, signer, nonce, valid_until, call])
            message = b"CREDICHAIN/EXTRINSIC/1" + self.genesis + payload
            assert version == 1 and verify(signer, message, signature), "extrinsic signature"

    def check_evidence(self, item: list[Any], full: dict[str, Any]) -> None:
        votes = [list(v) for v in item]
        assert enc(votes[0]) < enc(votes[1]), "evidence votes ordered by their encodings"
        assert H(enc(item)) == unhex(full["hash"])
        (kind, height, round_, _, _, validator, _), second = votes
        assert (second[0], second[1], second[2], second[5]) == (kind, height, round_, validator)
        assert votes[0][3] != second[3], "the two votes conflict"
        for vote, shown in zip(votes, full["votes"], strict=True):
            t, h, r, block, ts, key, sig = vote
            block_text = None if block is None else "0x" + block.hex()
            assert shown == {
                "type": t, "height": h, "round": r, "blockHash": block_text,
                "timestamp": ts, "validator": shown["validator"], "signature": "0x" + sig.hex(),
            }  # fmt: skip
            assert bech32m_decode(shown["validator"]) == key
            assert verify(key, vote_sign_bytes(self.genesis, h, r, t, block, ts), sig)
        assert validator in {k for k, _ in self.validator_set(height)}
        self.seen["evidence"] += 1

    def check_receipts(
        self, height: int, block_hash: bytes, extrinsics: list[bytes], header: dict[str, Any]
    ) -> None:
        raws = []
        for index, extrinsic in enumerate(extrinsics):
            found = self.call("chain_getReceipt", "0x" + H(extrinsic).hex())
            assert (found["blockHash"], found["height"], found["index"]) == (
                "0x" + block_hash.hex(),
                height,
                index,
            )
            raw = unhex(found["raw"])
            ext_hash, success, error, events = dec(raw)
            assert ext_hash == H(extrinsic) and found["extrinsicHash"] == "0x" + ext_hash.hex()
            assert found["success"] is success
            shown_error = (
                None
                if error is None
                else dict(zip(("pallet", "code", "rule", "message"), error, strict=True))
            )
            assert found["error"] == shown_error
            shown = [[e["pallet"], e["name"], e["attributes"]] for e in found["events"]]
            assert shown == [[p, n, json_form(a)] for p, n, a in events]
            assert events[0][:2] == ["payment", "FeePaid"], "every receipt opens with FeePaid"
            self.seen["failed"] += not success
            raws.append(raw)
        assert merkle_root(raws) == unhex(header["receiptsRoot"]), f"receipts root of {height}"

    def check_chain(self) -> int:
        """Check genesis and every block up to the head; return the head's height."""
        try:
            self.check_genesis()
            top: int = self.call("chain_getHeader")["number"]
            for height in range(top + 1):
                self.check_block(height)
        finally:
            self.http.close()
        return top


# ============================================================== the chains (node code allowed)

from consensus import proposer_of  # noqa: E402 - setup only, below the verifier
from genesis.build import load_genesis  # noqa: E402
from ledger import codec  # noqa: E402
from ledger.crypto import Keypair  # noqa: E402
from ledger.types import Evidence, Vote, VoteType  # noqa: E402
from node.daemon.chain import Chain  # noqa: E402
from node.daemon.rpc_backend import NodeRpcBackend, RpcNode  # noqa: E402
from node.daemon.rpc_queries import node_registry  # noqa: E402
from node.testing.replay_fixture import ChainBuilder, builder_genesis, validator_key  # noqa: E402
from node.testing.replay_fixture_community import build_community_chain  # noqa: E402
from rpc.config import RpcConfig  # noqa: E402
from rpc.server import BoundAddress, serve  # noqa: E402
from tests.e2e.cluster import Cluster  # noqa: E402


def add_evidence_block(builder: ChainBuilder, offender: Keypair) -> int:
    """A block carrying ``offender``'s two prevotes at the head's height, and a failing transfer."""
    chain = builder.chain
    votes = [
        Vote.create(offender, builder.genesis_hash, VoteType.PREVOTE, chain.height, 0, value, 5)
        for value in (chain.head.hash, None)
    ]
    first, second = sorted(votes, key=lambda v: codec.encode(v.to_wire()))
    rich, poor = builder.accounts[0], builder.accounts[1]
    failing = builder.transfer(rich, poor.public, 2**63)
    height = chain.height + 1
    executed = chain.build_block(
        proposer=builder.keys[proposer_of(chain.validators_for(height), height, 0)],
        round_=0,
        last_commit=builder.last_commit,
        candidates=[failing],
        evidence=(Evidence(first, second),),
    )
    assert executed.result.receipts and not executed.result.receipts[0].success
    commit = builder.sign_commit(executed.block)
    chain.commit_block(executed.block, commit)
    builder.last_commit = commit
    return height


class _Served:
    """``NodeRpcBackend`` over a reopened chain, on the real server in a thread."""

    def __init__(self, chain: Chain) -> None:
        node = type("ArchiveNode", (), {"genesis": chain.genesis, "chain": chain})()
        self.backend = NodeRpcBackend(cast(RpcNode, node))
        self.bound: BoundAddress | None = None
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            self._cancel = nursery.cancel_scope
            start = functools.partial(
                serve, self.backend, RpcConfig(port=0), registry=node_registry()
            )
            self.bound = await nursery.start(start)
            self._ready.set()

    def __enter__(self) -> str:
        self._thread.start()
        assert self._ready.wait(20) and self.bound is not None
        return self.bound.url

    def __exit__(self, *_: object) -> None:
        assert self._cancel is not None
        trio.from_thread.run_sync(self._cancel.cancel, trio_token=self._token)
        self._thread.join(10)


@pytest.fixture(scope="module")
def community_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outsider") / "db"
    community = build_community_chain(path)
    builder = community.builder
    offender = validator_key(1)
    evidence_at = add_evidence_block(builder, offender)
    for _ in range(3):  # the offender leaves the set at evidence_at + 2
        builder.add_block(builder.transfers(1))
    assert builder.chain.validators_for(evidence_at + 2).power_of(offender.public) == 0
    builder.close()
    return path


def test_an_outsider_rebuilds_every_root_of_a_chain_with_governance_evidence_and_failures(
    community_db: Path,
) -> None:
    genesis = builder_genesis([validator_key(i) for i in range(4)], 8)
    chain = Chain.open(community_db, genesis)  # a restarted node: everything from the store
    try:
        with _Served(chain) as url:
            outsider = Outsider(url)
            top = outsider.check_chain()
    finally:
        chain.close()
    assert top >= 27
    seen = outsider.seen
    # governance adds a validator; the evidence removes one: two changes of the set
    assert seen["set_changes"] == 2, seen
    assert seen["evidence"] == 1 and seen["failed"] >= 2 and seen["hook_events"] > 0, seen


@pytest.fixture(scope="module")
def localnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(Path(tmp_path_factory.mktemp("outsider-net")), validators=2)
    cluster.start()
    try:
        cluster.wait_height(2, timeout=60)
        yield cluster
    finally:
        cluster.stop()


def test_an_outsider_checks_a_live_localnet(localnet: Cluster) -> None:
    genesis = load_genesis(localnet.homes[0].parent / "genesis.json")
    alice = Keypair.dev("alice")
    assert any(b.account == alice.public for b in genesis.balances)
    failing = localnet.transfer(0, alice, Keypair.dev("bob").public, 2**63)
    localnet.wait_for("the failed transfer", lambda: localnet.receipt_everywhere(failing), 30)
    for index in (0, 1):
        outsider = Outsider(f"http://127.0.0.1:{localnet.ports.rpc + index}")
        outsider.check_chain()
        assert outsider.seen["failed"] == 1, outsider.seen
