"""Typed storage: key layout, defaults stored as absent, corrupt values refused."""

from __future__ import annotations

import pytest

from ledger import codec
from ledger.overlay import MemoryState, StateOverlay
from pallets.support.argtypes import U64, Text
from pallets.support.declare import RuntimeFault
from pallets.support.storage import (
    ACCOUNT_KEY,
    TEXT_KEY,
    U64_KEY,
    CorruptState,
    StorageSet,
)


def test_key_layout_and_sorted_iteration() -> None:
    storage = StorageSet("demo")
    value = storage.value("total", U64, default=0, doc="")
    by_number = storage.map("by_number", U64_KEY, U64, default=0, doc="")
    by_name = storage.map("by_name", TEXT_KEY, U64, default=0, doc="")
    state = StateOverlay(MemoryState())
    value.put(state, 5)
    assert state.get(b"demo/total") == codec.encode(5)
    for number in (300, 2, 70_000):
        by_number.put(state, number, number + 1)
    assert state.get(b"demo/by_number/" + (2).to_bytes(8, "big")) == codec.encode(3)
    # big-endian keys: byte order is numeric order
    assert [k for k, _ in by_number.items(state)] == [2, 300, 70_000]
    by_name.put(state, "zed", 1)
    by_name.put(state, "ab", 2)
    assert dict(by_name.items(state)) == {"ab": 2, "zed": 1}
    assert state.get(b"demo/by_name/\x02ab") == codec.encode(2)


def test_default_values_are_absent() -> None:
    storage = StorageSet("demo")
    counts = storage.map("count", ACCOUNT_KEY, U64, default=0, doc="")
    state = StateOverlay(MemoryState())
    account = bytes(range(32))
    counts.put(state, account, 3)
    assert counts.contains(state, account)
    counts.put(state, account, 0)
    assert state.get(counts.key(account)) is None
    assert counts.get(state, account) == 0


def test_wrong_writes_fail_loudly_and_corrupt_reads_are_refused() -> None:
    storage = StorageSet("demo")
    names = storage.map("name", ACCOUNT_KEY, Text(4), default="", doc="")
    state = StateOverlay(MemoryState())
    with pytest.raises(RuntimeFault, match="writing a wrong value"):
        names.put(state, bytes(32), "too long")
    with pytest.raises(RuntimeFault, match="32 bytes"):
        names.put(state, b"short", "ok")
    state.put(names.key(bytes(32)), b"\xcc\x05")  # uint8 5: not canonical
    with pytest.raises(CorruptState, match="not canonical"):
        names.get(state, bytes(32))
    state.put(names.key(bytes(32)), codec.encode(5))
    with pytest.raises(CorruptState, match="expected text"):
        names.get(state, bytes(32))
    with pytest.raises(RuntimeFault, match="snake_case"):
        storage.value("Bad-Name", U64, default=0, doc="")
