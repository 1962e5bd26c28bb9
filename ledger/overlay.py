"""Nested write layers over a read-only state (the runtime's scratch space).

Theory of operation
-------------------
The runtime never writes the trie directly. A block runs on a
``StateOverlay`` over the trie version of its parent. Each extrinsic opens a
layer; a call that fails drops its layer, one that succeeds commits it into
the layer below. At the end of the block ``changes()`` is the net set of
writes (``None`` = delete), which the trie applies in one batch commit.

Reads fall through the layers from the top to the base. Prefix iteration
merges the base's sorted iteration with the pending writes, so pallets see
their own uncommitted writes in key order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from typing import Protocol


class KeyReader(Protocol):
    """Reads one key at a time: all a storage item's ``get`` needs (no listing)."""

    def get(self, key: bytes) -> bytes | None: ...


class StateReader(KeyReader, Protocol):
    """What the runtime needs of a committed state version."""

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        ...


class MemoryState:
    """A dict as a ``StateReader``: for unit tests of pure cores."""

    def __init__(self, items: Mapping[bytes, bytes] | None = None) -> None:
        self.items: dict[bytes, bytes] = dict(items or {})

    def get(self, key: bytes) -> bytes | None:
        return self.items.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self.items if k.startswith(prefix)):
            yield key, self.items[key]


class CachedReader:
    """One committed state version with a bounded memory of the values read from it.

    A validator reads the same keys again and again at the chain's head: the
    parameters on every fee quote, the sender's nonce and balance when a
    transfer enters the pool and again when its block executes. A committed
    version never changes, so remembering what was read from it is sound;
    ``advanced`` hands the memory to the next version, updated with exactly
    the block's net writes (the new root is the old one with those writes), so
    the hot keys stay remembered across blocks. The reader it came from keeps
    working, with an empty memory.

    Two generations bound the memory: a value read or written goes to the
    young one; when that holds ``capacity // 2`` keys it becomes the old one
    and the previous old one is dropped. ``None`` (absent) is remembered too.
    Prefix iteration is not cached: it goes to the version itself.
    """

    def __init__(self, base: StateReader, root: bytes, capacity: int = 100_000) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self._base = base
        self.root = root
        self.capacity = capacity
        self._half = capacity // 2
        self._young: dict[bytes, bytes | None] = {}
        self._old: dict[bytes, bytes | None] = {}

    def __len__(self) -> int:
        return len(self._young) + len(self._old)

    def get(self, key: bytes) -> bytes | None:
        young = self._young
        if key in young:
            return young[key]
        old = self._old
        value = old[key] if key in old else self._base.get(key)
        young[key] = value
        if len(young) >= self._half:
            self._old, self._young = young, {}
        return value

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self._base.iterate(prefix)

    def advanced(
        self, base: StateReader, root: bytes, changes: Mapping[bytes, bytes | None]
    ) -> CachedReader:
        """The reader of ``root`` = this version with ``changes`` applied, memory carried."""
        after = CachedReader(base, root, self.capacity)
        young, old = self._young, self._old
        self._young, self._old = {}, {}  # this version's reader keeps working, uncached
        for key in changes:
            old.pop(key, None)
        young.update(changes)
        if len(young) >= self._half:
            young, old = {}, young
        after._young, after._old = young, old
        return after


class OverlayError(RuntimeError):
    """Misuse of the layer stack: a bug in the caller."""


class StateOverlay:
    """A stack of write layers over a ``StateReader``."""

    def __init__(self, base: StateReader) -> None:
        self._base = base
        self._layers: list[dict[bytes, bytes | None]] = [{}]

    @property
    def depth(self) -> int:
        return len(self._layers)

    def get(self, key: bytes) -> bytes | None:
        for layer in reversed(self._layers):
            if key in layer:
                return layer[key]
        return self._base.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        if not isinstance(value, bytes):
            raise OverlayError(f"state values are bytes, got {type(value).__name__}")
        self._layers[-1][key] = value

    def delete(self, key: bytes) -> None:
        self._layers[-1][key] = None

    def open_layer(self) -> None:
        self._layers.append({})

    def commit_layer(self) -> None:
        if len(self._layers) < 2:
            raise OverlayError("no open layer to commit")
        top = self._layers.pop()
        self._layers[-1].update(top)

    def drop_layer(self) -> None:
        if len(self._layers) < 2:
            raise OverlayError("no open layer to drop")
        self._layers.pop()

    def changes(self) -> dict[bytes, bytes | None]:
        """The net writes of the bottom layer; all nested layers must be closed."""
        if len(self._layers) != 1:
            raise OverlayError(f"{len(self._layers) - 1} layers still open")
        return dict(self._layers[0])

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        pending: dict[bytes, bytes | None] = {}
        for layer in self._layers:
            for key, value in layer.items():
                if key.startswith(prefix):
                    pending[key] = value
        overlay_sorted = sorted(pending.items())
        base_iter = (
            (key, value) for key, value in self._base.iterate(prefix) if key not in pending
        )
        for key, value in heapq.merge(base_iter, overlay_sorted, key=lambda kv: kv[0]):
            if value is not None:
                yield key, value
