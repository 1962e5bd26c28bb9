"""Canonical MessagePack (spec/wire.md §1).

Theory of operation
-------------------
Everything that is hashed or signed is MessagePack in exactly one form, so
that one value has one byte string and therefore one hash.

*Encoding* validates the value (ints within the 64-bit ranges, ``bytes`` as
``bin``, ``str`` as ``str``, lists/tuples as arrays, dicts with ``str`` keys
only) and sorts every map by the UTF-8 bytes of its keys before handing it to
``msgpack.packb``, which already emits the shortest integer forms.

*Decoding* never trusts the input:

1. ``_scan`` walks the raw bytes first, with no allocation beyond a counter
   stack, and refuses oversize input, too-deep nesting, containers that are
   too long, and the forbidden types (float, ext, timestamps, the reserved
   0xc1 byte). Only then does the C unpacker allocate anything.
2. ``msgpack.unpackb`` decodes with the same limits passed again as a second
   line of defence.
3. Every map's keys must be ``str`` in strictly ascending UTF-8 order, and
   the value re-packed as decoded (maps in the input's key order) must equal
   the input. Together that is the same as comparing with ``encode(value)``,
   without building a sorted copy. Any difference (a longer integer form,
   ``str8`` for a short string, unsorted or duplicate map keys, non-``str``
   keys) makes the input non-canonical and it is refused.

Errors are ``CodecError`` subclasses whose message says what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgpack

INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**64 - 1


class CodecError(ValueError):
    """Bytes or a value that are not canonical credichain MessagePack."""


class EncodeError(CodecError):
    """A value that has no canonical encoding (float, huge int, bad key...)."""


class DecodeError(CodecError):
    """Bytes that are malformed or not the canonical encoding of their value."""


class LimitError(DecodeError):
    """Input refused before allocation because it exceeds a decode limit."""


class NotCanonicalError(DecodeError):
    """Well-formed MessagePack that is not the canonical form of its value."""


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds checked on the raw bytes before anything is allocated."""

    max_size: int = 1 << 20
    max_depth: int = 16
    max_container_len: int = 65_536
    max_bytes_len: int = 1 << 20


DEFAULT_LIMITS: Final = DecodeLimits()


# ---------------------------------------------------------------- encoding


