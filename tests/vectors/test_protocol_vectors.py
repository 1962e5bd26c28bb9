"""tests/vectors/protocol.json: reproduced by its generator, and checked again from the
documented recipes (docs/PROTOCOL.md, docs/protocol/*.md) with msgpack, hashlib and
PyNaCl, so that a change of any encoding, hash or signature rule fails here."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgpack
import nacl.signing

from consensus.proposer import proposer_of
from genesis.build import genesis_hash, parse_genesis
from ledger import codec, vrf
from ledger.proof import verify_proof
from ledger.types import Block, Receipt, Validator, ValidatorSet, block_vrf_alpha

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "protocol.json").read_text(encoding="utf-8"))


def b(text: str) -> bytes:
    assert text.startswith("0x")
    return bytes.fromhex(text[2:])


def H(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def unpack(data: bytes) -> Any:
    value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    assert msgpack.packb(value, use_bin_type=True) == data  # canonical
    return value


def merkle(items: list[bytes]) -> bytes:
    """PROTOCOL.md §6, written from the text."""
    if not items:
        return H(b"")

    def root(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return leaves[0]
        split = 1
        while split * 2 < len(leaves):
            split *= 2
        return H(b"\x01" + root(leaves[:split]) + root(leaves[split:]))

    return root([H(b"\x00" + x) for x in items])


def test_the_generator_reproduces_the_file() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_merkle_roots() -> None:
    for v in VECTORS["merkle"]:
        assert merkle([b(x) for x in v["items"]]) == b(v["root"])
    assert len(VECTORS["merkle"]) == 6


def test_validator_set_and_its_storage() -> None:
    v = VECTORS["validator_set"]
    wire = [[b(k), p] for k, p in v["validators"]]
    assert wire == sorted(wire)
    assert msgpack.packb(wire, use_bin_type=True) == b(v["encoding"]) == b(v["storage_value"])
    assert H(b(v["encoding"])) == b(v["hash"])
    assert b(v["storage_key_validators"]) == b"system/validators"
    assert b(v["storage_key_change_at_5"]) == b"system/validator_changes/" + (5).to_bytes(8, "big")


def test_proposer_schedule_from_the_documented_rule() -> None:
    powers = [p for _, p in VECTORS["validator_set"]["validators"]]
    keys = [b(k) for k, _ in VECTORS["validator_set"]["validators"]]
    vs = ValidatorSet(tuple(Validator(k, p) for k, p in zip(keys, powers, strict=True)))
    for row in VECTORS["proposer"]["schedule"]:
        q = [0] * len(powers)
        winner = -1
        for _ in range(row["height"] + row["round"] + 1):
            q = [a + p for a, p in zip(q, powers, strict=True)]
            winner = max(range(len(q)), key=lambda i: (q[i], -i))
            q[winner] -= sum(powers)
        assert keys[winner] == b(row["proposer"])
        assert proposer_of(vs, row["height"], row["round"]) == b(row["proposer"])


def test_signed_chain_parts() -> None:
    c = VECTORS["chain"]
    genesis = b(c["genesis_hash"])
    # vote: [type, height, round, block_hash|nil, timestamp_ms, validator, signature]
    t, h, r, bh, ts, val, sig = unpack(b(c["vote"]["encoding"]))
    body = msgpack.packb([h, r, t, bh, ts], use_bin_type=True)
    assert b(c["vote"]["sign_bytes"]) == b"CREDICHAIN/VOTE/1" + genesis + body
    nacl.signing.VerifyKey(val).verify(b(c["vote"]["sign_bytes"]), sig)
    # proposal
    h, r, pol, bh, prop, sig = unpack(b(c["proposal"]["encoding"]))
    body = msgpack.packb([h, r, pol, bh], use_bin_type=True)
    assert b(c["proposal"]["sign_bytes"]) == b"CREDICHAIN/PROPOSAL/1" + genesis + body
    nacl.signing.VerifyKey(prop).verify(b(c["proposal"]["sign_bytes"]), sig)
    # commit: encoded once, signatures as arrays of 3, sorted
    commit_bytes = b(c["commit"]["encoding"])
    h, r, bh, sigs = unpack(commit_bytes)
    assert [s[0] for s in sigs] == sorted(s[0] for s in sigs)
    for validator, ts, sig in sigs:
        body = msgpack.packb([h, r, 2, bh, ts], use_bin_type=True)
        nacl.signing.VerifyKey(validator).verify(b"CREDICHAIN/VOTE/1" + genesis + body, sig)
    assert H(commit_bytes) == b(c["commit"]["hash"])
    # evidence: two vote arrays, ordered by their encodings
    evidence_bytes = b(c["evidence"]["encoding"])
    vote_a, vote_b = unpack(evidence_bytes)
    enc_a, enc_b = (msgpack.packb(x, use_bin_type=True) for x in (vote_a, vote_b))
    assert enc_a < enc_b and vote_a[:3] == vote_b[:3] and vote_a[5] == vote_b[5]
    assert vote_a[3] != vote_b[3]
    assert H(evidence_bytes) == b(c["evidence"]["hash"])
    # block: header array, extrinsics as bin, last commit array, evidence arrays
    block_bytes = b(c["block"]["encoding"])
    header, exts, last_commit, evidence = unpack(block_bytes)
    header_bytes = b(c["header"]["encoding"])
    assert msgpack.packb(header, use_bin_type=True) == header_bytes
    assert H(header_bytes) == b(c["header"]["hash"]) == b(c["block"]["hash"])
    assert exts == [b(x) for x in c["extrinsics"]]
    assert msgpack.packb(last_commit, use_bin_type=True) == commit_bytes
    assert [msgpack.packb(e, use_bin_type=True) for e in evidence] == [evidence_bytes]
    (version, height, _time, _parent, last_commit_hash, ext_root, ev_root, _state,
     rec_root, ev_events_root, _vh, _nvh, proposer, proposal_round, proof) = header  # fmt: skip
    assert version == 2 and height == 2
    assert last_commit_hash == H(commit_bytes)
    assert ext_root == merkle(exts)
    assert ev_root == merkle([evidence_bytes])
    receipts = [b(x) for x in c["receipts"]]
    assert rec_root == merkle(receipts)
    assert ev_events_root == merkle([b(x) for x in c["hook_events"]])
    for raw, ext in zip(receipts, exts, strict=True):
        ext_hash, success, error, events = unpack(raw)
        assert ext_hash == H(ext)
        assert (error is None) == success
        assert events[0][:2] == ["payment", "FeePaid"]
        assert Receipt.from_wire(codec.decode(raw)).encode() == raw
    # block VRF (PROTOCOL.md §3): the proof verifies for the proposer
    alpha = b(c["block_vrf"]["alpha"])
    assert alpha == block_vrf_alpha(genesis, height, proposal_round, bytes(64))
    assert proof == b(c["block_vrf"]["proof"])
    assert vrf.verify(proposer, proof, alpha) == b(c["block_vrf"]["output"])
    assert Block.decode(block_bytes).encode() == block_bytes


def test_state_root_and_read_proof() -> None:
    v = VECTORS["state"]
    key = b(v["proof_key"])
    value = dict((b(k), b(x)) for k, x in v["pairs"])[key]
    nodes = [b(n) for n in v["proof_nodes"]]
    assert verify_proof(b(v["root"]), key, nodes) == value


def test_genesis_document_gives_the_genesis_hash() -> None:
    v = VECTORS["genesis"]
    doc = parse_genesis(json.loads(v["document"]))
    assert genesis_hash(doc) == b(v["hash"]) == H(b(v["header"]))
    header = unpack(b(v["header"]))
    assert header[1] == 0 and header[2] == doc.genesis_time * 1000
    assert header[7] == b(v["state_root"])
    assert header[3] == header[4] == bytes(32) and header[12] == bytes(32)
    assert header[5] == header[6] == header[8] == header[9] == H(b"")
