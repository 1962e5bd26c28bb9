"""The codec's fast paths (issue 23) against the algorithm they replaced.

``decode`` used to re-encode the decoded value with sorted maps and compare
with the input; it now checks map keys in place, re-packs the value as decoded
and takes a direct path for a lone unsigned integer. ``encode`` gained
exact-type shortcuts, and ``encode_ordered`` packs values whose maps are
already in canonical key order as they are. These tests keep a reference
written here the old way (scan, unpack with the same options,
``reference_encode(value) == data``, where ``reference_encode`` sorts every
map itself) and demand the same answers from
the new code on random values and on bytes that are mostly not canonical:
random bytes, byte flips of canonical encodings, and encodings built with
every legal MessagePack form (longer integer, string, binary, array and map
forms, map keys shuffled, repeated or given as ``bin``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import msgpack
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.block import Header
from ledger.block_vrf import MAX_ROUND
from ledger.codec import (
    DEFAULT_LIMITS,
    INT_MAX,
    INT_MIN,
    CodecError,
    DecodeError,
    DecodeLimits,
    EncodeError,
    LimitError,
    NotCanonicalError,
)
from ledger.crypto import KEY_LEN, blake2b256
from ledger.merkle import merkle_root
from ledger.receipts import DispatchError, Event, Receipt, events_root, receipts_root
from ledger.vrf import PROOF_LEN as VRF_PROOF_LEN

# ------------------------------------------------------------ the reference


def reference_canonical(value: Any, depth: int) -> Any:
    """The value ready for ``msgpack.packb``, as the encoder did before issue 23."""
    if depth > 64:
        raise EncodeError("value nested deeper than 64 levels")
    if value is None or isinstance(value, (bool, bytes, str)):
        return value
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise EncodeError(f"integer {value} outside the 64-bit range")
        return value
    if isinstance(value, (list, tuple)):
        return [reference_canonical(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise EncodeError(f"map key {key!r} is not a str")
        ordered = sorted(value, key=lambda key: key.encode("utf-8"))
        return {key: reference_canonical(value[key], depth + 1) for key in ordered}
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise EncodeError(f"type {type(value).__name__} has no canonical encoding")


def reference_encode(value: Any) -> bytes:
    packed: bytes = msgpack.packb(reference_canonical(value, 0), use_bin_type=True)
    return packed


def reference_decode(data: Any, limits: DecodeLimits = DEFAULT_LIMITS) -> Any:
    """Scan, unpack with the decoder's options, then demand ``reference_encode(v) == data``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("expected bytes")
    data = bytes(data)
    if len(data) > limits.max_size:
        raise LimitError("too large")
    codec._scan(data, limits)  # unchanged by issue 23; the new decode skips it for a lone uint
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_bin_len=limits.max_bytes_len,
            max_str_len=limits.max_bytes_len,
            max_array_len=limits.max_container_len,
            max_map_len=limits.max_container_len,
            max_ext_len=0,
        )
    except UnicodeDecodeError as exc:
        raise DecodeError("invalid UTF-8") from exc
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError) as exc:
        raise DecodeError("malformed") from exc
    try:
        again = reference_encode(value)
    except EncodeError as exc:
        raise NotCanonicalError("not canonical") from exc
    if again != data:
        raise NotCanonicalError("not canonical")
    return value


def typed(value: Any) -> Any:
    """``value`` with every scalar tagged by its type (so True != 1, b"" != "")."""
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    return (type(value).__name__, value)


def outcome(decoder: Any, data: Any, limits: DecodeLimits) -> tuple[str, Any]:
    """What ``decoder`` makes of ``data``: the typed value, or the CodecError class."""
    try:
        return ("value", typed(decoder(data, limits)))
    except CodecError as exc:  # anything else is a bug and fails the test
        return ("refused", type(exc).__name__)


def same_as_reference(data: Any, limits: DecodeLimits = DEFAULT_LIMITS) -> tuple[str, Any]:
    new = outcome(codec.decode, data, limits)
    assert new == outcome(reference_decode, data, limits), data
    return new


# ------------------------------------------------------------ strategies

INT64 = st.integers(min_value=INT_MIN, max_value=INT_MAX)
EDGE_INTS = st.sampled_from(
    [
        *(0, 1, 31, 32, 127, 128, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, 2**63 - 1),
        *(2**63, 2**64 - 1, -1, -32, -33, -128, -129, -32_768, -32_769, -(2**31)),
        *(-(2**31) - 1, -(2**63)),
    ]
)
TEXT = st.text(max_size=40) | st.sampled_from(["", "a", "é", "\u00ff", "\U0001f600", "a" * 31])
KEYS = st.text(max_size=6) | st.sampled_from(["a", "b", "A", "é", "\U0001f600", "ab", ""])
LEAVES = st.none() | st.booleans() | INT64 | EDGE_INTS | st.binary(max_size=40) | TEXT

