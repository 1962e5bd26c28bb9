"""Records stored as typed arrays, and composite storage keys.

Theory of operation
-------------------
The storage layer keeps values as canonical MessagePack checked against an
``ArgType``. A fund, a request or a loan is a ``Record`` (an array with one
item per named field), in declared field order (the order is part of the
state format: append new fields at the end only). Two ways to read one:

* ``TypedRecord`` (the model, used by the funds pallet): a frozen slots
  dataclass whose fields, annotated ``Annotated[type, ArgType]``, are the
  record's fields in order; ``StrEnum`` fields are stored as their string
  values. ``RecordMap`` (declared with ``record_map``) reads and writes a
  storage map of them, so mypy checks the pallet's logic, not only its
  signatures. The stored bytes are those of the dict form.
* ``RecordType`` (the older form, other pallets until they move): plain
  ``dict`` access, ``fund["cash"]``.

Composite keys (fund + account, time + id) are fixed-width byte strings so
that prefix iteration is sorted by their first part. A ``CompositeKey``
dataclass (``U32Part``, ``U64Part``, ``AccountPart`` fields) builds them in
one place (``encode``, ``head`` for a prefix, ``codec`` for a storage map);
the older form is a ``FixedKey`` of the summed width built with ``key_of``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import (
    Annotated,
    Any,
    Final,
    Generic,
    Self,
    TypeAlias,
    TypeVar,
    get_args,
    get_origin,
    get_type_hints,
)

from ledger.overlay import StateReader
from pallets.support.argtypes import ArgType, Enum, List, Optional, Record
from pallets.support.declare import RuntimeFault
from pallets.support.storage import CorruptState, KeyCodec, StateWriter, StorageMap, StorageSet


class RecordType:
    """A named record: ``Record`` for the state, dicts for code."""

    def __init__(self, label: str, fields: Sequence[tuple[str, ArgType]]) -> None:
        self.record: Final = Record(label, tuple(fields))
        self.names: Final = tuple(name for name, _ in fields)

    def wire(self, value: dict[str, Any]) -> list[Any]:
        if set(value) != set(self.names):
            missing = sorted(set(self.names) - set(value))
            extra = sorted(set(value) - set(self.names))
            raise RuntimeFault(f"{self.record.label}: missing {missing}, unknown {extra}")
        return [value[name] for name in self.names]

    def unwire(self, value: list[Any]) -> dict[str, Any]:
        return dict(zip(self.names, value, strict=True))


def key_of(*parts: bytes | tuple[int, int]) -> bytes:
    """Concatenate raw parts; an ``(int, width)`` pair is big-endian fixed width."""
    out = bytearray()
    for part in parts:
        if isinstance(part, tuple):
            number, width = part
            out += number.to_bytes(width, "big")
        else:
            out += part
    return bytes(out)


def u32(number: int) -> bytes:
    return number.to_bytes(4, "big")


def u64(number: int) -> bytes:
    return number.to_bytes(8, "big")


# ---------------------------------------------------------------- typed records


@dataclass(frozen=True, slots=True)
class Width:
    """How many bytes one part of a ``CompositeKey`` takes: ``Annotated[int, Width(4)]``."""

    size: int


U32Part: TypeAlias = Annotated[int, Width(4)]
U64Part: TypeAlias = Annotated[int, Width(8)]
AccountPart: TypeAlias = Annotated[bytes, Width(32)]

R = TypeVar("R")
K = TypeVar("K")
CK = TypeVar("CK", bound="CompositeKey")
_Convert = Callable[[Any], Any]


def enum_type(kind: type[StrEnum]) -> Enum:
    """The ``Enum`` argument type of a ``StrEnum``: its string values, in declaration order."""
    return Enum(tuple(member.value for member in kind))


class TypedRecord(Generic[R]):
    """A frozen dataclass stored as a ``Record``: one array item per field, in field order.

    Each field is annotated ``Annotated[<python type>, <ArgType>]``; the
    ArgTypes make the ``Record`` the storage item declares, so the state
    format is the field order (append new fields at the end only). A
    ``StrEnum`` field (alone, optional, or a ``tuple[E, ...]``) is stored as its
    string value, a tuple as an array: ``wire`` gives exactly what the dict
    form (``RecordType``) stored. ``unwire`` refuses a string that is not a
    member of the field's enum (``CorruptState``, naming the field).
    """

    def __init__(self, label: str, kind: type[R]) -> None:
        if not dataclasses.is_dataclass(kind) or not isinstance(kind, type):
            raise TypeError(f"{label}: {kind!r} is not a dataclass")
        params = getattr(kind, "__dataclass_params__", None)
        if params is None or not params.frozen or "__slots__" not in vars(kind):
            raise TypeError(f"{label}: {kind.__name__} must be @dataclass(frozen=True, slots=True)")
        hints = get_type_hints(kind, include_extras=True)
        fields: list[tuple[str, ArgType]] = []
        to_wire: list[_Convert] = []
        from_wire: list[_Convert] = []
        for field in dataclasses.fields(kind):
            hint = hints[field.name]
            declared = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, ArgType)]
            if len(declared) != 1:
                raise TypeError(f"{label}.{field.name}: annotate it Annotated[type, ArgType]")
            arg = declared[0]
            fields.append((field.name, arg))
            out, into = _converters(f"{label}.{field.name}", get_args(hint)[0], arg)
            to_wire.append(out)
            from_wire.append(into)
        self.kind: Final = kind
        self.record: Final = Record(label, tuple(fields))
        self.names: Final = tuple(name for name, _ in fields)
        self._to_wire: Final = tuple(zip(self.names, to_wire, strict=True))
        self._from_wire: Final = tuple(from_wire)
        self._build: Final[Callable[..., R]] = kind

    def wire(self, value: R) -> list[Any]:
        """The stored array (plain strings for enums, lists for tuples)."""
        if not isinstance(value, self.kind):
            raise RuntimeFault(f"{self.record.label}: expected a {self.kind.__name__}")
        return [convert(getattr(value, name)) for name, convert in self._to_wire]

    def unwire(self, raw: list[Any]) -> R:
        """The record from its stored array (checked by the storage item on read)."""
        if len(raw) != len(self._from_wire):
            raise CorruptState(
                f"{self.record.label}: {len(raw)} fields stored, {len(self._from_wire)} declared"
            )
        return self._build(
            *(convert(item) for convert, item in zip(self._from_wire, raw, strict=True))
        )

    def as_dict(self, value: R) -> dict[str, Any]:
        """The wire values by field name, in field order (query results)."""
        return dict(zip(self.names, self.wire(value), strict=True))


def _same(value: Any) -> Any:
    return value


def _enum_values(path: str, kind: type[StrEnum], arg: ArgType) -> None:
    if not isinstance(arg, Enum) or arg.values != enum_type(kind).values:
        raise TypeError(f"{path}: {kind.__name__} needs the ArgType enum_type({kind.__name__})")


def _converters(path: str, hint: Any, arg: ArgType) -> tuple[_Convert, _Convert]:
    """(to the wire, from the wire) for one field of Python type ``hint``."""
    args = get_args(hint)
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        _enum_values(path, hint, arg)
        return _enum_out, _enum_in(path, hint)
    if type(None) in args and isinstance(arg, Optional):  # X | None
        (inner,) = [a for a in args if a is not type(None)]
        out, into = _converters(path, inner, arg.of)
        if out is _same:
            return _same, _same
        return (
            lambda v: None if v is None else out(v),
            lambda v: None if v is None else into(v),
        )
    if get_origin(hint) is tuple and isinstance(arg, List):  # tuple[X, ...]
        out, into = _converters(f"{path}[]", args[0], arg.of)
        return (lambda v: [out(i) for i in v], lambda v: tuple(into(i) for i in v))
    return _same, _same


def _enum_out(value: StrEnum) -> str:
    return value.value


def _enum_in(path: str, kind: type[StrEnum]) -> _Convert:
    def convert(value: Any) -> StrEnum:
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise CorruptState(
                f"{path}: {value!r} is not a {kind.__name__} (one of {allowed})"
            ) from None

    return convert


class RecordMap(Generic[K, R]):
    """A storage map whose values are typed records (absent: ``None``).

    It wraps the ``StorageMap`` the pallet's ``StorageSet`` lists (metadata,
    the state format), so the bytes are those of the map itself.
    """

    def __init__(self, item: StorageMap[K], record: TypedRecord[R]) -> None:
        self.item: Final = item
        self.record: Final = record
        self.prefix: Final = item.prefix

    def key(self, key: K) -> bytes:
        return self.item.key(key)

    def get(self, state: StateReader, key: K) -> R | None:
        raw = self.item.get(state, key)
        return None if raw is None else self.record.unwire(raw)

    def put(self, state: StateWriter, key: K, value: R) -> None:
        self.item.put(state, key, self.record.wire(value))

    def delete(self, state: StateWriter, key: K) -> None:
        self.item.delete(state, key)

    def contains(self, state: StateReader, key: K) -> bool:
        return self.item.contains(state, key)

    def items(self, state: StateReader) -> Iterator[tuple[K, R]]:
        for key, raw in self.item.items(state):
            yield key, self.record.unwire(raw)


def record_map(
    storage: StorageSet, name: str, key: KeyCodec[K], record: TypedRecord[R], *, doc: str
) -> RecordMap[K, R]:
    """Declare ``<pallet>/<name>/<key>`` holding ``Optional(record)``, read as typed records."""
    item = storage.map(name, key, Optional(record.record), default=None, doc=doc)
    return RecordMap(item, record)


# ---------------------------------------------------------------- typed composite keys

_Layout = tuple[tuple[str, bool, int], ...]  # (field, is an int, width)
_LAYOUTS: dict[type, _Layout] = {}


class CompositeKey:
    """Base of fixed-width composite keys (a frozen slots dataclass of annotated parts).

    Each field is ``U32Part``, ``U64Part`` or ``AccountPart`` (or any
    ``Annotated[int | bytes, Width(n)]``): integers big-endian, bytes raw, so
    byte order is the order of the first part, then the next. ``encode`` is
    the one place the bytes are built; ``head`` builds the leading parts for a
    prefix scan; ``codec(name)`` is the key codec a storage map declares.
    """

    __slots__ = ()

    @classmethod
    def _layout(cls) -> _Layout:
        found = _LAYOUTS.get(cls)
        if found is None:
            hints = get_type_hints(cls, include_extras=True)
            parts = []
            for field in dataclasses.fields(cls):  # type: ignore[arg-type]
                hint = hints[field.name]
                widths = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Width)]
                base = get_args(hint)[0] if widths else None
                if len(widths) != 1 or base not in (int, bytes):
                    raise TypeError(
                        f"{cls.__name__}.{field.name}: a U32Part, U64Part or AccountPart"
                    )
                parts.append((field.name, base is int, widths[0].size))
            found = _LAYOUTS[cls] = tuple(parts)
        return found

    @classmethod
    def width(cls) -> int:
        return sum(size for _, _, size in cls._layout())

    @classmethod
    def head(cls, *parts: int | bytes) -> bytes:
        """The encoded leading parts (a prefix of every key that starts with them)."""
        layout = cls._layout()
        if len(parts) > len(layout):
            raise RuntimeFault(f"{cls.__name__}: {len(parts)} parts, {len(layout)} declared")
        out = bytearray()
        for (name, is_int, size), part in zip(layout[: len(parts)], parts, strict=True):
            if is_int:
                if isinstance(part, bool) or not isinstance(part, int) or part < 0:
                    raise RuntimeFault(f"{cls.__name__}.{name} must be a non-negative int")
                out += part.to_bytes(size, "big")
            else:
                if not isinstance(part, bytes) or len(part) != size:
                    raise RuntimeFault(f"{cls.__name__}.{name} must be {size} bytes")
                out += part
        return bytes(out)

    def encode(self) -> bytes:
        return self.head(*(getattr(self, name) for name, _, _ in self._layout()))

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        if len(raw) != cls.width():
            raise CorruptState(f"{cls.__name__} key of {len(raw)} bytes, expected {cls.width()}")
        values: list[int | bytes] = []
        at = 0
        for _, is_int, size in cls._layout():
            part = raw[at : at + size]
            values.append(int.from_bytes(part, "big") if is_int else part)
            at += size
        build: Callable[..., Self] = cls
        return build(*values)

    @classmethod
    def codec(cls, name: str) -> CompositeKeyCodec[Self]:
        return CompositeKeyCodec(name, cls)


@dataclass(frozen=True, slots=True)
class CompositeKeyCodec(Generic[CK]):
    """The ``KeyCodec`` of a storage map keyed by a ``CompositeKey``."""

    name: str
    kind: type[CK]

    def encode(self, key: CK) -> bytes:
        if not isinstance(key, self.kind):
            raise RuntimeFault(f"{self.name} key must be a {self.kind.__name__}")
        return key.encode()

    def decode(self, raw: bytes) -> CK:
        return self.kind.decode(raw)


def keys_under(
    state: StateReader, item: StorageMap[K] | RecordMap[K, Any], head: bytes
) -> Iterator[K]:
    """The keys of a map that start with ``head`` (``Key.head(...)``), in key order."""
    codec = item.item.key_codec if isinstance(item, RecordMap) else item.key_codec
    cut = len(item.prefix)
    for full, _ in state.iterate(item.prefix + head):
        yield codec.decode(full[cut:])
