"""State overlay: layered writes, rollback of a layer, merged iteration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.overlay import MemoryState, OverlayError, StateOverlay


def test_layers_commit_and_drop() -> None:
    base = MemoryState({b"a": b"1", b"b": b"2"})
    state = StateOverlay(base)
    state.put(b"c", b"3")
    state.open_layer()
    state.put(b"a", b"9")
    state.delete(b"b")
    assert state.get(b"a") == b"9"
    assert state.get(b"b") is None
    state.drop_layer()
    assert state.get(b"a") == b"1"
    assert state.get(b"b") == b"2"
    state.open_layer()
    state.delete(b"b")
    state.commit_layer()
    assert state.changes() == {b"c": b"3", b"b": None}
    assert base.items == {b"a": b"1", b"b": b"2"}


def test_misuse_is_loud() -> None:
    state = StateOverlay(MemoryState())
    with pytest.raises(OverlayError):
        state.commit_layer()
    with pytest.raises(OverlayError):
        state.drop_layer()
    state.open_layer()
    with pytest.raises(OverlayError, match="still open"):
        state.changes()
    with pytest.raises(OverlayError, match="bytes"):
        state.put(b"k", "text")  # type: ignore[arg-type]


keys = st.binary(min_size=1, max_size=3)


@given(
    st.dictionaries(keys, st.binary(max_size=3)),
    st.lists(st.tuples(keys, st.none() | st.binary(max_size=3)), max_size=20),
    st.binary(max_size=1),
)
def test_iterate_merges_base_and_layers(
    base_items: dict[bytes, bytes], writes: list[tuple[bytes, bytes | None]], prefix: bytes
) -> None:
    state = StateOverlay(MemoryState(base_items))
    model = dict(base_items)
    for i, (key, value) in enumerate(writes):
        if i % 3 == 0:
            state.open_layer()
        if value is None:
            state.delete(key)
            model.pop(key, None)
        else:
            state.put(key, value)
            model[key] = value
    expected = sorted((k, v) for k, v in model.items() if k.startswith(prefix))
    assert list(state.iterate(prefix)) == expected
