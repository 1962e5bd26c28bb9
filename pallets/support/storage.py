"""Typed storage items over key prefixes (docs/protocol/state.md).

Theory of operation
-------------------
All state is one sorted key/value space (the trie). A pallet owns the keys
that start with ``<pallet>/``; each storage item owns ``<pallet>/<item>``:

* ``StorageValue``: one key, ``<pallet>/<item>``.
* ``StorageMap``: ``<pallet>/<item>/`` + the encoded map key. Map keys are
  encoded so that byte order is the natural order (accounts and hashes raw,
  integers fixed-width big-endian, text length-prefixed), which makes prefix
  iteration both sorted and meaningful.

Names are ``[a-z][a-z0-9_]*`` so no prefix is a prefix of another item's key.
Values are canonical MessagePack (``ledger.codec``), checked against the
item's declared type on write (a bug fails loudly, before the state is
wrong) and on read (corrupt state is refused, never interpreted).

A value equal to the item's default is stored as *absent*: a zero balance or
nonce takes no space in the trie, and "absent" and "default" can never be two
different states with two different roots.

Accessors take anything with ``get``/``iterate`` for reads (a committed
``StateReader``, an overlay, a ``CallContext``), and ``put``/``delete`` as well
for writes, so RPC queries, invariant checks and calls share one code path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from ledger import codec
from ledger.codec import CodecError
from ledger.overlay import KeyReader, StateReader
from pallets.support.argtypes import ArgError, ArgType
from pallets.support.declare import NAME_RE, RuntimeFault

K = TypeVar("K")


class StateWriter(StateReader, Protocol):
    def put(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...


class CorruptState(RuntimeFault):
    """A stored value that does not decode to its declared type."""


# ---------------------------------------------------------------- key codecs


class KeyCodec(Protocol[K]):
    @property
    def name(self) -> str: ...

    def encode(self, key: K) -> bytes: ...

    def decode(self, raw: bytes) -> K: ...


@dataclass(frozen=True, slots=True)
class FixedKey:
    """A key of exactly ``length`` raw bytes (accounts, hashes)."""

    name: str
    length: int

    def encode(self, key: bytes) -> bytes:
        if not isinstance(key, bytes) or len(key) != self.length:
            raise RuntimeFault(f"{self.name} key must be {self.length} bytes")
        return key

    def decode(self, raw: bytes) -> bytes:
        if len(raw) != self.length:
            raise CorruptState(f"{self.name} key of {len(raw)} bytes")
        return raw


@dataclass(frozen=True, slots=True)
class UIntKey:
    """An unsigned integer as ``width`` big-endian bytes: byte order = numeric order."""

    name: str
    width: int

    def encode(self, key: int) -> bytes:
        if isinstance(key, bool) or not isinstance(key, int) or key < 0:
            raise RuntimeFault(f"{self.name} key must be a non-negative int")
        return key.to_bytes(self.width, "big")

    def decode(self, raw: bytes) -> int:
        if len(raw) != self.width:
            raise CorruptState(f"{self.name} key of {len(raw)} bytes")
        return int.from_bytes(raw, "big")


@dataclass(frozen=True, slots=True)
class TextKey:
    """Text of at most 255 UTF-8 bytes, prefixed by its length (self-delimiting)."""

    name: str = "text"

    def encode(self, key: str) -> bytes:
        raw = key.encode("utf-8")
        if len(raw) > 255:
            raise RuntimeFault("text key longer than 255 bytes")
        return bytes([len(raw)]) + raw

    def decode(self, raw: bytes) -> str:
        if not raw or raw[0] != len(raw) - 1:
            raise CorruptState("text key with a wrong length prefix")
        return raw[1:].decode("utf-8")


ACCOUNT_KEY: Final = FixedKey("account", 32)
HASH_KEY: Final = FixedKey("hash", 32)
U32_KEY: Final = UIntKey("u32", 4)
U64_KEY: Final = UIntKey("u64", 8)
TEXT_KEY: Final = TextKey()


# ---------------------------------------------------------------- items


def _encode_value(item: StorageItem, value: Any) -> bytes:
    try:
        item.value_type.check(value, item.label)
    except ArgError as exc:
        raise RuntimeFault(f"writing a wrong value: {exc}") from exc
    return codec.encode(value)


def _decode_value(item: StorageItem, key: bytes, raw: bytes) -> Any:
    try:
        value = codec.decode(raw)
        item.value_type.check(value, item.label)
    except (CodecError, ArgError) as exc:
        raise CorruptState(f"state key 0x{key.hex()}: {exc}") from exc
    return value


class StorageItem(ABC):
    """What the metadata lists about a storage item."""

    pallet: str
    name: str
    value_type: ArgType
    default: Any
    doc: str
    prefix: bytes
    label: str  # ``pallet.name``, as errors name the item (made once: every read checks)

    @abstractmethod
    def describe(self) -> dict[str, Any]: ...


class StorageValue(StorageItem):
    """A single value at ``<pallet>/<name>``."""

    def __init__(self, pallet: str, name: str, value_type: ArgType, default: Any, doc: str):
        if not NAME_RE.match(pallet) or not NAME_RE.match(name):
            raise RuntimeFault(f"storage name {pallet}/{name} must be snake_case")
        self.pallet, self.name, self.value_type = pallet, name, value_type
        self.default, self.doc = default, doc
        self.key = self.prefix = f"{pallet}/{name}".encode()
        self.label = f"{pallet}.{name}"

    def get(self, state: KeyReader) -> Any:
        raw = state.get(self.key)
        return self.default if raw is None else _decode_value(self, self.key, raw)

    def put(self, state: StateWriter, value: Any) -> None:
        if value == self.default:
            state.delete(self.key)
        else:
            state.put(self.key, _encode_value(self, value))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "value",
            "key": "0x" + self.key.hex(),
            "value": self.value_type.name,
            "value_def": self.value_type.describe(),
            "default": _json_default(self.default),
            "doc": self.doc,
        }


class StorageMap(StorageItem, Generic[K]):
    """Values at ``<pallet>/<name>/`` + encoded key; absent = default."""

    def __init__(
        self,
        pallet: str,
        name: str,
        key_codec: KeyCodec[K],
        value_type: ArgType,
        default: Any,
        doc: str,
    ):
        if not NAME_RE.match(pallet) or not NAME_RE.match(name):
            raise RuntimeFault(f"storage name {pallet}/{name} must be snake_case")
        self.pallet, self.name, self.key_codec = pallet, name, key_codec
        self.value_type, self.default, self.doc = value_type, default, doc
        self.prefix = f"{pallet}/{name}/".encode()
        self.label = f"{pallet}.{name}"

    def key(self, key: K) -> bytes:
        return self.prefix + self.key_codec.encode(key)

    def get(self, state: KeyReader, key: K) -> Any:
        full = self.key(key)
        raw = state.get(full)
        return self.default if raw is None else _decode_value(self, full, raw)

    def put(self, state: StateWriter, key: K, value: Any) -> None:
        full = self.key(key)
        if value == self.default:
            state.delete(full)
        else:
            state.put(full, _encode_value(self, value))

    def delete(self, state: StateWriter, key: K) -> None:
        state.delete(self.key(key))

    def contains(self, state: KeyReader, key: K) -> bool:
        return state.get(self.key(key)) is not None

    def items(self, state: StateReader) -> Iterator[tuple[K, Any]]:
        """Every stored (key, value), in key order."""
        cut = len(self.prefix)
        for full, raw in state.iterate(self.prefix):
            yield self.key_codec.decode(full[cut:]), _decode_value(self, full, raw)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "map",
            "prefix": "0x" + self.prefix.hex(),
            "key": self.key_codec.name,
            "value": self.value_type.name,
            "value_def": self.value_type.describe(),
            "default": _json_default(self.default),
            "doc": self.doc,
        }


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class StorageSet:
    """The storage items of one pallet."""

    def __init__(self, pallet: str) -> None:
        self.pallet = pallet
        self.items: list[StorageItem] = []

    def _add(self, item: StorageItem) -> None:
        if any(i.name == item.name for i in self.items):
            raise RuntimeFault(f"{self.pallet}: storage item {item.name} declared twice")
        self.items.append(item)

    def value(self, name: str, value_type: ArgType, *, default: Any, doc: str) -> StorageValue:
        item = StorageValue(self.pallet, name, value_type, default, doc)
        self._add(item)
        return item

    def map(
        self,
        name: str,
        key: KeyCodec[K],
        value_type: ArgType,
        *,
        default: Any,
        doc: str,
    ) -> StorageMap[K]:
        item: StorageMap[K] = StorageMap(self.pallet, name, key, value_type, default, doc)
        self._add(item)
        return item