values: st.SearchStrategy[Any] = st.recursive(
    LEAVES,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=20,
)


class Small(enum.IntEnum):
    ZERO = 0
    BIG = 2**40


class Count(int):
    """An int subclass such as a typed id."""


class Name(str):
    """A str subclass."""


class FrozenMap(Mapping[str, Any]):
    """A Mapping that is not a dict."""

    def __init__(self, items: dict[str, Any]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def _dressed_leaf(value: Any) -> st.SearchStrategy[Any]:
    """``value`` as itself or as another type the encoder takes for it."""
    options: list[Any] = [value]
    if type(value) is int:
        options.append(Count(value))
        if value in (0, 2**40):
            options.append(Small(value))
    elif type(value) is bytes:
        options += [bytearray(value), memoryview(value)]
    elif type(value) is str:
        options.append(Name(value))
    return st.sampled_from(options)


# Values the encoder accepts, in every Python shape it accepts them in.
dressed: st.SearchStrategy[Any] = st.recursive(
    LEAVES.flatmap(_dressed_leaf),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(KEYS, children, max_size=4)
        | st.dictionaries(KEYS, children, max_size=4).map(
            lambda d: OrderedDict(reversed(d.items()))
        )
        | st.dictionaries(KEYS, children, max_size=4).map(FrozenMap)
        | st.dictionaries(KEYS, children, max_size=4).map(MappingProxyType)
        | st.dictionaries(KEYS.map(Name), children, max_size=4)
    ),
    max_leaves=16,
)

# Values without a canonical encoding somewhere inside.
BAD_LEAVES = st.sampled_from(
    [1.5, 0.0, float("nan"), INT_MAX + 1, INT_MIN - 1, 2**100, {1, 2}, frozenset(), object()]
)
refused: st.SearchStrategy[Any] = st.recursive(
    BAD_LEAVES
    | st.dictionaries(st.integers(0, 3) | st.binary(max_size=2), LEAVES, min_size=1, max_size=3),
    lambda children: (
        st.tuples(LEAVES, children).map(list) | st.tuples(KEYS, children).map(lambda kv: dict([kv]))
    ),
    max_leaves=4,
)

# ------------------------------------------------------------ loose encodings


def _int_forms(value: int) -> list[bytes]:
    """Every MessagePack encoding of ``value``, the canonical one first."""
    forms = [msgpack.packb(value)]
    if 0 <= value <= 0x7F or -32 <= value < 0:
        forms.append(bytes([value & 0xFF]))
    for byte, width in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
        if 0 <= value < 1 << (8 * width):
            forms.append(bytes([byte]) + value.to_bytes(width, "big"))
    for byte, width in ((0xD0, 1), (0xD1, 2), (0xD2, 4), (0xD3, 8)):
        if -(1 << (8 * width - 1)) <= value < 1 << (8 * width - 1):
            forms.append(bytes([byte]) + value.to_bytes(width, "big", signed=True))
    return forms


def _length_forms(length: int, fix: int | None, fix_max: int, wide: list[int]) -> list[bytes]:
    """Headers for a string, binary, array or map of ``length``: fix form, then 8/16/32-bit."""
    forms = []
    if fix is not None and length <= fix_max:
        forms.append(bytes([fix | length]))
    for byte, width in zip(wide, (1, 2, 4) if len(wide) == 3 else (2, 4), strict=True):
        if length < 1 << (8 * width):
            forms.append(bytes([byte]) + length.to_bytes(width, "big"))
    return forms


