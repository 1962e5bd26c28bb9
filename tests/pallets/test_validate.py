"""validate_extrinsic on its own: the reasons, the order of checks, mempool mode."""

from __future__ import annotations

import pytest

from ledger.crypto import blake2b256
from ledger.types import Call, Extrinsic
from pallets.executive.validate import (
    NONCE_TOO_FAR,
    InvalidExtrinsic,
    ValidationRules,
    signing_payload,
    validate_extrinsic,
)
from tests.pallets import probe
from tests.pallets.helpers import ALICE, BOB, TestChain


def _rules(chain: TestChain) -> ValidationRules:
    return chain.runtime.rules


def test_a_valid_extrinsic_is_checked_with_its_call_and_weight() -> None:
    chain = TestChain()
    raw = chain.transfer(ALICE, BOB.public, 9)
    checked = validate_extrinsic(raw, chain.state(), _rules(chain), height=1)
    assert checked.hash == blake2b256(raw)
    assert checked.call.name == "transfer" and checked.operations == 9
    assert checked.weight == chain.runtime.registry.weights.weight(checked.call, 9)
    assert checked.args == {"dest": BOB.public, "amount": 9}
    assert (checked.signer, checked.nonce, checked.state_nonce) == (ALICE.public, 0, 0)


def test_mempool_mode_allows_a_bounded_future_nonce() -> None:
    chain = TestChain()
    state, rules = chain.state(), _rules(chain)
    ahead = chain.transfer(ALICE, BOB.public, 1, nonce=3)
    assert validate_extrinsic(ahead, state, rules, height=1, max_future_nonce=3).nonce == 3
    with pytest.raises(InvalidExtrinsic) as info:
        validate_extrinsic(ahead, state, rules, height=1, max_future_nonce=2)
    assert info.value.kind == NONCE_TOO_FAR
    assert info.value.reason == "nonce too far ahead: nonce 3, the next is 0"


def test_arguments_are_named_in_the_reason() -> None:
    chain = TestChain(registry=probe.probe_registry())
    args = {
        "small": 1,
        "amount": 2,
        "ratio": 3,
        "blob": b"ab",
        "note": "hi",
        "kind": "a",
        "maybe": None,
    }
    state, rules = chain.state(), _rules(chain)
    ok = chain.sign(ALICE, "probe", "shapes", args)
    assert validate_extrinsic(ok, state, rules, height=1).args == args
    for name, bad, expected in [
        ("small", 256, "bad arguments: small: 256 is outside the u8 range"),
        ("ratio", 10_001, "bad arguments: ratio: 10001 is outside the bps range"),
        ("blob", b"abcde", "bad arguments: blob: 5 bytes exceeds the maximum of 4"),
        ("kind", "c", "bad arguments: kind: 'c' is not one of a, b"),
        ("maybe", b"short", "bad arguments: maybe: hash must be 32 bytes"),
    ]:
        raw = chain.sign(ALICE, "probe", "shapes", {**args, name: bad}, nonce=0)
        with pytest.raises(InvalidExtrinsic) as info:
            validate_extrinsic(raw, state, rules, height=1)
        assert info.value.reason.startswith(expected), info.value.reason


def test_cheap_checks_come_before_the_signature() -> None:
    chain = TestChain()
    good = Extrinsic.decode(chain.transfer(ALICE, BOB.public, 1, valid_until=0))
    unsigned_garbage = Extrinsic(good.signer, 0, 0, Call("balances", "transfer", {}), bytes(64))
    with pytest.raises(InvalidExtrinsic) as info:
        validate_extrinsic(unsigned_garbage.encode(), chain.state(), _rules(chain), height=1)
    assert info.value.kind == "bad arguments"
    expired = Extrinsic(good.signer, 0, 0, good.call, bytes(64))
    with pytest.raises(InvalidExtrinsic) as info:
        validate_extrinsic(expired.encode(), chain.state(), _rules(chain), height=1)
    assert info.value.kind == "expired"


def test_unknown_version_and_non_bytes() -> None:
    chain = TestChain()
    raw = bytearray(chain.transfer(ALICE, BOB.public, 1))
    raw[1] = 2  # the version field (a positive fixint after the array header)
    with pytest.raises(InvalidExtrinsic, match="unknown version"):
        validate_extrinsic(bytes(raw), chain.state(), _rules(chain), height=1)
    with pytest.raises(InvalidExtrinsic, match="malformed"):
        validate_extrinsic("0x00", chain.state(), _rules(chain), height=1)  # type: ignore[arg-type]


def test_the_signing_payload_cut_from_the_bytes_equals_the_re_encoded_one() -> None:
    chain = TestChain()
    for raw in [
        chain.transfer(ALICE, BOB.public, 2**64 - 1, nonce=2**40, valid_until=2**63),
        chain.sign(ALICE, "system", "remark", {"text": "ñandú " * 100}),
    ]:
        ext = Extrinsic.decode(raw)
        assert signing_payload(raw, ext, chain.genesis_hash) == ext.signing_payload(
            chain.genesis_hash
        )
