"""Events encoded without the sorting walk (issue 23) give the canonical bytes.

``EventDef.build`` copies an event's attributes in canonical key order and,
when no declared field type can hold a map or a float, marks the event
``ordered`` so that its encoding is ``msgpack`` of the value as it is
(``codec.encode_ordered``). Receipts roots, events roots and the history
index hash and store those bytes, so they must be exactly ``codec.encode``'s:
checked here for every event the runtime declares, on values drawn from
each field's declared type and handed over in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.types import Event
from pallets import construct
from pallets.support.argtypes import ACCOUNT, AMOUNT, ArgType, List, Optional, Record, Text
from pallets.support.declare import EventDef, RuntimeFault
from pallets.support.queries import Map, Struct
from tests.fuzz.strategies import valid_value_for

EVENTS: list[EventDef] = [event for p in construct.registry().pallets for event in p.events]


@st.composite
def built_events(draw: st.DrawFn) -> tuple[EventDef, dict[str, Any]]:
    """A declared event and valid attributes for it, in a random key order."""
    event = draw(st.sampled_from(EVENTS))
    attrs = {name: draw(valid_value_for(kind)) for name, kind in event.fields}
    order = draw(st.permutations(list(attrs)))
    return event, {name: attrs[name] for name in order}


def test_every_declared_event_is_encoded_without_the_walk() -> None:
    slow = [f"{e.pallet}.{e.name}" for e in EVENTS if not e._map_free]
    assert len(EVENTS) > 50
    assert slow == []


@settings(max_examples=400, deadline=None)
@given(built_events())
def test_an_ordered_event_encodes_as_codec_encode(case: tuple[EventDef, dict[str, Any]]) -> None:
    declaration, attrs = case
    event = declaration.build(attrs)
    assert event.ordered
    assert list(event.attrs) == sorted(event.attrs, key=lambda name: name.encode("utf-8"))
    assert event.encoded == codec.encode(event.to_wire())
    # The same event read back from its bytes (not ordered) is equal and encodes the same.
    read = Event.from_wire(codec.decode(event.encoded))
    assert not read.ordered
    assert read == event
    assert read.encoded == event.encoded


@dataclass(frozen=True, slots=True)
class Opaque(ArgType):
    """A pallet's own type that does not say it is map-free."""

    @property
    def name(self) -> str:
        return "opaque"

    def check(self, value: Any, path: str) -> Any:
        return value

    def describe(self) -> dict[str, Any]:
        return {"kind": "opaque", "name": "opaque"}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (AMOUNT, True),
        (ACCOUNT, True),
        (List(Optional(Record("pair", (("a", AMOUNT), ("b", Text(8))))), 4), True),
        (Struct("s", (("a", AMOUNT),)), False),
        (Map(AMOUNT), False),
        (List(Map(AMOUNT), 3), False),
        (Record("r", (("a", AMOUNT), ("m", Map(AMOUNT)))), False),
        (Opaque(), False),
    ],
    ids=["int", "bytes", "nested", "struct", "map", "list-of-map", "record-with-map", "opaque"],
)
def test_map_free_says_whether_a_type_can_hold_a_map(kind: ArgType, expected: bool) -> None:
    assert kind.map_free() is expected


def test_an_event_with_a_map_field_keeps_the_sorting_walk() -> None:
    declaration = EventDef("probe", "Mapped", (("z", AMOUNT), ("m", Map(AMOUNT))), "a probe")
    # Map keys out of order: only the sorting walk makes these bytes canonical.
    event = declaration.build({"z": 1, "m": {"b": 2, "a": 1}})
    assert not event.ordered
    assert event.encoded == codec.encode(event.to_wire())
    assert event.encoded != codec.encode_ordered(event.to_wire())


def test_an_event_with_a_type_of_its_own_keeps_the_sorting_walk() -> None:
    declaration = EventDef("probe", "Opaque", (("v", Opaque()),), "a probe")
    event = declaration.build({"v": {"y": 1, "x": [1.5]}})
    assert not event.ordered
    with pytest.raises(codec.EncodeError):
        _ = event.encoded  # a float has no canonical encoding, as before


@pytest.mark.parametrize(
    "attrs",
    [{"sender": bytes(32), "dest": bytes(32)}, {"sender": bytes(32), "dest": bytes(32),
     "amount": 1, "memo": b""}, {"sender": bytes(32), "dest": bytes(32), "amout": 1}],
    ids=["missing", "extra", "misspelt"],
)  # fmt: skip
def test_fields_other_than_the_declared_ones_are_refused(attrs: dict[str, Any]) -> None:
    declaration = EventDef(
        "balances", "Transferred", (("sender", ACCOUNT), ("dest", ACCOUNT), ("amount", AMOUNT)), ""
    )
    with pytest.raises(RuntimeFault, match="takes \\['sender', 'dest', 'amount'\\]"):
        declaration.build(attrs)
