"""The trie's node cache: it changes speed only, never a result, and stays bounded."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.kv import MemoryKV
from ledger.trie import EMPTY_ROOT, StateTrie, TrieError
from tests.ledger.trie_strategies import keys, prefixes, values


class CountingKV(MemoryKV):
    """A MemoryKV that counts the reads reaching it."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def get(self, key: bytes) -> bytes | None:
        self.gets += 1
        return super().get(key)


# One step: a block of changes (None = delete), then some reads of the new
# version and of a random older one, sometimes a warm-up of the cache.
blocks = st.dictionaries(keys, st.one_of(st.none(), values), max_size=12)
steps = st.tuples(blocks, st.lists(keys, max_size=6), st.booleans(), st.integers(0, 50))


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(steps, min_size=1, max_size=12),
    prefix=prefixes,
    cache_nodes=st.sampled_from([1, 2, 5, 9, 40]),
)
@example(  # a block that changes nothing, after the old generation took a bigger one
    steps=[
        ({}, [], False, 0),
        ({b"\x00": b"", b"\x00\x11": b"\x00", b"\x01\x00": b"\x00"}, [], False, 0),
        ({}, [], False, 0),
        ({b"\x00\x11": b""}, [], False, 0),
        ({b"\xf0": b"", b"\x10\x11\x01": b""}, [], False, 32),
        ({b"\xf0\x00": b"", b"\x01\x00\x00": b""}, [], False, 0),
        ({b"\x00\x00\x00": b"", b"\xf0\x00\x00": b"", b"\xf0\x00\x00\x00": b""}, [], False, 0),
        (
            {
                b"\x10": b"",
                b"\x11": b"\x00",
                b"\x01\xf0": b"",
                b"\x01\xf0\x00": b"\x00",
                b"\x10\x11\x00\x00": b"",
            },
            [],
            True,
            29,
        ),
        ({}, [], False, 0),
    ],
    prefix=b"\x00",
    cache_nodes=40,
)
def test_cached_and_uncached_tries_agree(
    steps: list[tuple[dict[bytes, bytes | None], list[bytes], bool, int]],
    prefix: bytes,
    cache_nodes: int,
) -> None:
    """Same roots, same reads, same iteration, same proofs, whatever the cache holds."""
    uncached = StateTrie(MemoryKV(), cache_nodes=0)
    cached = StateTrie(MemoryKV(), cache_nodes=cache_nodes)
    roots = [EMPTY_ROOT]
    biggest = 0  # the most changes of any block so far
    for version, (changes, reads, warm, pick) in enumerate(steps):
        biggest = max(biggest, len(changes))
        root = uncached.commit(roots[-1], changes, version)
        assert cached.commit(roots[-1], changes, version) == root
        roots.append(root)
        if warm:
            cached.warm(root, pick)
        old = roots[pick % len(roots)]
        for at in (root, old):
            plain, fast = uncached.reader(at), cached.reader(at)
            for key in reads:
                assert fast.get(key) == plain.get(key)
            assert list(fast.iterate(prefix)) == list(plain.iterate(prefix))
            assert fast.proof_nodes(reads) == plain.proof_nodes(reads)
        # Each generation turns when full, so the older one can still hold the new
        # nodes of the block that filled it, an earlier block than this one.
        assert cached.cached_nodes() <= cache_nodes + cache_nodes // 4 + 3 * biggest * 8


def random_items(count: int, seed: int) -> dict[bytes, bytes]:
    rng = random.Random(seed)
    return {rng.randbytes(32): rng.randbytes(8) for _ in range(count)}


def test_the_cache_stays_within_its_bound() -> None:
    """About ``cache_nodes`` inner nodes and a quarter as many leaves, plus one block."""
    trie = StateTrie(MemoryKV(), cache_nodes=400)
    items = random_items(5000, 1)
    root = trie.commit(EMPTY_ROOT, items, 0)
    # A bulk load (a genesis) keeps only nodes near the root, not the whole trie.
    assert trie.cached_nodes() <= 400 + 100
    rng = random.Random(2)
    keys_ = list(items)
    for version in range(1, 40):
        changes = {rng.choice(keys_): rng.randbytes(8) for _ in range(10)}
        root = trie.commit(root, changes, version)
        reader = trie.reader(root)
        for key in rng.sample(keys_, 200):
            assert reader.get(key) is not None
        # Ten changed keys write at most ten paths of a depth-4 trie.
        assert trie.cached_nodes() <= 400 + 100 + 10 * 8


def test_leaves_do_not_push_inner_nodes_out() -> None:
    """Cold reads all over the state cost one store read each (the leaf), not one per level."""
    kv = CountingKV()
    items = random_items(20_000, 3)
    root = StateTrie(kv).commit(EMPTY_ROOT, items, 0)
    # Room for every inner node (~7 500 here) but only 5 000 of the 20 000 leaves.
    trie = StateTrie(kv, cache_nodes=20_000)
    reader = trie.reader(root)
    for key in items:
        assert reader.get(key) == items[key]
    kv.gets = 0
    for key in items:
        assert reader.get(key) == items[key]
    # In one shared cache the leaves read since would have pushed the inner nodes out.
    assert 15_000 <= kv.gets <= len(items)


def test_warm_loads_the_nodes_nearest_the_root_within_its_budget() -> None:
    kv = CountingKV()
    items = random_items(3000, 4)
    root = StateTrie(kv).commit(EMPTY_ROOT, items, 0)
    trie = StateTrie(kv, cache_nodes=100)
    kv.gets = 0
    assert trie.warm(root, 17) == 17
    assert kv.gets == 17
    assert trie.cached_nodes() == 17
    kv.gets = 0
    trie.reader(root).get(next(iter(items)))
    assert kv.gets < 4  # root and the first levels came from the cache
    # The default budget (and the most) is the inner cache's young generation.
    assert StateTrie(kv, cache_nodes=100).warm(root) == 49
    assert StateTrie(kv, cache_nodes=100).warm(root, 10**9) == 49
    assert StateTrie(kv, cache_nodes=0).warm(root) == 0
    assert StateTrie(kv).warm(EMPTY_ROOT) == 0
    # A small trie is loaded whole.
    small = StateTrie(MemoryKV())
    small_root = small.commit(EMPTY_ROOT, {b"a": b"1", b"b": b"2", b"bc": b"3"}, 0)
    assert StateTrie(small.kv).warm(small_root) == small.cached_nodes()


def test_bad_cache_settings_are_refused() -> None:
    with pytest.raises(TrieError, match="cache_nodes must be an integer >= 0, got -1"):
        StateTrie(MemoryKV(), cache_nodes=-1)
    with pytest.raises(TrieError, match="cache_nodes must be an integer >= 0, got True"):
        StateTrie(MemoryKV(), cache_nodes=True)
    trie = StateTrie(MemoryKV())
    with pytest.raises(TrieError, match="budget must be an integer >= 0, got -2"):
        trie.warm(EMPTY_ROOT, -2)
    with pytest.raises(TrieError, match="32 bytes"):
        trie.warm(b"short")
