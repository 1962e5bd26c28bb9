"""Blocks, commits, receipts and events by height and by hash (docs/protocol/blockstore.md).

Theory of operation
-------------------
The block store is a set of indexes over one ``KVStore``, all under one key
prefix (``b"b/"`` by default). ``stage_block`` adds every entry of one
finalized block to the caller's ``WriteBatch``; the caller adds the state
trie's nodes (``StateTrie.add_to_batch``) to the same batch and writes it
with ``sync=True``, so a block, its receipts and its state become durable
together or not at all. The store's height is a key of its own written in
that batch, so a reader never sees a half-written block.

BFT finality is immediate: a stored block is final, so the best height and
the finalized height are the same, ``height()``.

Checks at staging refuse what would corrupt the indexes: a height that does
not follow the stored one, a parent hash that does not match the stored
parent, a commit for another block, receipts that do not match the
extrinsics one for one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ledger import codec
from ledger.codec import expect_int, expect_list
from ledger.crypto import blake2b256
from ledger.kv import KVStore, WriteBatch
from ledger.types import BLOCK_LIMITS, EMPTY_HASH, Block, Commit, Event, Header, Receipt

__all__ = ["BlockStore", "BlockStoreError"]

_HEIGHT_KEY: Final = b"m"  # the last stored height


class BlockStoreError(ValueError):
    """A block the store refuses (out of order, inconsistent with its commit or receipts)."""


def _u64(height: int) -> bytes:
    if isinstance(height, bool) or not isinstance(height, int) or not 0 <= height < 1 << 64:
        raise BlockStoreError(f"height {height!r} is not an integer in [0, 2**64)")
    return height.to_bytes(8, "big")


class BlockStore:
    """Finalized blocks and what came with them, over a ``KVStore``."""

    def __init__(self, kv: KVStore, prefix: bytes = b"b/") -> None:
        if not isinstance(prefix, bytes):
            raise BlockStoreError("the block store key prefix is bytes")
        self.kv = kv
        self.prefix = prefix

    # Key builders: one short tag per index (see docs/protocol/blockstore.md).
    def _key(self, tag: bytes, suffix: bytes) -> bytes:
        return self.prefix + tag + suffix

    # ---------------------------------------------------------------- writing

    def stage_block(
        self,
        block: Block,
        commit: Commit | None,
        receipts: Sequence[Receipt],
        block_events: Sequence[Event],
        batch: WriteBatch,
    ) -> None:
        """Add ``block`` and its commit, receipts and block-hook events to ``batch``.

        ``commit`` may be ``None`` only for the genesis block (height 0).
        """
        header = block.header
        height = header.height
        height_bytes = _u64(height)
        stored = self.height()
        expected = 0 if stored is None else stored + 1
        if height != expected:
            raise BlockStoreError(f"block at height {height}: the store expects height {expected}")
        if stored is not None:
            parent = self.hash_at(stored)
            if header.parent_hash != parent:
                raise BlockStoreError(
                    f"block at height {height}: parent hash {header.parent_hash.hex()} is not "
                    f"the stored block {stored} ({(parent or EMPTY_HASH).hex()})"
                )
        block_hash = block.hash
        if commit is None:
            if height != 0:
                raise BlockStoreError(f"block at height {height}: a commit is required")
        elif commit.height != height or commit.block_hash != block_hash:
            raise BlockStoreError(
                f"block at height {height}: the commit is for height {commit.height}, "
                f"block {commit.block_hash.hex()}"
            )
        if len(receipts) != len(block.extrinsics):
            raise BlockStoreError(
                f"block at height {height}: {len(receipts)} receipts "
                f"for {len(block.extrinsics)} extrinsics"
            )
        for index, (extrinsic, receipt) in enumerate(zip(block.extrinsics, receipts, strict=True)):
            if receipt.extrinsic_hash != blake2b256(extrinsic):
                raise BlockStoreError(
                    f"block at height {height}: receipt {index} is not for extrinsic {index}"
                )
        put = batch.put
        put(self._key(b"h", height_bytes), block_hash)
        put(self._key(b"b", block_hash), block.encode())
        put(self._key(b"H", block_hash), header.encode())
        if commit is not None:
            put(self._key(b"c", height_bytes), commit.encode())
        for index, receipt in enumerate(receipts):
            position = height_bytes + index.to_bytes(4, "big")
            put(self._key(b"r", position), receipt.encode())
            put(self._key(b"x", receipt.extrinsic_hash), codec.encode([height, index]))
        put(self._key(b"e", height_bytes), codec.encode([e.to_wire() for e in block_events]))
        put(self._key(_HEIGHT_KEY, b""), height_bytes)

    # ---------------------------------------------------------------- reading

    def height(self) -> int | None:
        """The last stored (= finalized) height; ``None`` for an empty store."""
        raw = self.kv.get(self._key(_HEIGHT_KEY, b""))
        return None if raw is None else int.from_bytes(raw, "big")

    def hash_at(self, height: int) -> bytes | None:
        return self.kv.get(self._key(b"h", _u64(height)))

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        raw = self.kv.get(self._key(b"b", block_hash))
        return None if raw is None else Block.decode(raw, BLOCK_LIMITS)

    def block_by_height(self, height: int) -> Block | None:
        block_hash = self.hash_at(height)
        return None if block_hash is None else self.block_by_hash(block_hash)

    def header_by_hash(self, block_hash: bytes) -> Header | None:
        raw = self.kv.get(self._key(b"H", block_hash))
        return None if raw is None else Header.from_wire(codec.decode(raw))

    def header_at(self, height: int) -> Header | None:
        block_hash = self.hash_at(height)
        return None if block_hash is None else self.header_by_hash(block_hash)

    def commit_at(self, height: int) -> Commit | None:
        """The precommits that finalized the block at ``height`` (none for genesis)."""
        raw = self.kv.get(self._key(b"c", _u64(height)))
        return None if raw is None else Commit.from_wire(codec.decode(raw, BLOCK_LIMITS))

    def receipts_at(self, height: int) -> list[Receipt]:
        """The receipts of the block at ``height``, in extrinsic order."""
        return [
            Receipt.from_wire(codec.decode(raw))
            for _, raw in self.kv.iterate(self._key(b"r", _u64(height)))
        ]

    def receipt(self, extrinsic_hash: bytes) -> tuple[int, int, Receipt] | None:
        """``(height, index, receipt)`` of an included extrinsic, or ``None``."""
        raw = self.kv.get(self._key(b"x", extrinsic_hash))
        if raw is None:
            return None
        height_value, index_value = expect_list(codec.decode(raw), 2, "extrinsic location")
        height = expect_int(height_value, "extrinsic height")
        index = expect_int(index_value, "extrinsic index", maximum=(1 << 32) - 1)
        position = _u64(height) + index.to_bytes(4, "big")
        receipt_raw = self.kv.get(self._key(b"r", position))
        if receipt_raw is None:
            raise BlockStoreError(f"index names receipt {height}/{index}, which is missing")
        return height, index, Receipt.from_wire(codec.decode(receipt_raw))

    def events_at(self, height: int) -> list[Event] | None:
        """The block-hook events of the block at ``height`` (``None`` if no such block)."""
        raw = self.kv.get(self._key(b"e", _u64(height)))
        if raw is None:
            return None
        events = codec.decode(raw, BLOCK_LIMITS)
        if not isinstance(events, list):
            raise BlockStoreError(f"stored events of height {height} are not an array")
        return [Event.from_wire(e) for e in events]