def loose_encode(value: Any, draw: Any) -> bytes:
    """One of the MessagePack encodings of ``value`` (with map keys as drawn)."""
    if value is None:
        return b"\xc0"
    if value is True or value is False:
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        return draw(st.sampled_from(_int_forms(value)))
    if isinstance(value, str):
        body = value.encode("utf-8")
        return draw(st.sampled_from(_length_forms(len(body), 0xA0, 31, [0xD9, 0xDA, 0xDB]))) + body
    if isinstance(value, bytes):
        return draw(st.sampled_from(_length_forms(len(value), None, 0, [0xC4, 0xC5, 0xC6]))) + value
    if isinstance(value, list):
        head = draw(st.sampled_from(_length_forms(len(value), 0x90, 15, [0xDC, 0xDD])))
        return head + b"".join(loose_encode(item, draw) for item in value)
    assert isinstance(value, dict)
    entries: list[tuple[Any, Any]] = list(value.items())
    entries = draw(st.sampled_from([entries, list(reversed(entries))]) | st.permutations(entries))
    if entries and draw(st.booleans()):  # a key given twice (same or another value)
        key, item = draw(st.sampled_from(entries))
        twin = draw(st.sampled_from([item, None, 7]))
        entries.insert(draw(st.integers(0, len(entries))), (key, twin))
    if entries and draw(st.integers(0, 4)) == 0:  # a key as bin instead of str
        index = draw(st.integers(0, len(entries) - 1))
        entries[index] = (entries[index][0].encode("utf-8"), entries[index][1])
    head = draw(st.sampled_from(_length_forms(len(entries), 0x80, 15, [0xDE, 0xDF])))
    return head + b"".join(loose_encode(k, draw) + loose_encode(v, draw) for k, v in entries)


SMALL_LIMITS = DecodeLimits(max_size=48, max_depth=3, max_container_len=4, max_bytes_len=10)
LIMITS = st.sampled_from([DEFAULT_LIMITS, SMALL_LIMITS])
FAST = settings(max_examples=250, deadline=None)

# ------------------------------------------------------------ decode


@FAST
@given(st.binary(max_size=24), LIMITS)
@example(b"\xcc\x05", DEFAULT_LIMITS)
@example(b"\xcd\x00\xff", DEFAULT_LIMITS)
@example(b"\xce\x00\x00\xff\xff", DEFAULT_LIMITS)
@example(b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00", DEFAULT_LIMITS)
@example(b"\xcc\x80", DEFAULT_LIMITS)
@example(b"\xcc", DEFAULT_LIMITS)
@example(b"\xcd\x01", DEFAULT_LIMITS)
@example(b"\x05\x00", DEFAULT_LIMITS)
@example(b"\x7f", DEFAULT_LIMITS)
@example(b"\xcf" + b"\xff" * 8, DEFAULT_LIMITS)
@example(b"\xcf" + b"\xff" * 8, DecodeLimits(max_size=8))
@example(b"\xd0\x05", DEFAULT_LIMITS)
@example(b"\xd9\x01a", DEFAULT_LIMITS)
@example(b"\x82\xa1b\x01\xa1a\x02", DEFAULT_LIMITS)
@example(b"\x82\xa1a\x01\xa1a\x01", DEFAULT_LIMITS)
@example(b"\x81\xc4\x01a\x01", DEFAULT_LIMITS)
@example(b"\x81\x01\x01", DEFAULT_LIMITS)
@example(b"\xa1\xff", DEFAULT_LIMITS)
@example(b"", DEFAULT_LIMITS)
def test_random_bytes_get_the_reference_answer(data: bytes, limits: DecodeLimits) -> None:
    same_as_reference(data, limits)


@FAST
@given(values, st.data(), LIMITS)
def test_loose_encodings_get_the_reference_answer(
    value: Any, data: st.DataObject, limits: DecodeLimits
) -> None:
    raw = loose_encode(value, data.draw)
    answer = same_as_reference(raw, limits)
    if answer[0] == "value":
        assert raw == codec.encode(value), "only the canonical form decodes"


@FAST
@given(values, st.data())
def test_flipped_and_cut_encodings_get_the_reference_answer(
    value: Any, data: st.DataObject
) -> None:
    raw = bytearray(codec.encode(value))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, len(raw)))
        kind = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        if kind == "insert":
            raw.insert(where, data.draw(st.integers(0, 255)))
        elif kind == "cut":
            del raw[where:]
        elif where < len(raw):
            if kind == "flip":
                raw[where] ^= 1 << data.draw(st.integers(0, 7))
            elif kind == "set":
                raw[where] = data.draw(st.integers(0, 255))
            else:
                del raw[where]
    same_as_reference(bytes(raw), DEFAULT_LIMITS)
    same_as_reference(memoryview(bytes(raw)), SMALL_LIMITS)


@FAST
@given(values, LIMITS)
def test_canonical_encodings_decode_as_before(value: Any, limits: DecodeLimits) -> None:
    raw = codec.encode(value)
    answer = same_as_reference(raw, limits)
    if limits == DEFAULT_LIMITS:
        assert answer == ("value", typed(reference_canonical(value, 0)))


