"""The state trie against a dict model, on MemoryKV and LevelDBKV."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ledger import codec
from ledger.crypto import blake2b256
from ledger.kv import KVStore, LevelDBKV, MemoryKV, WriteBatch
from ledger.overlay import StateOverlay
from ledger.trie import EMPTY_ROOT, MAX_KEY_LEN, MAX_VALUE_LEN, StateTrie, TrieError
from tests.ledger.trie_strategies import keys, prefixes, root_of, states, values


class TrieMachine(RuleBasedStateMachine):
    """Writes, deletes, commits and reads of old versions, beside a dict model."""

    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.tmp: str | None = None
        if self.backend == "leveldb":
            self.tmp = tempfile.mkdtemp(prefix="trie-machine-")
            self.kv: KVStore = LevelDBKV(Path(self.tmp) / "db")
        else:
            self.kv = MemoryKV()
        # A tiny cache so that reads really go to the store.
        self.trie = StateTrie(self.kv, cache_nodes=8)
        self.model: dict[bytes, bytes] = {}
        self.pending: dict[bytes, bytes | None] = {}
        self.root = EMPTY_ROOT
        self.version = -1
        self.snapshots: dict[int, tuple[bytes, dict[bytes, bytes]]] = {}

    @initialize(items=states)
    def genesis(self, items: dict[bytes, bytes]) -> None:
        self.pending = dict(items)
        self.commit()

    @rule(key=keys, value=values)
    def write(self, key: bytes, value: bytes) -> None:
        self.pending[key] = value

    @rule(key=keys)
    def delete(self, key: bytes) -> None:
        self.pending[key] = None

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def delete_present(self, data: st.DataObject) -> None:
        self.pending[data.draw(st.sampled_from(sorted(self.model)))] = None

    @rule()
    def commit(self) -> None:
        self.version += 1
        self.root = self.trie.commit(self.root, self.pending, self.version)
        for key, value in self.pending.items():
            if value is None:
                self.model.pop(key, None)
            else:
                self.model[key] = value
        self.pending = {}
        self.snapshots[self.version] = (self.root, dict(self.model))
        assert self.trie.latest_version() == self.version
        assert self.trie.root_at(self.version) == self.root
        # One shape per key set: the root equals a fresh build of the model.
        assert self.root == root_of(self.model)

    @precondition(lambda self: len(self.snapshots) > 0)
    @rule(data=st.data())
    def read_old_version(self, data: st.DataObject) -> None:
        version = data.draw(st.sampled_from(sorted(self.snapshots)))
        root, items = self.snapshots[version]
        assert self.trie.root_at(version) == root
        reader = self.trie.reader(root)
        assert list(reader.iterate(b"")) == sorted(items.items())
        for key in data.draw(st.lists(keys, max_size=5)):
            assert reader.get(key) == items.get(key)

    @precondition(lambda self: len(self.snapshots) > 1)
    @rule(keep=st.integers(1, 3))
    def prune(self, keep: int) -> None:
        self.trie.prune(keep)
        for version in sorted(self.snapshots)[:-keep]:
            del self.snapshots[version]
            assert self.trie.root_at(version) is None

    @invariant()
    def latest_reads_match_the_model(self) -> None:
        reader = self.trie.reader(self.root)
        for key, value in self.model.items():
            assert reader.get(key) == value

    @rule(prefix=prefixes)
    def iterate_prefix(self, prefix: bytes) -> None:
        expected = sorted((k, v) for k, v in self.model.items() if k.startswith(prefix))
        assert list(self.trie.reader(self.root).iterate(prefix)) == expected

    def teardown(self) -> None:
        self.kv.close()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


class LevelDBTrieMachine(TrieMachine):
    backend = "leveldb"


MACHINE_SETTINGS = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestTrieOnMemoryKV = TrieMachine.TestCase
TestTrieOnMemoryKV.settings = MACHINE_SETTINGS
TestTrieOnLevelDBKV = LevelDBTrieMachine.TestCase
TestTrieOnLevelDBKV.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)


# ------------------------------------------------------------------ examples


@settings(max_examples=150, deadline=None)
@given(items=states, seed=st.integers(0, 2**32))
def test_root_does_not_depend_on_write_order(items: dict[bytes, bytes], seed: int) -> None:
    """Any order, any split into blocks, any detour through other keys: one root."""
    rng = random.Random(seed)
    order = list(items.items())
    rng.shuffle(order)
    trie = StateTrie(MemoryKV())
    root = EMPTY_ROOT
    version = 0
    position = 0
    while position < len(order):
        size = rng.randint(1, 4)
        block: dict[bytes, bytes | None] = dict(order[position : position + size])
        # Write a junk key in the block and delete it in the next.
        junk = b"\xaa" + bytes([version % 256])
        block[junk] = b"junk"
        root = trie.commit(root, block, version)
        root = trie.commit(root, {junk: None}, version + 1)
        version += 2
        position += size
    assert root == root_of(items)
    assert list(trie.reader(root).iterate(b"")) == sorted(items.items())


def test_empty_trie() -> None:
    trie = StateTrie(MemoryKV())
    assert trie.latest_version() is None
    assert trie.root_at(0) is None
    reader = trie.reader(EMPTY_ROOT)
    assert reader.get(b"anything") is None
    assert list(reader.iterate(b"")) == []
    assert trie.commit(EMPTY_ROOT, {}, 0) == EMPTY_ROOT
    assert trie.commit(EMPTY_ROOT, {b"x": None}, 1) == EMPTY_ROOT
    root = trie.commit(EMPTY_ROOT, {b"x": b"1"}, 2)
    assert trie.commit(root, {b"x": None}, 3) == EMPTY_ROOT
    assert trie.root_at(3) == EMPTY_ROOT
    assert trie.latest_version() == 3


def test_prefix_keys_and_empty_key() -> None:
    items = {b"": b"root", b"a": b"1", b"ab": b"2", b"abc": b"3", b"abd": b"", b"b": b"4"}
    trie = StateTrie(MemoryKV())
    root = trie.commit(EMPTY_ROOT, items, 0)
    reader = trie.reader(root)
    for key, value in items.items():
        assert reader.get(key) == value
    assert reader.get(b"abcd") is None
    assert reader.get(b"c") is None
    assert list(reader.iterate(b"ab")) == [(b"ab", b"2"), (b"abc", b"3"), (b"abd", b"")]
    assert list(reader.iterate(b"")) == sorted(items.items())
    # Removing the middle of a chain of prefix keys collapses back to the same shape.
    smaller = trie.commit(root, {b"ab": None, b"": None}, 1)
    del items[b"ab"], items[b""]
    assert smaller == root_of(items)


def test_overlay_runs_on_a_trie_reader() -> None:
    trie = StateTrie(MemoryKV())
    root = trie.commit(EMPTY_ROOT, {b"bal/a": b"10", b"bal/b": b"20", b"x": b"1"}, 0)
    overlay = StateOverlay(trie.reader(root))
    overlay.put(b"bal/c", b"30")
    overlay.delete(b"bal/a")
    assert list(overlay.iterate(b"bal/")) == [(b"bal/b", b"20"), (b"bal/c", b"30")]
    new_root = trie.commit(root, overlay.changes(), 1)
    assert list(trie.reader(new_root).iterate(b"bal/")) == [(b"bal/b", b"20"), (b"bal/c", b"30")]
    assert trie.reader(root).get(b"bal/a") == b"10"  # the old version is intact


def test_deepest_keys_stay_within_the_recursion_limit() -> None:
    """Keys that branch at every nibble down to MAX_KEY_LEN: the deepest trie."""
    items: dict[bytes, bytes] = {}
    for length in range(1, MAX_KEY_LEN + 1):
        stem = b"\x00" * (length - 1)
        items[stem + b"\x10"] = b"hi"  # differs from the stem in the high nibble
        items[stem + b"\x01"] = b"lo"  # ... and in the low nibble
    trie = StateTrie(MemoryKV())
    root = trie.commit(EMPTY_ROOT, items, 0)
    reader = trie.reader(root)
    deepest = b"\x00" * (MAX_KEY_LEN - 1) + b"\x01"
    assert reader.get(deepest) == b"lo"
    assert sum(1 for _ in reader.iterate(b"")) == len(items)
    emptied = trie.commit(root, dict.fromkeys(items), 1)
    assert emptied == EMPTY_ROOT


def test_stage_writes_nothing_until_added_to_a_batch() -> None:
    kv = MemoryKV()
    trie = StateTrie(kv)
    staged = trie.stage(EMPTY_ROOT, {b"k": b"v", b"k2": b"v2"}, 5)
    assert kv.data == {}
    assert staged.version == 5
    assert all(key.startswith(b"t/n") for key in staged.node_writes)
    batch = WriteBatch()
    trie.add_to_batch(staged, batch)
    batch.put(b"other/thing", b"1")
    kv.write(batch, sync=True)
    assert trie.root_at(5) == staged.root
    assert trie.latest_version() == 5
    assert trie.reader(staged.root).get(b"k2") == b"v2"


def test_each_changed_node_is_written_once() -> None:
    trie = StateTrie(MemoryKV())
    rng = random.Random(3)
    items = {rng.randbytes(32): rng.randbytes(8) for _ in range(2000)}
    root = trie.commit(EMPTY_ROOT, items, 0)
    changes = {key: b"new" for key in list(items)[:300]}
    staged = trie.stage(root, changes, 1)
    # Every written node is reachable from the new root (no orphans), so each
    # changed node was hashed and written exactly once.
    kv = MemoryKV()
    fresh = StateTrie(kv)
    fresh_root = fresh.commit(EMPTY_ROOT, {**items, **changes}, 0)
    assert fresh_root == staged.root
    assert set(staged.node_writes) <= set(kv.data)


def test_bad_input_is_refused_with_a_clear_error() -> None:
    trie = StateTrie(MemoryKV())
    root = trie.commit(EMPTY_ROOT, {b"a": b"1"}, 3)
    with pytest.raises(TrieError, match="not above the latest version 3"):
        trie.stage(root, {b"a": b"2"}, 3)
    with pytest.raises(TrieError, match="unknown trie root"):
        trie.stage(b"\x01" * 32, {b"a": b"2"}, 4)
    with pytest.raises(TrieError, match="32 bytes"):
        trie.stage(b"short", {}, 4)
    with pytest.raises(TrieError, match="exceeds the limit"):
        trie.stage(root, {b"k" * (MAX_KEY_LEN + 1): b"v"}, 4)
    with pytest.raises(TrieError, match="exceeds the limit"):
        trie.stage(root, {b"k": b"v" * (MAX_VALUE_LEN + 1)}, 4)
    with pytest.raises(TrieError, match="is str"):
        trie.stage(root, {b"k": "text"}, 4)  # type: ignore[dict-item]
    with pytest.raises(TrieError, match="state key is bytes"):
        trie.stage(root, {"k": b"v"}, 4)  # type: ignore[dict-item]
    with pytest.raises(TrieError, match="version"):
        trie.stage(root, {}, -1)
    with pytest.raises(TrieError, match="keep_versions"):
        trie.prune(0)
    with pytest.raises(TrieError, match="not a single key"):
        trie.prove(root, b"a")  # type: ignore[arg-type]
    assert trie.latest_version() == 3  # nothing above was written


def test_prune_keeps_every_kept_version_readable() -> None:
    trie = StateTrie(MemoryKV(), cache_nodes=0)
    rng = random.Random(11)
    population = [rng.randbytes(4) for _ in range(300)]
    root = EMPTY_ROOT
    history: dict[int, tuple[bytes, dict[bytes, bytes]]] = {}
    model: dict[bytes, bytes] = {}
    for version in range(30):
        changes: dict[bytes, bytes | None] = {}
        for key in rng.sample(population, 40):
            # Values cycle through few choices, so old nodes come back to life.
            changes[key] = None if rng.random() < 0.2 else bytes([rng.randrange(3)])
        root = trie.commit(root, changes, version)
        for key, value in changes.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
        history[version] = (root, dict(model))
    before = len(list(trie.kv.iterate(b"t/n")))
    removed = trie.prune(5)
    assert removed > 0
    assert len(list(trie.kv.iterate(b"t/n"))) == before - removed
    assert [v for v, _ in trie.versions()] == list(range(25, 30))
    for version in range(25, 30):
        old_root, items = history[version]
        assert list(trie.reader(old_root).iterate(b"")) == sorted(items.items())
    assert trie.prune(5) == 0  # nothing more to drop
    # The pruned store keeps working: commit on the latest root.
    root = trie.commit(root, {b"new": b"1"}, 30)
    assert trie.reader(root).get(b"new") == b"1"


def test_root_matches_the_documented_encoding() -> None:
    """docs/protocol/trie.md §3, rebuilt from the written rules with the codec alone."""

    def node_hash(node: object) -> bytes:
        return blake2b256(codec.encode(node))

    assert blake2b256(b"\xc0") == EMPTY_ROOT
    leaf_a = node_hash([0, b"\x00", b"a"])
    leaf_b = node_hash([0, b"\x00", b"b"])
    lower = node_hash([2, 1 << 4 | 1 << 5, leaf_a + leaf_b, None])
    upper = node_hash([2, 1 << 3, lower, b"c"])
    expected = node_hash([1, b"\x00\x12", upper])
    items = {b"\x12": b"c", b"\x12\x34": b"a", b"\x12\x35": b"b"}
    assert root_of(items) == expected
    # An odd path: keys 0xab and 0xac share the nibble "a", then a branch.
    leaf_v = node_hash([0, b"\x00", b"v"])
    odd = node_hash([1, b"\x1a", node_hash([2, 1 << 0xB | 1 << 0xC, leaf_v + leaf_v, None])])
    assert root_of({b"\xab": b"v", b"\xac": b"v"}) == odd
