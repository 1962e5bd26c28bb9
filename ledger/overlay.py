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