@given(st.integers(0, 2**64 - 1))
def test_a_lone_unsigned_integer_in_every_form(value: int) -> None:
    for raw in _int_forms(value):
        answer = same_as_reference(raw)
        assert answer == (
            ("value", ("int", value))
            if raw == codec.encode(value)
            else ("refused", "NotCanonicalError")
        )
        for bad in (raw[:-1], raw + b"\x00"):
            if bad:
                assert same_as_reference(bad) == ("refused", "DecodeError")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"\xcc\x05", NotCanonicalError),
        (b"\xcd\x00\xff", NotCanonicalError),
        (b"\xd9\x01a", NotCanonicalError),
        (b"\x82\xa1b\x01\xa1a\x02", NotCanonicalError),  # keys unsorted
        (b"\x82\xa1a\x01\xa1a\x01", NotCanonicalError),  # a key twice
        (b"\x81\xc4\x01a\x01", NotCanonicalError),  # a bin key
        (b"\xcc", DecodeError),  # truncated
        (b"\x05\x05", DecodeError),  # trailing byte
        (b"\xcf" + b"\xff" * 8, None),
    ],
)
def test_the_refusals_named_in_the_change(raw: bytes, error: type[CodecError] | None) -> None:
    if error is None:
        assert codec.decode(raw) == 2**64 - 1
        return
    with pytest.raises(error) as caught:
        codec.decode(raw)
    assert type(caught.value) is error
    assert same_as_reference(raw) == ("refused", error.__name__)


@pytest.mark.parametrize("depth", [63, 64, 65, 66, 67])
@pytest.mark.parametrize(
    "leaf", [b"\x00", b"\xc0", b"\x90", b"\x80"], ids=["int", "nil", "[]", "{}"]
)
def test_deep_values_under_generous_limits_get_the_reference_answer(
    depth: int, leaf: bytes
) -> None:
    """No in-tree limit allows more than 16 levels, but ``DecodeLimits`` lets a caller ask for
    more: the old check refused, through ``encode``, any value nested deeper than 64 levels."""
    generous = DecodeLimits(max_depth=100)
    same_as_reference(b"\x91" * depth + leaf, generous)


def test_a_lone_integer_still_obeys_the_size_limit() -> None:
    with pytest.raises(LimitError):
        codec.decode(b"\xcf" + b"\x01" * 8, DecodeLimits(max_size=8))


# ------------------------------------------------------------ encode


def encode_outcome(encoder: Any, value: Any) -> tuple[str, Any]:
    try:
        return ("bytes", encoder(value))
    except EncodeError:
        return ("refused", "EncodeError")


@FAST
@given(dressed)
def test_encode_equals_the_reference(value: Any) -> None:
    assert codec.encode(value) == reference_encode(value)


@FAST
@given(refused)
def test_encode_refuses_what_the_reference_refuses(value: Any) -> None:
    assert encode_outcome(reference_encode, value) == ("refused", "EncodeError")
    with pytest.raises(EncodeError):
        codec.encode(value)


@pytest.mark.parametrize("depth", [62, 63, 64, 65, 66])
@pytest.mark.parametrize(
    "leaf",
    [0, 2**64 - 1, b"x", "x", None, True, [], {}, (), Count(3)],
    ids=["int", "uint64", "bytes", "str", "None", "bool", "list", "dict", "tuple", "intsub"],
)
def test_encode_refuses_deep_values_at_the_reference_depth(depth: int, leaf: Any) -> None:
    """``depth`` lists around ``leaf``: refused exactly when the reference refuses it."""
    value = leaf
    for _ in range(depth):
        value = [value]
    assert encode_outcome(codec.encode, value) == encode_outcome(reference_encode, value)


@pytest.mark.parametrize(
    "value",
    [INT_MAX + 1, INT_MIN - 1, Count(INT_MAX + 1), 1.0, [1, 2.5], {"a": 1.0}, {1: 1}, {b"a": 1}],
    ids=[
        "over",
        "under",
        "over-subclass",
        "float",
        "float-in-list",
        "float-in-map",
        "int-key",
        "bytes-key",
    ],
)
def test_encode_refusals_are_encode_errors(value: Any) -> None:
    with pytest.raises(EncodeError):
        codec.encode(value)


# Map-free values, in the shapes history entries and other records use.
mapless: st.SearchStrategy[Any] = st.recursive(
    LEAVES.flatmap(_dressed_leaf),
    lambda children: st.lists(children, max_size=5) | st.lists(children, max_size=5).map(tuple),
    max_leaves=20,
)