def _canonical(value: Any, depth: int) -> Any:
    if depth > 64:
        raise EncodeError("value nested deeper than 64 levels")
    # Exact type checks first: they are the common case and much cheaper than
    # the isinstance chain below, which handles subclasses and other mappings.
    kind = type(value)
    if kind is bytes or kind is str or value is None or kind is bool:
        return value
    if kind is int:
        if not INT_MIN <= value <= INT_MAX:
            raise EncodeError(f"integer {value} outside the 64-bit range")
        return value
    if kind is list or kind is tuple:
        return [_canonical(item, depth + 1) for item in value]
    if kind is dict:
        return _canonical_map(value, depth)
    if isinstance(value, (bool, bytes, str)):
        return value
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise EncodeError(f"integer {value} outside the 64-bit range")
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_canonical(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        return _canonical_map(value, depth)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise EncodeError(f"type {type(value).__name__} has no canonical encoding")


def _canonical_map(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    items = []
    for key, item in value.items():
        if type(key) is not str and not isinstance(key, str):
            raise EncodeError(f"map key {key!r} is not a str")
        items.append((key.encode("utf-8"), key, _canonical(item, depth + 1)))
    items.sort(key=_first)
    return {key: item for _, key, item in items}


def _first(entry: tuple[bytes, str, Any]) -> bytes:
    return entry[0]


def encode(value: Any) -> bytes:
    """The canonical MessagePack bytes of ``value``."""
    packed: bytes = msgpack.packb(_canonical(value, 0), use_bin_type=True)
    return packed


def encode_ordered(value: Any) -> bytes:
    """The canonical bytes of ``value``, whose maps the caller built in canonical order.

    Only maps need work before packing (their keys sorted): when every map in
    ``value`` already has str keys in ascending UTF-8 order, and its leaves are
    ints, bytes, str, bool and None, ``msgpack.packb`` alone gives the
    canonical form (it writes a map's entries in insertion order and arrays
    as they are), and it still refuses an int outside the 64-bit range
    (``EncodeError``). It looks neither for floats nor at key order: for
    records whose shape their code fixes, made many times per block (history
    entries hold no map; an event's attributes are ordered once per
    declaration, ``EventDef.build``).
    """
    try:
        packed: bytes = msgpack.packb(value, use_bin_type=True)
    except (OverflowError, TypeError, ValueError) as exc:
        raise EncodeError(f"no canonical encoding: {exc}") from exc
    return packed


def join_array(encoded_items: Sequence[bytes]) -> bytes:
    """The canonical bytes of an array whose items are given already canonical.

    MessagePack writes an array as its length header then its items' bytes,
    so records that keep their parts' encodings (events in a receipt) are
    joined instead of encoded again.
    """
    count = len(encoded_items)
    if count < 16:
        head = bytes([0x90 | count])
    elif count <= 0xFFFF:
        head = b"\xdc" + count.to_bytes(2, "big")
    elif count <= 0xFFFF_FFFF:
        head = b"\xdd" + count.to_bytes(4, "big")
    else:
        raise EncodeError(f"array of {count} items is too long for MessagePack")
    return head + b"".join(encoded_items)


# ---------------------------------------------------------------- decoding

# Type byte -> (kind, header size, length field size). Kinds: "scalar"
# (fixed size, header only), "bytes" (length-prefixed payload), "array",
# "map". Fixed-size families are handled by range checks in _scan.
_FORBIDDEN: Final = {
    0xC1: "reserved type byte 0xc1",
    0xC7: "ext type",
    0xC8: "ext type",
    0xC9: "ext type",
    0xCA: "float",
    0xCB: "float",
    0xD4: "ext type",
    0xD5: "ext type",
    0xD6: "ext type (or timestamp)",
    0xD7: "ext type (or timestamp)",
    0xD8: "ext type",
}
_SCALAR_SIZE: Final = {
    0xC0: 1, 0xC2: 1, 0xC3: 1,  # nil, false, true
    0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9,  # uint 8..64
    0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9,  # int 8..64
}  # fmt: skip
_PREFIXED: Final = {  # type byte -> (length field size, kind)
    0xC4: (1, "bin"), 0xC5: (2, "bin"), 0xC6: (4, "bin"),
    0xD9: (1, "str"), 0xDA: (2, "str"), 0xDB: (4, "str"),
    0xDC: (2, "array"), 0xDD: (4, "array"),
    0xDE: (2, "map"), 0xDF: (4, "map"),
}  # fmt: skip


def _scan(data: bytes, limits: DecodeLimits) -> None:
    """Check structure, types and limits of one MessagePack value in place."""
    size = len(data)
    pos = 0
    # Each stack entry counts the items still expected by an open container.
    pending: list[int] = []
    remaining_top = 1
    while True:
        if remaining_top == 0:
            if not pending:
                break
            remaining_top = pending.pop()
            continue
        if pos >= size:
            raise DecodeError("truncated input")
        byte = data[pos]
        remaining_top -= 1
        if byte <= 0x7F or byte >= 0xE0:  # fixints
            pos += 1
            continue
        if 0xA0 <= byte <= 0xBF:  # fixstr
            pos += 1 + (byte & 0x1F)
            continue
        if 0x80 <= byte <= 0x9F:  # fixmap / fixarray
            count = (byte & 0x0F) * (2 if byte <= 0x8F else 1)
            pos += 1
            length = byte & 0x0F
            kind = "map" if byte <= 0x8F else "array"
        elif byte in _FORBIDDEN:
            raise DecodeError(f"{_FORBIDDEN[byte]} is not allowed (offset {pos})")
        elif byte in _SCALAR_SIZE:
            pos += _SCALAR_SIZE[byte]
            continue
        else:
            width, kind = _PREFIXED[byte]
            if pos + 1 + width > size:
                raise DecodeError("truncated input")
            length = int.from_bytes(data[pos + 1 : pos + 1 + width], "big")
            pos += 1 + width
            if kind in ("bin", "str"):
                if length > limits.max_bytes_len:
                    raise LimitError(
                        f"{kind} of {length} bytes exceeds the limit of {limits.max_bytes_len}"
                    )
                pos += length
                continue
            count = length * (2 if kind == "map" else 1)
        if length > limits.max_container_len:
            raise LimitError(
                f"{kind} of {length} entries exceeds the limit of {limits.max_container_len}"
            )
        if count > size - pos:  # every item takes at least one byte
            raise DecodeError("truncated input")
        if len(pending) + 1 > limits.max_depth:
            raise LimitError(f"nesting deeper than the limit of {limits.max_depth}")
        pending.append(remaining_top)
        remaining_top = count
    if pos > size:
        raise DecodeError("truncated input")
    if pos != size:
        raise DecodeError(f"{size - pos} trailing bytes after the value")


def decode(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> Any:
    """Decode canonical bytes; refuse anything else with a ``CodecError``.

    Arrays decode as ``list``, maps as ``dict`` with ``str`` keys.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_size:
        raise LimitError(f"{len(data)} bytes exceeds the limit of {limits.max_size}")
    if data and data[0] in _UINT_WIDTH:  # most state values are one unsigned integer
        return _decode_uint(data)
    _scan(data, limits)
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
        raise DecodeError(f"str is not valid UTF-8: {exc.reason}") from exc
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError) as exc:
        raise DecodeError(f"malformed MessagePack: {exc}") from exc
    # Canonical = the shortest forms (what packb emits for the decoded value, whose
    # maps keep the input's key order) with every map's keys str and in strictly
    # ascending UTF-8 order. Checking both is the same as comparing with
    # encode(value), without building a sorted copy of the value.
    _check_map_keys(value, 0)
    if msgpack.packb(value, use_bin_type=True) != data:
        raise NotCanonicalError(
            "not canonical: re-encoding differs (non-minimal integer or length form, "
            "or duplicated map keys)"
        )
    return value


# An unsigned integer's first byte -> the size of its value field (0: positive fixint).
_UINT_WIDTH: Final = {**dict.fromkeys(range(0x80), 0), 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}
# The smallest value each width may carry: a smaller one has a shorter (canonical) form.
_UINT_MIN: Final = {1: 0x80, 2: 0x100, 4: 0x1_0000, 8: 0x1_0000_0000}


def _decode_uint(data: bytes) -> int:
    """One unsigned integer, the whole input, in its shortest form (else refused)."""
    width = _UINT_WIDTH[data[0]]
    if len(data) != 1 + width:
        if len(data) < 1 + width:
            raise DecodeError("truncated input")
        raise DecodeError(f"{len(data) - 1 - width} trailing bytes after the value")
    if width == 0:
        return data[0]
    value = int.from_bytes(data[1:], "big")
    if value < _UINT_MIN[width]:
        raise NotCanonicalError(
            "not canonical: re-encoding differs (non-minimal integer or length form, "
            "or duplicated map keys)"
        )
    return value


def _check_map_keys(value: Any, depth: int) -> None:
    """Every map's keys are str, sorted by their UTF-8 bytes, without repeats.

    Also refuses what ``encode`` would: an item nested deeper than 64 levels
    (only reachable with limits that allow it; the default allows 16).
    """
    kind = type(value)
    if kind is list:
        if value and depth >= 64:
            raise NotCanonicalError("not canonical: value nested deeper than 64 levels")
        for item in value:
            if type(item) is list or type(item) is dict:
                _check_map_keys(item, depth + 1)
    elif kind is dict:
        if value and depth >= 64:
            raise NotCanonicalError("not canonical: value nested deeper than 64 levels")
        previous = b""
        for index, (key, item) in enumerate(value.items()):
            if type(key) is not str:
                raise NotCanonicalError(f"not canonical: map key {key!r} is not a str")
            encoded = key.encode("utf-8")
            if index and encoded <= previous:
                raise NotCanonicalError("not canonical: map keys unsorted or duplicated")
            previous = encoded
            if type(item) is list or type(item) is dict:
                _check_map_keys(item, depth + 1)


# ------------------------------------------------------- shape helpers


def expect_list(value: Any, length: int, what: str) -> Sequence[Any]:
    """``value`` as an array of exactly ``length`` items, else a DecodeError."""
    if not isinstance(value, list) or len(value) != length:
        raise DecodeError(f"{what}: expected an array of {length} items")
    return value


def expect_int(value: Any, what: str, minimum: int = 0, maximum: int = INT_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"{what}: expected an integer")
    if not minimum <= value <= maximum:
        raise DecodeError(f"{what}: {value} outside [{minimum}, {maximum}]")
    return value


def expect_bytes(value: Any, what: str, length: int | None = None) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError(f"{what}: expected bytes")
    if length is not None and len(value) != length:
        raise DecodeError(f"{what}: expected {length} bytes, got {len(value)}")
    return value


def expect_str(value: Any, what: str, max_len: int = 256) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"{what}: expected a str")
    if len(value.encode("utf-8")) > max_len:
        raise DecodeError(f"{what}: longer than {max_len} bytes")
    return value
