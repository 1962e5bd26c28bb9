"""The Merkle state trie: versioned, content-addressed, one hash pass per block.

Theory of operation
-------------------
Nodes (``ledger.trie_nodes``) live in a ``KVStore`` under ``prefix + b"n" +
hash``. A node is never modified or overwritten with other content, so every
root ever committed stays readable: a version is just a root, recorded under
``prefix + b"v" + u64be(version)``; ``prefix + b"l"`` holds the latest version.

Applying a block (``stage``) works on the whole sorted set of changes at
once. ``apply_node(node, offset, items)`` receives a subtree and the changes
whose keys lead into it (all sharing the first ``offset`` nibbles) and
returns the new subtree:

* subtrees no change reaches keep their hash and are never loaded;
* a branch whose items all go below one child (most branches of a block)
  recurses into that child and splices its new hash into the children bytes;
  otherwise it splits its items by the next nibble and recurses once per slot;
* an extension whose path all items follow recurses below it; otherwise it is
  treated as a one-child branch, so the split happens in the branch code;
* a leaf is merged with the items and the small subtree is rebuilt fresh.

A branch is hashed as soon as its slots are final, children first, so each
changed node is encoded and hashed exactly once per block. New leaves and
extensions stay unhashed lists until their parent is final, because a branch
that loses all but one entry (a delete) merges into its last child's path;
normalizing each branch on the way up (no entry -> gone; a value only ->
leaf; one child and no value -> merged into the child) gives the trie one
shape per key set, so the root does not depend on the order of writes. The
result is ``{kv key: encoded node}``; nothing is written until
``add_to_batch``, so the caller puts the block, its receipts and its trie
nodes in one atomic, synced batch.

Decoded nodes are kept in a bounded cache (``NodeSource``; inner nodes and
leaves apart, ``warm`` fills it after opening a store). Recursion is one
frame per trie level, and keys are at most ``MAX_KEY_LEN`` bytes (512
nibbles), which keeps the deepest possible trie inside Python's recursion
limit (``test_deepest_keys_stay_within_the_recursion_limit``).

Pruning (off unless called) is mark and sweep: mark every node reachable from
the kept roots, delete the others. Content addressing means a node can be
shared by many versions, or come back after it was orphaned, so a per-version
"stale node" list would not be safe; marking is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any, Final

from ledger.kv import KVStore, WriteBatch
from ledger.trie_nodes import (
    BRANCH,
    EMPTY_ROOT,
    EXTENSION,
    LEAF,
    MAX_KEY_LEN,
    MAX_VALUE_LEN,
    MissingNodeError,
    Node,
    NodeSource,
    TrieError,
    TrieReader,
    check_key,
    children_of,
    key_to_nibbles,
    pack_path,
    pack_slots,
    slots_of,
)
from ledger.trie_nodes import PACK as _PACK

__all__ = [
    "EMPTY_ROOT",
    "MAX_KEY_LEN",
    "MAX_VALUE_LEN",
    "MissingNodeError",
    "StagedCommit",
    "StateTrie",
    "TrieError",
    "TrieReader",
]

DEFAULT_CACHE_NODES: Final = 200_000
_U64: Final = 1 << 64

# A reference to a subtree while staging: a stored hash, a new node (list) or None.
Ref = Any


@dataclass(frozen=True, slots=True)
class StagedCommit:
    """The outcome of ``stage``: the new root and the node writes, nothing written yet."""

    root: bytes
    version: int
    node_writes: dict[bytes, bytes]
    # The new nodes decoded, to warm the cache once the commit is written.
    new_nodes: dict[bytes, Node] = field(default_factory=dict, repr=False)
    # Nodes of the old root this commit replaces: dropped from the cache.
    replaced: list[bytes] = field(default_factory=list, repr=False)


def _check_root(root: object) -> bytes:
    if not isinstance(root, bytes) or len(root) != 32:
        raise TrieError("a trie root is 32 bytes")
    return root


def _version_bytes(version: int) -> bytes:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < _U64:
        raise TrieError(f"version {version!r} is not an integer in [0, 2**64)")
    return version.to_bytes(8, "big")


class _Stager:
    """Builds the new subtree for one block of sorted changes, hashing each new node once.

    New leaves and extensions stay unhashed lists ``[kind, path, value|child,
    packed_path|None]`` until their parent branch is final, because a branch
    that loses all but one entry merges into that child's path. A branch is
    final (its new children hashed, then itself) as soon as its slots are.
    """

    def __init__(self, source: NodeSource) -> None:
        self.source = source
        self.node_prefix = source.node_prefix
        self.writes: dict[bytes, bytes] = {}
        self.new_nodes: dict[bytes, Node] = {}
        self.replaced: list[bytes] = []

    def load(self, ref: bytes) -> Node:
        return self.new_nodes.get(ref) or self.source.load(ref)

    def apply(self, ref: Ref, offset: int, items: list[tuple[bytes, bytes | None]]) -> Ref:
        """The subtree at ``ref`` with ``items`` (sorted, sharing ``offset`` nibbles) applied."""
        if ref is None:
            return self.build(offset, [item for item in items if item[1] is not None])
        if type(ref) is bytes:
            self.replaced.append(ref)
            return self.apply_node(self.source.peek(ref), offset, items)
        return self.apply_node(ref, offset, items)

    def apply_node(self, node: Node, offset: int, items: list[tuple[bytes, bytes | None]]) -> Ref:
        # One Python frame per trie level, whatever the path: depth stays
        # within the recursion limit for keys of MAX_KEY_LEN.
        kind = node[0]
        first = items[0][0]
        if kind == LEAF:
            if len(items) == 1 and first[offset:] == node[1]:
                value = items[0][1]  # a new value for this leaf's own key
                return None if value is None else [LEAF, node[1], value, node[3]]
            merged: dict[bytes, bytes | None] = {first[:offset] + node[1]: node[2]}
            merged.update(items)
            live = sorted(item for item in merged.items() if item[1] is not None)
            return self.build(offset, live)
        last = items[-1][0]
        if kind == EXTENSION:
            path = node[1]
            end = offset + len(path)
            # Sorted items: if the first and the last follow the path, all do.
            if first[offset:end] == path and last[offset:end] == path:
                return self.prefixed(path, self.apply(node[2], end, items), node[3])
            # Some item leaves the path here: split through a one-child branch.
            rest = path[1:]
            slots: list[Ref] = [None] * 16
            slots[path[0]] = [EXTENSION, rest, node[2], None] if rest else node[2]
            touched = [path[0]]
            value = None
        elif len(first) > offset and first[offset] == last[offset]:
            # Every item goes below one slot (most branches of a block):
            # rewrite that one hash inside the children bytes.
            nibble = first[offset]
            bitmap, blob, value = node[1], node[2], node[3]
            bit = 1 << nibble
            start = (bitmap & (bit - 1)).bit_count() * 32
            if bitmap & bit:
                child = blob[start : start + 32]
                self.replaced.append(child)
                new = self.apply_node(self.source.peek(child), offset + 1, items)
                if new is not None:
                    # The child stays, so this branch keeps its shape: seal now.
                    new_hash = new if type(new) is bytes else self.seal(new)
                    return self.branch(bitmap, blob[:start] + new_hash + blob[start + 32 :], value)
                slots = slots_of(node)
                slots[nibble] = None
                touched = []
            else:
                new = self.build(offset + 1, [item for item in items if item[1] is not None])
                if new is None:  # only deletes of absent keys
                    return self.branch(bitmap, blob, value)
                new_hash = new if type(new) is bytes else self.seal(new)
                return self.branch(bitmap | bit, blob[:start] + new_hash + blob[start:], value)
            items = []
        else:
            slots = slots_of(node)
            touched = []
            value = node[3]
        # The general case: the item ending here (it sorts first) sets the
        # value slot, the others go to the slot of their next nibble.
        start = 0
        count = len(items)
        if count and len(items[0][0]) == offset:
            value = items[0][1]
            start = 1
        below = offset + 1
        peek = self.source.peek
        replaced = self.replaced
        while start < count:
            nibble = items[start][0][offset]
            stop = start + 1
            while stop < count and items[stop][0][offset] == nibble:
                stop += 1
            group = items[start:stop]
            slot = slots[nibble]
            if slot is None:
                slots[nibble] = self.build(below, [item for item in group if item[1] is not None])
            elif type(slot) is bytes:
                replaced.append(slot)
                slots[nibble] = self.apply_node(peek(slot), below, group)
            else:
                slots[nibble] = self.apply_node(slot, below, group)
            touched.append(nibble)
            start = stop
        present = 16 - slots.count(None)
        if present == 0:
            return None if value is None else [LEAF, b"", value, None]
        if present == 1 and value is None:
            for nibble, slot in enumerate(slots):
                if slot is not None:
                    return self.prefixed(bytes((nibble,)), slot, None)
        for nibble in touched:
            slot = slots[nibble]
            if slot is not None and type(slot) is not bytes:
                slots[nibble] = self.seal(slot)
        return self.branch(*pack_slots(slots), value)

    def build(self, offset: int, live: list[tuple[bytes, bytes | None]]) -> Ref:
        """A fresh canonical subtree holding ``live`` (sorted, no deletes)."""
        if not live:
            return None
        first = live[0][0]
        if len(live) == 1:
            return [LEAF, first[offset:], live[0][1], None]
        last = live[-1][0]
        split = offset
        limit = min(len(first), len(last))
        while split < limit and first[split] == last[split]:
            split += 1
        value = None
        start = 0
        count = len(live)
        if len(first) == split:
            value = live[0][1]
            start = 1
        bitmap = 0
        hashes = []
        while start < count:
            nibble = live[start][0][split]
            stop = start + 1
            while stop < count and live[stop][0][split] == nibble:
                stop += 1
            child = self.build(split + 1, live[start:stop])
            hashes.append(child if type(child) is bytes else self.seal(child))
            bitmap |= 1 << nibble
            start = stop
        branch = self.branch(bitmap, b"".join(hashes), value)
        return [EXTENSION, first[offset:split], branch, None] if split > offset else branch

    def prefixed(self, path: bytes, ref: Ref, packed: bytes | None) -> Ref:
        """``path`` (packed as ``packed`` if known) above the subtree ``ref``, as one node."""
        if ref is None:
            return None
        node = self.load(ref) if type(ref) is bytes else ref
        if node[0] == BRANCH:
            return [EXTENSION, path, ref, packed]
        return [node[0], path + node[1], node[2], None]

    def seal(self, node: list[Any]) -> bytes:
        """Hash a new leaf or extension (whose child is already a hash)."""
        kind, path, second, packed = node
        if packed is None:
            packed = pack_path(path)
        encoded = _PACK([kind, packed, second])
        node_hash = blake2b(encoded, digest_size=32).digest()
        self.writes[self.node_prefix + node_hash] = encoded
        self.new_nodes[node_hash] = (kind, path, second, packed)
        return node_hash

    def branch(self, bitmap: int, children: bytes, value: bytes | None) -> bytes:
        """Hash a new branch."""
        encoded = _PACK([BRANCH, bitmap, children, value])
        node_hash = blake2b(encoded, digest_size=32).digest()
        self.writes[self.node_prefix + node_hash] = encoded
        self.new_nodes[node_hash] = (BRANCH, bitmap, children, value)
        return node_hash

    def root_of(self, ref: Ref) -> bytes:
        if ref is None:
            return EMPTY_ROOT
        return ref if type(ref) is bytes else self.seal(ref)


class StateTrie:
    """Versioned Merkle state over a ``KVStore`` (see the module docstring)."""

    def __init__(
        self,
        kv: KVStore,
        prefix: bytes = b"t/",
        *,
        cache_nodes: int = DEFAULT_CACHE_NODES,
    ) -> None:
        if not isinstance(prefix, bytes):
            raise TrieError("the trie key prefix is bytes")
        if isinstance(cache_nodes, bool) or not isinstance(cache_nodes, int) or cache_nodes < 0:
            raise TrieError(f"cache_nodes must be an integer >= 0, got {cache_nodes!r}")
        self.kv = kv
        self.prefix = prefix
        self._version_prefix = prefix + b"v"
        self._latest_key = prefix + b"l"
        self._source = NodeSource(kv, prefix + b"n", cache_nodes)

    # ---------------------------------------------------------------- reading

    def reader(self, root: bytes) -> TrieReader:
        return TrieReader(self._source, _check_root(root))

    def has_root(self, root: bytes) -> bool:
        """True when ``root`` is the empty root or its node is in the store."""
        if _check_root(root) == EMPTY_ROOT:
            return True
        try:
            self._source.load(root)
        except MissingNodeError:
            return False
        return True

    def warm(self, root: bytes, budget: int | None = None) -> int:
        """Load the nodes nearest ``root`` into the node cache, level by level.

        For a node opening an existing store (cold caches): up to ``budget``
        nodes (default and most: half the node cache; 99 999 nodes of a
        1 000 000-account store on LevelDB took 0.64-0.72 s in
        scripts/bench_runtime.py). Returns the number loaded. Changes no
        result, only speed.
        """
        _check_root(root)
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int) or budget < 0
        ):
            raise TrieError(f"the warm-up budget must be an integer >= 0, got {budget!r}")
        return self._source.warm(root, self._source.half if budget is None else budget)

    def cached_nodes(self) -> int:
        """Decoded nodes held in the node cache now."""
        return len(self._source)

    def root_at(self, version: int) -> bytes | None:
        return self.kv.get(self._version_prefix + _version_bytes(version))

    def latest_version(self) -> int | None:
        raw = self.kv.get(self._latest_key)
        return None if raw is None else int.from_bytes(raw, "big")

    def prove(self, root: bytes, keys: Sequence[bytes]) -> list[bytes]:
        """Encoded nodes proving each key's value or absence under ``root`` (deduplicated)."""
        candidate: object = keys
        if isinstance(candidate, (bytes, str)):
            raise TrieError("prove takes a sequence of keys, not a single key")
        return self.reader(root).proof_nodes(keys)

    # ---------------------------------------------------------------- writing

    def stage(
        self, root: bytes, changes: Mapping[bytes, bytes | None], version: int
    ) -> StagedCommit:
        """Apply a block of writes (``None`` = delete) on top of ``root``; write nothing."""
        _check_root(root)
        _version_bytes(version)
        latest = self.latest_version()
        if latest is not None and version <= latest:
            raise TrieError(f"version {version} is not above the latest version {latest}")
        if not self.has_root(root):
            raise TrieError(f"unknown trie root {root.hex()} (never committed, or pruned)")
        items: list[tuple[bytes, bytes | None]] = []
        for key, value in changes.items():
            check_key(key)
            if value is not None:
                if not isinstance(value, bytes):
                    raise TrieError(f"state value for {key.hex()} is {type(value).__name__}")
                if len(value) > MAX_VALUE_LEN:
                    raise TrieError(
                        f"state value for {key.hex()} of {len(value)} bytes exceeds "
                        f"the limit of {MAX_VALUE_LEN}"
                    )
            items.append((key_to_nibbles(key), value))
        stager = _Stager(self._source)
        new_root = root
        if items:
            items.sort()
            base = None if root == EMPTY_ROOT else root
            # Staging allocates thousands of short-lived lists that hold no
            # cycles; pausing the cyclic collector meanwhile saves ~25% (its
            # generation-0 passes would rescan them, and the node cache).
            collecting = gc.isenabled()
            gc.disable()
            try:
                new_root = stager.root_of(stager.apply(base, 0, items))
            finally:
                if collecting:
                    gc.enable()
        return StagedCommit(
            root=new_root,
            version=version,
            node_writes=stager.writes,
            new_nodes=stager.new_nodes,
            replaced=stager.replaced,
        )

    def add_to_batch(self, staged: StagedCommit, batch: WriteBatch) -> None:
        """Put the staged nodes and the version entry into the caller's batch."""
        version = _version_bytes(staged.version)
        batch.ops.update(staged.node_writes)
        batch.put(self._version_prefix + version, staged.root)
        batch.put(self._latest_key, version)
        self._source.retire(staged.replaced)
        self._source.remember(staged.new_nodes)

    def commit(
        self,
        root: bytes,
        changes: Mapping[bytes, bytes | None],
        version: int,
        *,
        sync: bool = True,
    ) -> bytes:
        """``stage`` and write in a batch of its own; returns the new root."""
        staged = self.stage(root, changes, version)
        batch = WriteBatch()
        self.add_to_batch(staged, batch)
        self.kv.write(batch, sync=sync)
        return staged.root

    # ---------------------------------------------------------------- pruning

    def versions(self) -> list[tuple[int, bytes]]:
        """Every recorded (version, root), oldest first."""
        skip = len(self._version_prefix)
        return [
            (int.from_bytes(key[skip:], "big"), root)
            for key, root in self.kv.iterate(self._version_prefix)
        ]

    def prune(self, keep_versions: int) -> int:
        """Forget all but the newest ``keep_versions`` versions; returns nodes deleted.

        Costs one pass over every stored node: run it every few thousand
        blocks, not every block. Do not prune between ``stage`` and writing
        that commit if it was staged on a root this call drops.
        """
        if isinstance(keep_versions, bool) or not isinstance(keep_versions, int):
            raise TrieError("keep_versions must be an integer")
        if keep_versions < 1:
            raise TrieError("keep_versions must be at least 1 (the latest version is always kept)")
        versions = self.versions()
        if len(versions) <= keep_versions:
            return 0
        dropped = versions[:-keep_versions]
        reachable = self._reachable(root for _, root in versions[-keep_versions:])
        batch = WriteBatch()
        node_prefix = self._source.node_prefix
        skip = len(node_prefix)
        removed: list[bytes] = []
        for key, _ in self.kv.iterate(node_prefix):
            node_hash = key[skip:]
            if node_hash not in reachable:
                batch.delete(key)
                removed.append(node_hash)
        for version, _ in dropped:
            batch.delete(self._version_prefix + version.to_bytes(8, "big"))
        self.kv.write(batch, sync=True)
        self._source.forget(removed)
        return len(removed)

    def _reachable(self, roots: Iterator[bytes] | Any) -> set[bytes]:
        load = self._source.load
        seen: set[bytes] = set()
        stack = [root for root in roots if root != EMPTY_ROOT]
        while stack:
            node_hash = stack.pop()
            if node_hash in seen:
                continue
            seen.add(node_hash)
            node = load(node_hash)
            if node[0] == BRANCH:
                stack.extend(child for _, child in children_of(node))
            elif node[0] == EXTENSION:
                stack.append(node[2])
        return seen
