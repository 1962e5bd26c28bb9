"""Records stored as typed arrays, and composite storage keys.

Theory of operation
-------------------
The storage layer keeps values as canonical MessagePack checked against an
``ArgType``. A fund, a request or a loan is a ``Record`` (an array with one
item per named field). ``RecordType`` pairs a ``Record`` declaration with
plain ``dict`` access, so pallet code reads ``fund["cash"]`` while the state
holds ``[...]`` in declared field order (the order is part of the state
format: append new fields at the end only).

Composite keys (fund + account, time + id) are fixed-width byte strings so
that prefix iteration is sorted by their first part: a ``FixedKey`` of the
summed width, built with ``key_of``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pallets.support.argtypes import ArgType, Record
from pallets.support.declare import RuntimeFault


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
