"""The type vocabulary of call arguments, event attributes and state values.

Theory of operation
-------------------
A call declares each argument as ``(name, ArgType)``. Before anything runs,
the runtime checks the decoded MessagePack value against its type: Python
type, range, size, membership. A wrong value raises ``ArgError`` whose message
starts with the argument's path (``dest``, ``members[3]``), so a wallet is told
exactly which argument is wrong. The same types describe event attributes and
storage values, and ``describe()`` gives their JSON form for the metadata, so
a type is written once and serves both checking and documentation.

Every type is a frozen dataclass with two methods: ``check(value, path)``
returns the value (unchanged: MessagePack already gives ``int``, ``bytes``,
``str``, ``bool``, ``list``, ``None``) or raises; ``name`` is a short text
form (``u64``, ``bytes(256)``, ``list(account, 16)``).

Integers on the wire are limited to 64 bits (spec/wire.md §1), so an
``amount`` is an unsigned 64-bit number of minor units: up to 1.8e19, which
bounds the total supply (checked at genesis).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ledger.crypto import HASH_LEN, KEY_LEN


class ArgError(ValueError):
    """A value that does not match its declared type; the message names it."""


class ArgType(ABC):
    """Base of the vocabulary: ``check`` a value, ``describe`` it for metadata."""

    @property
    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def check(self, value: Any, path: str) -> Any: ...

    @abstractmethod
    def describe(self) -> dict[str, Any]: ...

    def map_free(self) -> bool:
        """True if every value this type accepts is an int, bytes, str, bool, None or
        a list of those: no map and no float, so ``codec.encode_ordered`` encodes it
        canonically as it is (events, ``EventDef.build``). False unless a type says so."""
        return False


@dataclass(frozen=True, slots=True)
class Int(ArgType):
    """An integer in ``[minimum, maximum]``; ``label`` is its metadata name."""

    label: str
    minimum: int
    maximum: int

    @property
    def name(self) -> str:
        return self.label

    def check(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArgError(f"{path}: expected an integer ({self.label}), got {_kind(value)}")
        if not self.minimum <= value <= self.maximum:
            raise ArgError(
                f"{path}: {value} is outside the {self.label} range "
                f"[{self.minimum}, {self.maximum}]"
            )
        return value

    def map_free(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        # Bounds as strings: JavaScript loses precision above 2**53.
        return {
            "kind": "int",
            "name": self.label,
            "min": str(self.minimum),
            "max": str(self.maximum),
        }


@dataclass(frozen=True, slots=True)
class FixedBytes(ArgType):
    """Exactly ``length`` bytes (accounts and hashes)."""

    label: str
    length: int

    @property
    def name(self) -> str:
        return self.label

    def check(self, value: Any, path: str) -> bytes:
        if not isinstance(value, bytes):
            raise ArgError(
                f"{path}: expected {self.length} bytes ({self.label}), got {_kind(value)}"
            )
        if len(value) != self.length:
            raise ArgError(
                f"{path}: {self.label} must be {self.length} bytes, got {len(value)} bytes"
            )
        return value

    def map_free(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        return {"kind": "fixed_bytes", "name": self.label, "length": self.length}


@dataclass(frozen=True, slots=True)
class Bytes(ArgType):
    """Up to ``max_len`` bytes."""

    max_len: int

    @property
    def name(self) -> str:
        return f"bytes({self.max_len})"

    def check(self, value: Any, path: str) -> bytes:
        if not isinstance(value, bytes):
            raise ArgError(f"{path}: expected bytes, got {_kind(value)}")
        if len(value) > self.max_len:
            raise ArgError(f"{path}: {len(value)} bytes exceeds the maximum of {self.max_len}")
        return value

    def map_free(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        return {"kind": "bytes", "name": self.name, "max": self.max_len}


@dataclass(frozen=True, slots=True)
class Text(ArgType):
    """UTF-8 text of at most ``max_len`` bytes, without control characters."""

    max_len: int

    @property
    def name(self) -> str:
        return f"text({self.max_len})"

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise ArgError(f"{path}: expected text, got {_kind(value)}")
        size = len(value.encode("utf-8"))
        if size > self.max_len:
            raise ArgError(f"{path}: {size} bytes of text exceeds the maximum of {self.max_len}")
        if any(ord(ch) < 0x20 and ch not in "\n\t" for ch in value):
            raise ArgError(f"{path}: text holds control characters")
        return value

    def map_free(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        return {"kind": "text", "name": self.name, "max": self.max_len}


@dataclass(frozen=True, slots=True)
class Bool(ArgType):
    @property
    def name(self) -> str:
        return "bool"

    def check(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise ArgError(f"{path}: expected true or false, got {_kind(value)}")
        return value

    def map_free(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        return {"kind": "bool", "name": "bool"}


@dataclass(frozen=True, slots=True)
class Enum(ArgType):
    """One of the ``values`` (strings named in the metadata)."""

    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.values or len(set(self.values)) != len(self.values):
            raise ValueError("an enum needs distinct values")

    @property
    def name(self) -> str:
        return "enum(" + "|".join(self.values) + ")"

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or value not in self.values:
            shown = repr(value) if isinstance(value, str) else _kind(value)
            raise ArgError(f"{path}: {shown} is not one of {', '.join(self.values)}")
        return value

    def map_free(self) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        return {"kind": "enum", "name": self.name, "values": list(self.values)}


@dataclass(frozen=True, slots=True)
class List(ArgType):
    """An array of at most ``max_len`` items of type ``of``; ``unique`` refuses repeats."""

    of: ArgType
    max_len: int
    min_len: int = 0
    unique: bool = False

    @property
    def name(self) -> str:
        return f"list({self.of.name}, {self.max_len})"

    def check(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise ArgError(f"{path}: expected a list, got {_kind(value)}")
        if not self.min_len <= len(value) <= self.max_len:
            raise ArgError(f"{path}: {len(value)} items, expected {self.min_len} to {self.max_len}")
        checked = [self.of.check(item, f"{path}[{i}]") for i, item in enumerate(value)]
        if self.unique:
            seen: set[Any] = set()
            for i, item in enumerate(checked):
                marker = repr(item)
                if marker in seen:
                    raise ArgError(f"{path}[{i}]: repeated item")
                seen.add(marker)
        return checked

    def map_free(self) -> bool:
        return self.of.map_free()

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "list",
            "name": self.name,
            "of": self.of.describe(),
            "min": self.min_len,
            "max": self.max_len,
            "unique": self.unique,
        }


@dataclass(frozen=True, slots=True)
class Optional(ArgType):
    """``nil`` or a value of type ``of``."""

    of: ArgType

    @property
    def name(self) -> str:
        return f"option({self.of.name})"

    def check(self, value: Any, path: str) -> Any:
        return None if value is None else self.of.check(value, path)

    def map_free(self) -> bool:
        return self.of.map_free()

    def describe(self) -> dict[str, Any]:
        return {"kind": "option", "name": self.name, "of": self.of.describe()}


@dataclass(frozen=True, slots=True)
class Record(ArgType):
    """An array with one item per named field, in order (state values, records)."""

    label: str
    fields: tuple[tuple[str, ArgType], ...]

    @property
    def name(self) -> str:
        return self.label

    def check(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list) or len(value) != len(self.fields):
            raise ArgError(f"{path}: expected a {self.label} record of {len(self.fields)} fields")
        return [
            kind.check(item, f"{path}.{field}")
            for (field, kind), item in zip(self.fields, value, strict=True)
        ]

    def map_free(self) -> bool:
        return all(kind.map_free() for _, kind in self.fields)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "record",
            "name": self.label,
            "fields": [{"name": n, "type": t.describe()} for n, t in self.fields],
        }


def _kind(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, bytes):
        return f"{len(value)} bytes"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


U8: Final = Int("u8", 0, 2**8 - 1)
U16: Final = Int("u16", 0, 2**16 - 1)
U32: Final = Int("u32", 0, 2**32 - 1)
U64: Final = Int("u64", 0, 2**64 - 1)
AMOUNT: Final = Int("amount", 0, 2**64 - 1)
BPS: Final = Int("bps", 0, 10_000)
DURATION: Final = Int("duration", 0, 2**32 - 1)  # seconds; 136 years is enough
ACCOUNT: Final = FixedBytes("account", KEY_LEN)
HASH: Final = FixedBytes("hash", HASH_LEN)
BOOL: Final = Bool()


def check_args(
    declared: Sequence[tuple[str, ArgType]], args: dict[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """Check a call's argument map against its declaration; ArgError names the argument."""
    names = {name for name, _ in declared}
    for key in sorted(args):
        if key not in names:
            raise ArgError(f"{prefix}{key}: unexpected argument")
    checked: dict[str, Any] = {}
    for name, kind in declared:
        if name not in args:
            raise ArgError(f"{prefix}{name}: missing argument ({kind.name})")
        checked[name] = kind.check(args[name], prefix + name)
    return checked
