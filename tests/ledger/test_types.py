"""Protocol records: round trips, signatures, refusals, and the wallet vectors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgpack
import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import codec
from ledger.crypto import Keypair, blake2b256
from ledger.merkle import merkle_root
from ledger.types import (
    Block,
    Call,
    Commit,
    CommitSig,
    DispatchError,
    Event,
    Evidence,
    Extrinsic,
    Header,
    Proposal,
    Receipt,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "extrinsics.json"
GENESIS = blake2b256(b"test-genesis")
ALICE = Keypair.dev("alice")
BOB = Keypair.dev("bob")

calls = st.builds(
    Call,
    st.sampled_from(["balances", "funds", "credit"]),
    st.sampled_from(["transfer", "create", "x"]),
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.integers(min_value=0, max_value=2**64 - 1)
        | st.binary(max_size=32)
        | st.text(max_size=8),
        max_size=4,
    ),
)


@given(calls, st.integers(min_value=0, max_value=2**64 - 1), st.integers(0, 2**64 - 1))
def test_extrinsic_round_trip_and_signature(call: Call, nonce: int, valid_until: int) -> None:
    ext = Extrinsic.create(ALICE, nonce, valid_until, call, GENESIS)
    data = ext.encode()
    back = Extrinsic.decode(data)
    assert back == ext
    assert back.verify(GENESIS)
    assert not back.verify(blake2b256(b"another chain"))
    assert back.hash == blake2b256(data)


def _transfer() -> Extrinsic:
    return Extrinsic.create(
        ALICE, 0, 10, Call("balances", "transfer", {"amount": 5, "dest": BOB.public}), GENESIS
    )


def test_tampered_extrinsic_fails_verification() -> None:
    ext = _transfer()
    wire = ext.to_wire()
    wire[4] = ["balances", "transfer", {"amount": 6, "dest": BOB.public}]
    assert not Extrinsic.from_wire(wire).verify(GENESIS)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda w: [2, *w[1:]], "unknown version"),
        (lambda w: w[:5], "array of 6"),
        (lambda w: [w[0], w[1][:31], *w[2:]], "signer"),
        (lambda w: [*w[:2], -1, *w[3:]], "nonce"),
        (lambda w: [*w[:4], ["balances", "transfer"], w[5]], "call"),
        (lambda w: [*w[:4], ["balances", "transfer", [1]], w[5]], "args"),
        (lambda w: [*w[:5], w[5][:10]], "signature"),
        (lambda w: [True, *w[1:]], "version"),
    ],
)
def test_malformed_extrinsics_named(mutate: Any, message: str) -> None:
    raw = codec.encode(mutate(_transfer().to_wire()))
    with pytest.raises(codec.DecodeError, match=message):
        Extrinsic.decode(raw)


def test_oversized_extrinsic_refused_before_decoding() -> None:
    call = Call("system", "remark", {"text": "x" * 70_000})
    raw = Extrinsic.create(ALICE, 0, 1, call, GENESIS).encode()
    with pytest.raises(codec.LimitError):
        Extrinsic.decode(raw)


def test_vectors_are_stable_and_verify() -> None:
    vectors = json.loads(VECTORS.read_text())
    assert len(vectors) >= 10
    for v in vectors:
        raw = bytes.fromhex(v["extrinsic"][2:])
        genesis = bytes.fromhex(v["genesis_hash"][2:])
        ext = Extrinsic.decode(raw)
        assert ext.encode() == raw
        assert ext.verify(genesis)
        assert ext.signing_payload(genesis).hex() == v["signing_payload"][2:]
        assert ext.hash.hex() == v["hash"][2:]
        assert Keypair.from_seed(bytes.fromhex(v["seed"][2:])).public == ext.signer
    generator = Path(__file__).resolve().parents[2] / "scripts" / "gen_vectors.py"
    result = subprocess.run(
        [sys.executable, str(generator), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_vectors_checked_by_an_independent_reader() -> None:
    """What a wallet written from wire.md alone would do: msgpack + PyNaCl only."""
    for v in json.loads(VECTORS.read_text()):
        raw = bytes.fromhex(v["extrinsic"][2:])
        genesis = bytes.fromhex(v["genesis_hash"][2:])
        version, signer, nonce, valid_until, call, signature = msgpack.unpackb(raw, raw=False)
        payload = (
            b"CREDICHAIN/EXTRINSIC/1"
            + genesis
            + msgpack.packb([version, signer, nonce, valid_until, call], use_bin_type=True)
        )
        assert payload.hex() == v["signing_payload"][2:]
        nacl.signing.VerifyKey(signer).verify(payload, signature)
        assert hashlib.blake2b(raw, digest_size=32).hexdigest() == v["hash"][2:]


def _commit(height: int, block_hash: bytes) -> Commit:
    sigs = []
    for name in ("alice", "bob", "charlie"):
        key = Keypair.dev(name)
        vote = Vote.create(key, GENESIS, VoteType.PRECOMMIT, height, 0, block_hash, 1_000 + height)
        sigs.append(CommitSig(key.public, vote.timestamp_ms, vote.signature))
    return Commit(height, 0, block_hash, tuple(sorted(sigs, key=lambda s: s.validator)))


def _header(height: int) -> Header:
    h = blake2b256(str(height).encode())
    return Header(height, 1_700_000_000_000, h, h, h, h, h, h, h, h, h, ALICE.public)


def test_block_round_trip() -> None:
    commit = _commit(1, blake2b256(b"b1"))
    vote_a = Vote.create(ALICE, GENESIS, VoteType.PREVOTE, 2, 0, blake2b256(b"a"), 5)
    vote_b = Vote.create(ALICE, GENESIS, VoteType.PREVOTE, 2, 0, blake2b256(b"b"), 5)
    block = Block(_header(2), (_transfer().encode(),), commit, (Evidence(vote_a, vote_b),))
    back = Block.decode(block.encode())
    assert back == block
    assert back.hash == _header(2).hash
    assert Header.from_wire(codec.decode(_header(2).encode())) == _header(2)


def test_votes_and_proposals_sign_over_genesis() -> None:
    vote = Vote.create(ALICE, GENESIS, VoteType.PREVOTE, 3, 1, None, 99)
    assert Vote.from_wire(codec.decode(codec.encode(vote.to_wire()))) == vote
    assert vote.verify(GENESIS)
    assert not vote.verify(blake2b256(b"other"))
    sig = ALICE.sign(Proposal.sign_bytes_of(GENESIS, 3, 1, -1, blake2b256(b"blk")))
    proposal = Proposal(3, 1, -1, blake2b256(b"blk"), ALICE.public, sig)
    assert Proposal.from_wire(codec.decode(codec.encode(proposal.to_wire()))) == proposal
    assert proposal.verify(GENESIS)


def test_commit_signatures_must_be_sorted() -> None:
    commit = _commit(4, blake2b256(b"x"))
    wire = commit.to_wire()
    wire[3] = list(reversed(wire[3]))
    with pytest.raises(codec.DecodeError, match="sorted"):
        Commit.from_wire(wire)
    assert Commit.from_wire(commit.to_wire()) == commit


def test_validator_set_order_and_hash() -> None:
    vals = [Validator(Keypair.dev(n).public, 10) for n in ("alice", "bob", "charlie")]
    vs = ValidatorSet.of(vals)
    assert vs.total_power == 30
    assert ValidatorSet.of(list(reversed(vals))).hash == vs.hash
    with pytest.raises(ValueError, match="sorted"):
        ValidatorSet(tuple(reversed(vs.validators)))
    with pytest.raises(ValueError, match="positive"):
        ValidatorSet.of([Validator(ALICE.public, 0)])
    assert ValidatorSet.from_wire(vs.to_wire()) == vs


def test_receipt_round_trip() -> None:
    ok = Receipt(blake2b256(b"x"), True, None, (Event("balances", "Transfer", {"amount": 5}),))
    err = Receipt(blake2b256(b"y"), False, DispatchError("balances", "E_FUNDS", "I2", "low"), ())
    for r in (ok, err):
        assert Receipt.from_wire(codec.decode(r.encode())) == r


def test_merkle_root_shape() -> None:
    def h(data: bytes) -> bytes:
        return blake2b256(data)

    a, b, c = b"a", b"b", b"c"
    la, lb, lc = h(b"\x00" + a), h(b"\x00" + b), h(b"\x00" + c)
    assert merkle_root([]) == h(b"")
    assert merkle_root([a]) == la
    assert merkle_root([a, b]) == h(b"\x01" + la + lb)
    assert merkle_root([a, b, c]) == h(b"\x01" + h(b"\x01" + la + lb) + lc)
    assert merkle_root([a, b]) != merkle_root([b, a])
