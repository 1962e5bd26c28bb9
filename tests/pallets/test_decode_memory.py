"""The memory of decoded extrinsics (issue 23): ``DecodedExtrinsics``, ``DECODED``,
``decode_extrinsic``.

A node decodes each extrinsic once and shares the result between the pool,
block execution and the history index. The memory must change nothing but
speed: the size limit still applies to a remembered extrinsic, what does not
decode is never remembered and is refused the same way every time, the
memory stays bounded, and a remembered extrinsic equals a fresh
``Extrinsic.decode`` (and still encodes to its raw bytes after a block ran it).
The parameter memory of ``param`` (decoded once per distinct value) is
checked the same way.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.crypto import KEY_LEN, SIGNATURE_LEN
from ledger.overlay import MemoryState, StateOverlay
from ledger.types import Call, Extrinsic
from pallets.executive import validate
from pallets.executive.validate import (
    DECODED,
    FUTURE_NONCE,
    MALFORMED,
    NOT_CANONICAL,
    TOO_LARGE,
    UNKNOWN_VERSION,
    DecodedExtrinsics,
    InvalidExtrinsic,
    decode_extrinsic,
    validate_extrinsic,
)
from pallets.support.declare import RuntimeFault
from pallets.support.params import param, param_key
from tests.pallets.helpers import ALICE, BOB, CHARLIE, TestChain

LIMIT = 1 << 20

ARG_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.binary(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)

extrinsics = st.builds(
    Extrinsic,
    signer=st.binary(min_size=KEY_LEN, max_size=KEY_LEN),
    nonce=st.integers(0, 2**64 - 1),
    valid_until=st.integers(0, 2**64 - 1),
    call=st.builds(
        Call,
        pallet=st.text(max_size=12),
        function=st.text(max_size=12),
        args=st.dictionaries(st.text(max_size=8), ARG_VALUES, max_size=4),
    ),
    signature=st.binary(min_size=SIGNATURE_LEN, max_size=SIGNATURE_LEN),
)


def refusal(raw: Any, max_bytes: int = LIMIT) -> tuple[str, str]:
    with pytest.raises(InvalidExtrinsic) as info:
        decode_extrinsic(raw, max_bytes)
    return info.value.kind, info.value.reason


@settings(max_examples=150, deadline=None)
@given(extrinsics)
def test_a_decoded_extrinsic_equals_a_fresh_decode_and_is_remembered(ext: Extrinsic) -> None:
    raw = ext.encode()
    first = decode_extrinsic(raw, LIMIT)
    assert first == Extrinsic.decode(raw) == ext
    assert DECODED.get(raw) is first
    again = decode_extrinsic(raw, len(raw))
    assert again is first
    assert again.encode() == raw


def test_a_remembered_extrinsic_is_refused_over_a_smaller_limit() -> None:
    chain = TestChain()
    raw = chain.transfer(ALICE, BOB.public, 5)
    ext = decode_extrinsic(raw, len(raw))
    assert DECODED.get(raw) is ext
    kind, reason = refusal(raw, len(raw) - 1)
    assert kind == TOO_LARGE
    assert reason == f"too large: {len(raw)} bytes, the limit is {len(raw) - 1}"
    # validate_extrinsic too, with the limit given or read from the state's parameter
    state, rules = chain.state(), chain.runtime.rules
    with pytest.raises(InvalidExtrinsic) as info:
        validate_extrinsic(raw, state, rules, height=1, max_bytes=len(raw) - 1)
    assert info.value.kind == TOO_LARGE
    smaller = StateOverlay(chain.trie.reader(chain.root))
    smaller.put(param_key("system", "max_extrinsic_bytes"), codec.encode(len(raw) - 1))
    with pytest.raises(InvalidExtrinsic) as info:
        validate_extrinsic(raw, smaller, rules, height=1)
    assert info.value.kind == TOO_LARGE
    assert validate_extrinsic(raw, state, rules, height=1).extrinsic is ext


def _wide_nonce(ext: Extrinsic) -> bytes:
    """``ext`` with its nonce in the 8-byte form: the same value, not canonical."""
    wire = ext.to_wire()
    head = msgpack.packb(wire[:2], use_bin_type=True)[1:]  # the version and signer
    tail = msgpack.packb(wire[3:], use_bin_type=True)[1:]  # valid_until, call, signature
    return b"\x96" + head + b"\xcf" + wire[2].to_bytes(8, "big") + tail


def _bad_raws(ext: Extrinsic) -> list[tuple[bytes, str]]:
    raw = ext.encode()
    wire = ext.to_wire()
    unsorted_call = msgpack.packb([wire[4][0], wire[4][1], {"z": 1, "a": 2}], use_bin_type=True)
    return [
        (_wide_nonce(ext), NOT_CANONICAL),
        (b"\x96" + raw[1:-66] + b"\xd9\x40" + raw[-64:], MALFORMED),  # the signature as a str
        (
            b"\x96" + msgpack.packb(wire[:4], use_bin_type=True)[1:] + unsorted_call + raw[-66:],
            NOT_CANONICAL,
        ),
        (raw[:-1], MALFORMED),  # truncated
        (raw + b"\x00", MALFORMED),  # trailing byte
        (codec.encode([2, *wire[1:]]), UNKNOWN_VERSION),
        (codec.encode(wire[:5]), MALFORMED),  # no signature
        (codec.encode([*wire[:5], bytes(63)]), MALFORMED),  # short signature
        (codec.encode({"not": "an array"}), MALFORMED),
        (b"\xc1", MALFORMED),
        (b"", MALFORMED),
    ]


def test_what_does_not_decode_is_never_remembered_and_refused_alike_every_time() -> None:
    chain = TestChain()
    good = Extrinsic.decode(chain.transfer(ALICE, BOB.public, 300))
    decode_extrinsic(good.encode(), LIMIT)  # the canonical twin is remembered
    for raw, kind in _bad_raws(good):
        before = len(DECODED)
        answers = {refusal(raw) for _ in range(3)}
        assert len(answers) == 1, answers
        ((got, reason),) = answers
        assert got == kind, (raw, reason)
        assert DECODED.get(raw) is None
        assert len(DECODED) == before
    assert refusal("not bytes") == (MALFORMED, "malformed: an extrinsic is bytes")  # type: ignore[arg-type]


def test_the_non_canonical_twin_of_a_remembered_extrinsic_stays_refused() -> None:
    chain = TestChain()
    ext = Extrinsic.decode(chain.transfer(CHARLIE, BOB.public, 7))
    assert decode_extrinsic(ext.encode(), LIMIT) == ext
    twin = _wide_nonce(ext)
    assert msgpack.unpackb(twin) == msgpack.unpackb(ext.encode())
    assert refusal(twin)[0] == NOT_CANONICAL
    assert decode_extrinsic(ext.encode(), LIMIT) == ext


@pytest.mark.parametrize("capacity", [1, 2, 3, 6, 64])
def test_a_small_memory_stays_bounded_and_answers_what_it_holds(capacity: int) -> None:
    memory = DecodedExtrinsics(capacity, 1 << 20)
    chain = TestChain()
    raws = [chain.transfer(ALICE, BOB.public, n) for n in range(1, 41)]
    decoded = [Extrinsic.decode(raw) for raw in raws]
    for index, (raw, ext) in enumerate(zip(raws, decoded, strict=True)):
        assert memory.get(raw) is None
        memory.put(raw, ext)
        assert len(memory) <= capacity
        assert memory.get(raw) is ext
        for older, older_ext in zip(raws[:index], decoded[:index], strict=True):
            held = memory.get(older)
            assert held is None or held is older_ext
    latest = max(capacity // 2, 1)
    for raw, ext in zip(raws[-latest:], decoded[-latest:], strict=True):
        assert memory.get(raw) is ext


def test_the_memory_is_bounded_in_bytes_too() -> None:
    # Decoding needs no signature or funds: anyone can make a node remember what
    # they send, so large extrinsics must not be held by the thousand.
    chain = TestChain()
    raws = [chain.transfer(ALICE, BOB.public, n) for n in range(1, 201)]
    size = max(len(raw) for raw in raws)
    memory = DecodedExtrinsics(10_000, 10 * size)
    for raw in raws:
        memory.put(raw, Extrinsic.decode(raw))
        assert memory.held_bytes <= 10 * size + size
        assert memory.get(raw) is not None
    assert len(memory) <= 11
    with pytest.raises(ValueError):
        DecodedExtrinsics(0, 1)


def test_decode_extrinsic_with_a_small_shared_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    small = DecodedExtrinsics(4, 1 << 20)
    monkeypatch.setattr(validate, "DECODED", small)
    chain = TestChain()
    raws = [chain.transfer(BOB, ALICE.public, n) for n in range(1, 31)]
    for _ in range(2):
        for raw in raws:
            assert decode_extrinsic(raw, LIMIT) == Extrinsic.decode(raw)
            assert len(small) <= 4
            assert small.get(raw) is not None


def test_a_block_gives_the_same_result_with_a_warm_or_a_cold_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain = TestChain()
    raws = [
        chain.transfer(key, BOB.public if key is not BOB else CHARLIE.public, 11)
        for key in (ALICE, BOB, CHARLIE)
    ]
    ahead = chain.transfer(ALICE, BOB.public, 3, nonce=5)
    raws += [b"\x96" + raws[0][1:-1], _wide_nonce(Extrinsic.decode(raws[1])), ahead]
    for raw in raws:  # as the pool did on arrival
        with contextlib.suppress(InvalidExtrinsic):
            decode_extrinsic(raw, LIMIT)
    env = chain.next_env()
    warm = chain.runtime.build_block(chain.root, env, raws)
    assert warm.extrinsics == tuple(raws[:3])
    assert [why.kind for _, why in warm.rejected] == [MALFORMED, NOT_CANONICAL, FUTURE_NONCE]
    again = chain.runtime.execute(chain.root, env, warm.extrinsics)
    monkeypatch.setattr(validate, "DECODED", DecodedExtrinsics(2, 1 << 20))
    cold = chain.runtime.build_block(chain.root, env, raws)
    assert (again.state_root, again.receipts) == (warm.state_root, warm.receipts)
    assert (warm.state_root, warm.receipts, warm.events, warm.changes) == (
        cold.state_root,
        cold.receipts,
        cold.events,
        cold.changes,
    )
    assert [raw for raw, _ in warm.rejected] == [raw for raw, _ in cold.rejected]
    assert [why.reason for _, why in warm.rejected] == [why.reason for _, why in cold.rejected]
    monkeypatch.undo()
    for raw in raws[:3]:  # running the block changed nothing in what is remembered
        remembered = DECODED.get(raw)
        assert remembered is not None
        assert remembered == Extrinsic.decode(raw)
        assert remembered.encode() == raw


@given(st.integers(0, 2**64 - 1))
def test_param_answers_as_a_fresh_decode(value: int) -> None:
    state = MemoryState({param_key("system", "max_extrinsic_bytes"): codec.encode(value)})
    assert param(state, "system", "max_extrinsic_bytes") == value
    assert param(state, "system", "max_extrinsic_bytes") == value


def test_param_refuses_alike_every_time() -> None:
    state = StateOverlay(MemoryState())
    key = param_key("system", "max_extrinsic_bytes")
    for raw, message in [
        (codec.encode(True), "is not an integer"),
        (codec.encode(b"\x05"), "is not an integer"),
        (b"\xcc\x05", "not canonical"),
        (b"\xcc", "truncated"),
    ]:
        state.put(key, raw)
        for _ in range(2):
            with pytest.raises(RuntimeFault, match=message):
                param(state, "system", "max_extrinsic_bytes")
