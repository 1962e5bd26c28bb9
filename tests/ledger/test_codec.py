"""Canonical MessagePack: round trips, refusals, limits checked before allocation."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import codec
from ledger.codec import DecodeLimits

INT64 = st.integers(min_value=codec.INT_MIN, max_value=codec.INT_MAX)

values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | INT64 | st.binary(max_size=64) | st.text(max_size=32),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@given(values)
def test_round_trip(value: Any) -> None:
    data = codec.encode(value)
    assert codec.decode(data) == value
    assert codec.encode(codec.decode(data)) == data


@given(st.dictionaries(st.text(max_size=8), INT64, min_size=2, max_size=6))
def test_map_order_does_not_change_bytes(mapping: dict[str, int]) -> None:
    reversed_map = dict(reversed(list(mapping.items())))
    assert codec.encode(mapping) == codec.encode(reversed_map)


@given(st.dictionaries(st.text(max_size=8), INT64, min_size=2, max_size=6))
def test_unsorted_map_refused(mapping: dict[str, int]) -> None:
    keys = sorted(mapping, key=lambda k: k.encode())
    unsorted = {k: mapping[k] for k in reversed(keys)}
    raw = msgpack.packb(unsorted, use_bin_type=True)
    with pytest.raises(codec.NotCanonicalError):
        codec.decode(raw)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_non_minimal_integer_refused(n: int) -> None:
    wide = b"\xcf" + n.to_bytes(8, "big")  # uint64 form of a small number
    with pytest.raises(codec.NotCanonicalError):
        codec.decode(wide)


@given(st.text(max_size=31))
def test_long_string_form_for_short_string_refused(text: str) -> None:
    body = text.encode()
    if len(body) > 31:
        return
    raw = b"\xd9" + bytes([len(body)]) + body  # str8 where fixstr is canonical
    with pytest.raises(codec.NotCanonicalError):
        codec.decode(raw)


def test_str_as_bin_and_bin_as_str_are_distinct() -> None:
    assert codec.decode(codec.encode(b"ab")) == b"ab"
    assert codec.decode(codec.encode("ab")) == "ab"
    old_raw = b"\xa2ab"  # a str in old msgpack without bin type decodes as str
    assert codec.decode(old_raw) == "ab"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xca\x00\x00\x00\x00", "float"),
        (b"\xcb" + bytes(8), "float"),
        (b"\xd4\x01\x00", "ext"),
        (b"\xd6\xff" + bytes(4), "timestamp"),
        (b"\xc1", "reserved"),
        (b"\x92\x01", "truncated"),
        (b"\x01\x02", "trailing"),
        (b"\xa2\xff\xfe", "UTF-8"),
        (b"\x81\x01\x02", "map key"),
        (b"", "truncated"),
    ],
)
def test_malformed_refused_with_reason(raw: bytes, message: str) -> None:
    with pytest.raises(codec.DecodeError, match=message):
        codec.decode(raw)


def test_duplicate_keys_refused() -> None:
    with pytest.raises(codec.NotCanonicalError):
        codec.decode(b"\x82\xa1a\x01\xa1a\x02")


@pytest.mark.parametrize(
    "value",
    [1.5, 2**64, -(2**63) - 1, {1: 2}, {b"k": 1}, object(), {1.0}],
)
def test_values_without_canonical_form_refused(value: Any) -> None:
    with pytest.raises(codec.EncodeError):
        codec.encode(value)


def test_limits_are_checked_before_allocation() -> None:
    limits = DecodeLimits(max_size=1024, max_depth=4, max_container_len=10, max_bytes_len=16)
    # An array header claiming 2**32-1 entries: refused from the header alone.
    with pytest.raises(codec.LimitError, match="array"):
        codec.decode(b"\xdd\xff\xff\xff\xff", limits)
    with pytest.raises(codec.LimitError, match="map"):
        codec.decode(b"\xdf\xff\xff\xff\xff", limits)
    with pytest.raises(codec.LimitError, match="bin"):
        codec.decode(b"\xc6\x7f\xff\xff\xff", limits)
    with pytest.raises(codec.LimitError, match="nesting"):
        codec.decode(b"\x91" * 5 + b"\x00", limits)
    with pytest.raises(codec.LimitError, match="exceeds"):
        codec.decode(bytes(2048), limits)
    # Exactly at the limits is fine.
    assert codec.decode(b"\x91" * 4 + b"\x00", limits) == [[[[0]]]]


@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_codec_errors(raw: bytes) -> None:
    try:
        value = codec.decode(raw)
    except codec.CodecError:
        return
    assert codec.encode(value) == raw


def test_deep_nesting_bomb_refused_fast() -> None:
    bomb = b"\x91" * 100_000 + b"\x00"
    with pytest.raises(codec.LimitError):
        codec.decode(bomb, DecodeLimits(max_size=1 << 20))
