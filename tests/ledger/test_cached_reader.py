"""``CachedReader`` (issue 23): a remembered head state that answers as the trie does.

A validator keeps one ``CachedReader`` for the head and hands it on with
``advanced`` after each block, with that block's net writes. These tests
commit random change sets to a real ``StateTrie`` over ``MemoryKV`` and demand
that the advanced reader, and every reader it was advanced from, answer each
key exactly as ``trie.reader(root)`` does, for keys present, deleted and
never written, while the memory stays within its capacity plus one block's
writes. Capacities of 2, 3 and 10 make the generations turn over all the time.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ledger.kv import MemoryKV
from ledger.overlay import CachedReader
from ledger.trie import EMPTY_ROOT, StateTrie
from tests.ledger.trie_strategies import keys, prefixes, states, values

NEVER_WRITTEN = st.lists(st.sampled_from([0x77, 0x07, 0x70]), min_size=1, max_size=3).map(bytes)
CHANGES = st.dictionaries(keys, st.none() | values, max_size=6)


class CachedReaderMachine(RuleBasedStateMachine):
    """Blocks of writes and deletes committed to a trie, the head reader advanced with each."""

    def __init__(self) -> None:
        super().__init__()
        self.kv = MemoryKV()
        self.trie = StateTrie(self.kv, cache_nodes=8)  # small: reads really reach the store
        self.version = 0
        self.model: dict[bytes, bytes] = {}
        self.root = EMPTY_ROOT
        self.head = CachedReader(self.trie.reader(EMPTY_ROOT), EMPTY_ROOT, 2)
        self.largest_block = 0  # the memory may hold up to one block's writes over capacity
        # readers the head was advanced from, with the state each must still answer
        self.previous: list[tuple[CachedReader, dict[bytes, bytes]]] = []

    @initialize(items=states, capacity=st.sampled_from([2, 3, 10]))
    def genesis(self, items: dict[bytes, bytes], capacity: int) -> None:
        self.root = self.trie.commit(EMPTY_ROOT, dict(items), self.version)
        self.model = dict(items)
        self.head = CachedReader(self.trie.reader(self.root), self.root, capacity)

    def _all_keys(self) -> list[bytes]:
        return sorted(self.model)

    @rule(changes=CHANGES, data=st.data())
    def commit_block(self, changes: dict[bytes, bytes | None], data: st.DataObject) -> None:
        if self.model and data.draw(st.booleans()):  # delete keys that are there
            for key in data.draw(st.lists(st.sampled_from(self._all_keys()), max_size=3)):
                changes[key] = None
        self.version += 1
        new_root = self.trie.commit(self.root, changes, self.version)
        before = self.head
        self.head = before.advanced(self.trie.reader(new_root), new_root, changes)
        self.previous = [*self.previous[-3:], (before, dict(self.model))]
        for key, value in changes.items():
            if value is None:
                self.model.pop(key, None)
            else:
                self.model[key] = value
        self.root = new_root
        self.largest_block = max(self.largest_block, len(changes))
        assert self.head.root == new_root
        assert self.head.capacity == before.capacity
        assert len(before) == 0  # the old version's reader keeps no memory
        assert len(self.head) <= self.head.capacity + self.largest_block

    @rule(extra=st.lists(keys | NEVER_WRITTEN, max_size=6), data=st.data())
    def read_head(self, extra: list[bytes], data: st.DataObject) -> None:
        present = self._all_keys()
        chosen = data.draw(st.lists(st.sampled_from(present), max_size=6)) if present else []
        plain = self.trie.reader(self.root)
        for key in [*chosen, *extra, *chosen]:  # twice: the second read is remembered
            assert self.head.get(key) == plain.get(key) == self.model.get(key)
            assert len(self.head) <= self.head.capacity + self.largest_block

    @precondition(lambda self: bool(self.previous))
    @rule(data=st.data(), extra=st.lists(keys | NEVER_WRITTEN, max_size=4))
    def read_an_older_reader(self, data: st.DataObject, extra: list[bytes]) -> None:
        reader, state = data.draw(st.sampled_from(self.previous))
        chosen = data.draw(st.lists(st.sampled_from(sorted(state)), max_size=4)) if state else []
        plain = self.trie.reader(reader.root)
        for key in [*chosen, *extra, *chosen]:
            assert reader.get(key) == plain.get(key) == state.get(key)
        assert len(reader) <= reader.capacity

    @rule(prefix=prefixes)
    def iterate_delegates(self, prefix: bytes) -> None:
        expected = sorted((k, v) for k, v in self.model.items() if k.startswith(prefix))
        assert list(self.head.iterate(prefix)) == expected
        assert list(self.trie.reader(self.root).iterate(prefix)) == expected

    @invariant()
    def every_key_answers_as_the_trie(self) -> None:
        plain = self.trie.reader(self.root)
        for key in [*self._all_keys(), b"\x77"]:
            assert self.head.get(key) == plain.get(key) == self.model.get(key)

    def teardown(self) -> None:
        self.kv.close()


TestCachedReader = CachedReaderMachine.TestCase
TestCachedReader.settings = settings(max_examples=250, stateful_step_count=30, deadline=None)


@pytest.mark.parametrize("capacity", [2, 3, 10])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_hundred_blocks_of_hot_keys(capacity: int, seed: int) -> None:
    """A long chain where the same few keys are written and read block after block."""
    rng = random.Random(seed)
    hot = [bytes([a, b]) for a in (0x00, 0x10, 0xF0) for b in (0x00, 0x01, 0xFF)]
    cold = [bytes([0x55, n]) for n in range(30)]
    trie = StateTrie(MemoryKV(), cache_nodes=8)
    model = {key: b"v0" for key in hot[:4]}
    root = trie.commit(EMPTY_ROOT, dict(model), 0)
    head = CachedReader(trie.reader(root), root, capacity)
    history: list[tuple[CachedReader, bytes, dict[bytes, bytes]]] = []
    largest_block = 0
    for height in range(1, 201):
        for key in rng.sample(hot + cold, 8):  # the pool and the block read before the commit
            assert head.get(key) == model.get(key)
        changes: dict[bytes, bytes | None] = {}
        for key in rng.sample(hot, rng.randint(0, 5)) + rng.sample(cold, rng.randint(0, 2)):
            changes[key] = None if rng.random() < 0.3 else b"v%d" % height
        root = trie.commit(root, changes, height)
        history.append((head, head.root, dict(model)))
        head = head.advanced(trie.reader(root), root, changes)
        for key, value in changes.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
        largest_block = max(largest_block, len(changes))
        assert len(head) <= capacity + largest_block
        plain = trie.reader(root)
        for key in hot + cold:
            assert head.get(key) == plain.get(key) == model.get(key)
        old, old_root, old_model = history[rng.randrange(len(history))]
        older = trie.reader(old_root)
        for key in rng.sample(hot + cold, 6):
            assert old.get(key) == older.get(key) == old_model.get(key)
    assert list(head.iterate(b"")) == sorted(model.items())


def test_a_capacity_below_two_is_refused() -> None:
    trie = StateTrie(MemoryKV())
    with pytest.raises(ValueError, match="capacity must be at least 2"):
        CachedReader(trie.reader(EMPTY_ROOT), EMPTY_ROOT, 1)


def test_the_memory_holds_absent_keys_and_stays_within_capacity() -> None:
    trie = StateTrie(MemoryKV())
    root = trie.commit(EMPTY_ROOT, {b"\x01": b"one"}, 0)
    reader = CachedReader(trie.reader(root), root, 10)
    assert reader.get(b"\x02") is None
    assert reader.get(b"\x01") == b"one"
    assert len(reader) == 2  # the absent key is remembered as absent
    for n in range(100):
        assert reader.get(bytes([0x40, n])) is None
        assert len(reader) <= 10
    assert reader.get(b"\x01") == b"one"
