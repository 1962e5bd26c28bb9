"""Block store: indexes by height and hash, receipts, events, ordering checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ledger.blockstore import BlockStore, BlockStoreError
from ledger.crypto import blake2b256
from ledger.kv import LevelDBKV, MemoryKV, WriteBatch
from ledger.trie import StateTrie
from ledger.types import Commit, Event
from tests.ledger.store_chain import (
    ToyChain,
    expected_state,
    extrinsics_of,
    receipts_for,
)


def test_an_empty_store() -> None:
    store = BlockStore(MemoryKV())
    assert store.height() is None
    assert store.block_by_height(0) is None
    assert store.block_by_hash(bytes(32)) is None
    assert store.header_by_hash(bytes(32)) is None
    assert store.commit_at(0) is None
    assert store.hash_at(0) is None
    assert store.receipts_at(0) == []
    assert store.events_at(0) is None
    assert store.receipt(bytes(32)) is None


def test_blocks_receipts_and_events_round_trip() -> None:
    chain = ToyChain(MemoryKV(), seed=1)
    for _ in range(12):
        chain.write_next()
    store = chain.store
    assert store.height() == 11
    parent = None
    for height in range(12):
        block = store.block_by_height(height)
        assert block is not None
        assert block.header.height == height
        assert block.extrinsics == extrinsics_of(1, height)
        assert store.hash_at(height) == block.hash
        assert store.block_by_hash(block.hash) == block
        assert store.header_by_hash(block.hash) == block.header
        if parent is not None:
            assert block.header.parent_hash == parent
        parent = block.hash
        commit = store.commit_at(height)
        if height == 0:
            assert commit is None
        else:
            assert commit is not None and commit.block_hash == block.hash
        receipts = store.receipts_at(height)
        assert receipts == receipts_for(block.extrinsics)
        for index, extrinsic in enumerate(block.extrinsics):
            assert store.receipt(blake2b256(extrinsic)) == (height, index, receipts[index])
        assert store.events_at(height) == [Event("system", "BlockEnd", {"height": height})]
        # The state root in the header is the trie's version at that height.
        assert chain.trie.root_at(height) == block.header.state_root
    reader = chain.trie.reader(chain.trie.root_at(11) or b"")
    assert dict(reader.iterate(b"")) == expected_state(1, 11)


def test_out_of_order_and_inconsistent_blocks_are_refused() -> None:
    chain = ToyChain(MemoryKV(), seed=4)  # block 2 of seed 4 has two extrinsics
    chain.write_next()
    chain.write_next()
    store = chain.store
    root = chain.trie.root_at(1) or b""
    parent = store.hash_at(1) or b""
    good = chain.block_at(2, root, parent)
    receipts = receipts_for(good.extrinsics)
    commit = Commit(2, 0, good.hash, ())
    batch = WriteBatch()

    with pytest.raises(BlockStoreError, match="expects height 2"):
        store.stage_block(chain.block_at(3, root, parent), commit, receipts, [], batch)
    with pytest.raises(BlockStoreError, match="parent hash"):
        store.stage_block(chain.block_at(2, root, bytes(32)), commit, receipts, [], batch)
    with pytest.raises(BlockStoreError, match="commit is required"):
        store.stage_block(good, None, receipts, [], batch)
    with pytest.raises(BlockStoreError, match="commit is for height 1"):
        store.stage_block(good, Commit(1, 0, good.hash, ()), receipts, [], batch)
    with pytest.raises(BlockStoreError, match="receipts"):
        store.stage_block(good, commit, [*receipts, *receipts_for((b"extra",))], [], batch)
    assert len(receipts) == 2
    wrong = dataclasses.replace(receipts[0], extrinsic_hash=bytes(32))
    with pytest.raises(BlockStoreError, match="receipt 0 is not for extrinsic 0"):
        store.stage_block(good, commit, [wrong, *receipts[1:]], [], batch)
    with pytest.raises(BlockStoreError, match="height"):
        store.hash_at(-1)
    assert len(batch) == 0  # nothing was staged by a refused block
    store.stage_block(good, commit, receipts, [], batch)
    chain.kv.write(batch, sync=True)
    assert store.height() == 2
    assert store.events_at(2) == []


def test_blocks_and_state_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "db"
    kv = LevelDBKV(path)
    chain = ToyChain(kv, seed=3)
    for _ in range(5):
        chain.write_next()
    kv.close()
    reopened = LevelDBKV(path, create=False)
    try:
        store = BlockStore(reopened)
        trie = StateTrie(reopened)
        assert store.height() == 4
        assert trie.latest_version() == 4
        header = store.header_at(4)
        assert header is not None
        assert trie.root_at(4) == header.state_root
        assert dict(trie.reader(header.state_root).iterate(b"")) == expected_state(3, 4)
    finally:
        reopened.close()
