"""Receipts: what each extrinsic did, its events, and why it failed if it did.

``Receipt`` is ``[extrinsic_hash, success, error|nil, [event...]]``; the
block header commits to them and to the block's events by their Merkle roots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ledger import codec
from ledger.codec import DecodeError, expect_bytes, expect_list, expect_str
from ledger.crypto import HASH_LEN
from ledger.merkle import merkle_root


@dataclass(frozen=True)  # no slots: the encoding is computed once (cached_property)
class Event:
    """``[pallet, name, attributes]`` emitted by a call or a block hook.

    An event is never changed once made (nothing writes to ``attrs``), so its
    encoding is computed once and shared by its receipt, the events root and
    the history index.
    """

    pallet: str
    name: str
    attrs: dict[str, Any] = field(default_factory=dict)
    # True when ``attrs`` lists its keys in canonical (UTF-8) order and holds only
    # values checked against the event's declaration (``EventDef.build``): no map,
    # no float. The encoding then skips the sorting walk (issue 23); the bytes are
    # the same. Not part of the event's value.
    ordered: bool = field(default=False, compare=False, repr=False)

    def to_wire(self) -> list[Any]:
        return [self.pallet, self.name, self.attrs]

    @cached_property
    def encoded(self) -> bytes:
        if self.ordered:
            return codec.encode_ordered([self.pallet, self.name, self.attrs])
        return codec.encode(self.to_wire())

    @classmethod
    def from_wire(cls, value: Any) -> Event:
        pallet, name, attrs = expect_list(value, 3, "event")
        if not isinstance(attrs, dict):
            raise DecodeError("event attrs: expected a map")
        return cls(expect_str(pallet, "event pallet"), expect_str(name, "event name"), attrs)


@dataclass(frozen=True, slots=True)
class DispatchError:
    """Why a call failed: ``[pallet, code, rule, message]``; rule may be ""."""

    pallet: str
    code: str
    rule: str
    message: str

    def to_wire(self) -> list[Any]:
        return [self.pallet, self.code, self.rule, self.message]

    @classmethod
    def from_wire(cls, value: Any) -> DispatchError:
        p, c, r, m = expect_list(value, 4, "dispatch error")
        return cls(
            expect_str(p, "error pallet"),
            expect_str(c, "error code"),
            expect_str(r, "error rule"),
            expect_str(m, "error message", 1024),
        )


@dataclass(frozen=True)  # no slots: the encoding is computed once (cached_property)
class Receipt:
    """``[extrinsic_hash, success, error|nil, [event...]]``."""

    extrinsic_hash: bytes
    success: bool
    error: DispatchError | None
    events: tuple[Event, ...]

    def to_wire(self) -> list[Any]:
        return [
            self.extrinsic_hash,
            self.success,
            None if self.error is None else self.error.to_wire(),
            [e.to_wire() for e in self.events],
        ]

    def encode(self) -> bytes:
        return self.encoded

    @cached_property
    def encoded(self) -> bytes:
        # The receipts root and the block store both need it: encode once, from
        # the events' own encodings (an array's bytes are its items' bytes in a row).
        head = [
            self.extrinsic_hash,
            self.success,
            None if self.error is None else self.error.to_wire(),
        ]
        return codec.join_array(
            [
                *(codec.encode(part) for part in head),
                codec.join_array([e.encoded for e in self.events]),
            ]
        )

    @classmethod
    def from_wire(cls, value: Any) -> Receipt:
        h, ok, err, events = expect_list(value, 4, "receipt")
        if not isinstance(ok, bool) or not isinstance(events, list):
            raise DecodeError("receipt: malformed")
        return cls(
            expect_bytes(h, "receipt extrinsic hash", HASH_LEN),
            ok,
            None if err is None else DispatchError.from_wire(err),
            tuple(Event.from_wire(e) for e in events),
        )


def receipts_root(receipts: Sequence[Receipt]) -> bytes:
    return merkle_root([r.encode() for r in receipts])


def events_root(events: Sequence[Event]) -> bytes:
    return merkle_root([e.encoded for e in events])
