"""Key-value storage: a small protocol, LevelDB and in-memory implementations.

Everything persistent (trie nodes, blocks, receipts, indexes) goes through
``KVStore``. Writes that belong together go in one ``WriteBatch`` that is
applied atomically; ``sync=True`` makes it durable before ``write`` returns
(one fsync per block). This module is the only one that imports plyvel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message names the path and the cause."""


class WriteBatch:
    """Puts and deletes collected for one atomic write; the last op on a key wins."""

    __slots__ = ("ops",)

    def __init__(self) -> None:
        self.ops: dict[bytes, bytes | None] = {}

    def put(self, key: bytes, value: bytes) -> None:
        self.ops[key] = value

    def delete(self, key: bytes) -> None:
        self.ops[key] = None

    def __len__(self) -> int:
        return len(self.ops)


class KVStore(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes, *, sync: bool = False) -> None: ...

    def delete(self, key: bytes, *, sync: bool = False) -> None: ...

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs whose key starts with ``prefix``, in key order."""
        ...

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """Apply every op of ``batch`` atomically."""
        ...

    def close(self) -> None: ...


class MemoryKV:
    """A dict-backed ``KVStore`` for unit tests of pure cores."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def put(self, key: bytes, value: bytes, *, sync: bool = False) -> None:
        self.data[key] = value

    def delete(self, key: bytes, *, sync: bool = False) -> None:
        self.data.pop(key, None)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self.data if k.startswith(prefix)):
            yield key, self.data[key]

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        for key, value in batch.ops.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value

    def close(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class LevelDBOptions:
    """LevelDB's own tuning, passed to it when the store is opened.

    ``cache_mb``: its LRU cache of uncompressed table blocks (LevelDB's
    default is 8 MB). ``bloom_bits``: bits per key of the bloom filter
    written into each new table, so that a read skips the tables that do not
    hold its key instead of reading one of their blocks (0 = no filter,
    LevelDB's default; tables written without one stay readable, and a
    filter never changes what a read returns). ``write_buffer_mb``: the
    in-memory table filled before it is written out as a file (LevelDB's
    default is 4 MB).
    """

    cache_mb: int = 8
    bloom_bits: int = 10
    write_buffer_mb: int = 4

    def __post_init__(self) -> None:
        for name in ("cache_mb", "bloom_bits", "write_buffer_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise StoreError(f"LevelDB option {name} must be an integer >= 0, got {value!r}")
        if self.write_buffer_mb < 1:
            raise StoreError("LevelDB option write_buffer_mb must be at least 1")

    def plyvel_kwargs(self) -> dict[str, int]:
        """The keyword arguments of ``plyvel.DB`` these options stand for."""
        kwargs = {
            "lru_cache_size": self.cache_mb << 20,
            "write_buffer_size": self.write_buffer_mb << 20,
        }
        if self.bloom_bits:
            kwargs["bloom_filter_bits"] = self.bloom_bits
        return kwargs


class LevelDBKV:
    """LevelDB on disk through plyvel."""

    def __init__(
        self, path: str | Path, *, create: bool = True, options: LevelDBOptions | None = None
    ) -> None:
        import plyvel  # imported here: the only plyvel user in the project

        self.options = LevelDBOptions() if options is None else options
        if create:
            Path(path).mkdir(parents=True, exist_ok=True)
        try:
            self._db: Any = plyvel.DB(
                str(path), create_if_missing=create, **self.options.plyvel_kwargs()
            )
        except (plyvel.IOError, plyvel.CorruptionError) as exc:
            detail = exc.args[0].decode(errors="replace") if exc.args else str(exc)
            hint = " (is another node running on this home?)" if "lock" in detail else ""
            raise StoreError(f"cannot open the LevelDB store at {path}: {detail}{hint}") from exc
        self.path = Path(path)

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def put(self, key: bytes, value: bytes, *, sync: bool = False) -> None:
        self._db.put(key, value, sync=sync)

    def delete(self, key: bytes, *, sync: bool = False) -> None:
        self._db.delete(key, sync=sync)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        with self._db.iterator(prefix=prefix) as it:
            yield from it

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        with self._db.write_batch(sync=sync) as wb:
            for key, value in batch.ops.items():
                if value is None:
                    wb.delete(key)
                else:
                    wb.put(key, value)

    def compact(self) -> None:
        """Compact the whole key range: deleted entries give their disk space back."""
        self._db.compact_range()

    def close(self) -> None:
        if not self._db.closed:
            self._db.close()