def _in_canonical_order(value: Any) -> Any:
    """``value`` with every map rebuilt as a dict in canonical key order."""
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda key: key.encode("utf-8"))
        return {key: _in_canonical_order(value[key]) for key in keys}
    if isinstance(value, (list, tuple)):
        return [_in_canonical_order(item) for item in value]
    return value


# Values with maps (event attributes and the like), their maps in any order.
with_maps: st.SearchStrategy[Any] = st.recursive(
    LEAVES.flatmap(_dressed_leaf),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=20,
)


@FAST
@given(mapless)
def test_encode_ordered_equals_encode_for_map_free_values(value: Any) -> None:
    assert codec.encode_ordered(value) == codec.encode(value) == reference_encode(value)


@FAST
@given(with_maps)
def test_encode_ordered_equals_encode_once_maps_are_in_canonical_order(value: Any) -> None:
    assert codec.encode_ordered(_in_canonical_order(value)) == reference_encode(value)


def test_encode_ordered_does_not_sort_and_refuses_what_has_no_encoding() -> None:
    # It trusts the caller's order: keys out of order give non-canonical bytes.
    assert codec.encode_ordered({"b": 1, "a": 2}) != codec.encode({"b": 1, "a": 2})
    with pytest.raises(EncodeError):
        codec.encode_ordered([INT_MAX + 1])


# ------------------------------------------------------------ encodings computed once

HASH32 = st.binary(min_size=32, max_size=32)
headers = st.builds(
    Header,
    height=st.integers(0, 2**64 - 1),
    timestamp_ms=st.integers(0, 2**64 - 1),
    parent_hash=HASH32,
    last_commit_hash=HASH32,
    extrinsics_root=HASH32,
    evidence_root=HASH32,
    state_root=HASH32,
    receipts_root=HASH32,
    events_root=HASH32,
    validators_hash=HASH32,
    next_validators_hash=HASH32,
    proposer=st.binary(min_size=KEY_LEN, max_size=KEY_LEN),
    proposal_round=st.integers(0, MAX_ROUND),
    vrf_proof=st.binary(min_size=VRF_PROOF_LEN, max_size=VRF_PROOF_LEN),
)
events = st.builds(
    Event,
    pallet=st.text(max_size=10),
    name=st.text(max_size=10),
    attrs=st.dictionaries(KEYS, values, max_size=3),
)
receipts = st.builds(
    Receipt,
    extrinsic_hash=HASH32,
    success=st.booleans(),
    error=st.none()
    | st.builds(
        DispatchError,
        pallet=st.text(max_size=8),
        code=st.text(max_size=8),
        rule=st.text(max_size=4),
        message=st.text(max_size=40),
    ),
    events=st.lists(events, max_size=17).map(tuple),  # 16+ events: a long array header
)


@settings(max_examples=100, deadline=None)
@given(headers, st.data())
def test_a_header_hash_is_the_hash_of_its_encoding(header: Header, data: st.DataObject) -> None:
    fresh = blake2b256(reference_encode(header.to_wire()))
    assert header.hash == fresh
    assert header.hash is header.hash  # computed once
    assert Header.from_wire(codec.decode(header.encode())).hash == fresh
    name = data.draw(st.sampled_from([f.name for f in dataclasses.fields(Header)]))
    changed = dataclasses.replace(header, **{name: data.draw(_other_value(getattr(header, name)))})
    assert changed.hash == blake2b256(reference_encode(changed.to_wire()))
    assert changed.hash != header.hash
    assert header.hash == fresh  # the original keeps its own


def _other_value(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, int):
        upper = MAX_ROUND if value <= MAX_ROUND else 2**64 - 1
        return st.integers(0, upper).filter(lambda other: other != value)
    return st.binary(min_size=len(value), max_size=len(value)).filter(lambda other: other != value)


@settings(max_examples=100, deadline=None)
@given(receipts, st.data())
def test_a_receipt_encodes_as_a_fresh_encoding(receipt: Receipt, data: st.DataObject) -> None:
    fresh = reference_encode(receipt.to_wire())
    assert receipt.encode() == fresh
    assert receipt.encode() is receipt.encode()  # computed once
    assert Receipt.from_wire(codec.decode(fresh)) == receipt
    assert receipts_root([receipt, receipt]) == merkle_root([fresh, fresh])
    assert events_root(receipt.events) == merkle_root(
        [reference_encode(e.to_wire()) for e in receipt.events]
    )
    other = dataclasses.replace(receipt, success=not receipt.success, events=receipt.events[:1])
    assert other.encode() == reference_encode(other.to_wire()) != fresh
    assert receipt.encode() == fresh
