"""Node format of the state trie (docs/protocol/trie.md).

Theory of operation
-------------------
The state trie is hexary: a key is read as a path of 4-bit nibbles (high
nibble of each byte first), and three kinds of node spell those paths out:

* leaf      ``[0, packed_path, value]`` - the rest of one key's path, and its value;
* extension ``[1, packed_path, child_hash]`` - a shared run of nibbles above a branch;
* branch    ``[2, bitmap, children, value | nil]`` - bit ``i`` of ``bitmap``
  says the branch has a child for next nibble ``i``; ``children`` is the
  concatenation of those children's 32-byte hashes in nibble order; ``value``
  belongs to the key that ends exactly here (a key that is a prefix of others).

A node is stored and hashed as its canonical MessagePack bytes
(``ledger.codec``); its hash is ``blake2b256`` of them and parents refer to
children by that hash only (never inline), so every node is content-addressed
and a proof is just a set of encoded nodes.

``packed_path`` is hex-prefix encoding: a flag byte ``0x00`` followed by the
nibbles packed two per byte when their count is even; ``0x10 | first_nibble``
followed by the other nibbles packed when it is odd.

Inside the process nibble paths are ``bytes`` holding one nibble (0-15) per
byte, so that slicing and comparing a path are single C operations. Decoded
nodes are tuples: ``(LEAF, path, value, packed_path)``, ``(EXTENSION, path,
child, packed_path)``, ``(BRANCH, bitmap, children, value)``. Keeping a
branch's children as one bytes object (not 16 slots) keeps a node to a few
Python objects, which matters more than anything else for the speed of a
block: the cost of applying one is dominated by touching memory.

Two decoders: ``decode_stored`` trusts the node's own store (what this node
wrote under the node's hash) and is fast; ``decode_untrusted`` is for nodes
that arrive from elsewhere (proofs) and checks everything.

The read side lives here too: ``NodeSource`` (hash -> decoded node through a
bounded cache over the KV store) and ``TrieReader`` (lookups, sorted prefix
iteration and proof collection for one root, all iterative so that depth
never meets the recursion limit). The write side is ``ledger.trie``. The
cache cannot change a result: a node is named by the hash of its bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import msgpack

from ledger import codec
from ledger.codec import DecodeError, DecodeLimits
from ledger.crypto import HASH_LEN, blake2b256
from ledger.kv import KVStore

LEAF: Final = 0
EXTENSION: Final = 1
BRANCH: Final = 2

MAX_KEY_LEN: Final = 256  # bytes; bounds the trie depth (and the recursion) to 512 nibbles
MAX_VALUE_LEN: Final = 512 * 1024

# The root of the trie with no keys: no node is stored for it.
EMPTY_ROOT: Final = blake2b256(codec.encode(None))

NODE_LIMITS: Final = DecodeLimits(
    max_size=MAX_VALUE_LEN + 1024,
    max_depth=2,
    max_container_len=16,
    max_bytes_len=MAX_VALUE_LEN,
)

# A decoded node: (LEAF, path, value, packed_path), (EXTENSION, path, child, packed_path),
# (BRANCH, bitmap, children, value). ``decode_untrusted`` leaves out the packed path.
Node = tuple[Any, ...]

_TO_NIBBLES: Final = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))
_FROM_NIBBLES: Final = bytes.maketrans(bytes(range(16)), b"0123456789abcdef")


def key_to_nibbles(key: bytes) -> bytes:
    """One byte per nibble, high nibble first: ``b"\\xab"`` -> ``b"\\x0a\\x0b"``."""
    return key.hex().encode("ascii").translate(_TO_NIBBLES)


def nibbles_to_key(nibbles: bytes) -> bytes:
    """Inverse of ``key_to_nibbles``; ``nibbles`` must have an even length."""
    return bytes.fromhex(nibbles.translate(_FROM_NIBBLES).decode("ascii"))


def pack_path(nibbles: bytes) -> bytes:
    """Hex-prefix encoding of a nibble path (see the module docstring)."""
    if len(nibbles) & 1:
        return bytes((0x10 | nibbles[0],)) + nibbles_to_key(nibbles[1:])
    return b"\x00" + nibbles_to_key(nibbles)


def unpack_path(packed: bytes) -> bytes:
    """Inverse of ``pack_path`` for trusted input."""
    flag = packed[0]
    body = key_to_nibbles(packed[1:])
    if flag:
        return bytes((flag & 0x0F,)) + body
    return body


# msgpack's packer emits the canonical form for what nodes hold (small ints,
# bin, nil, arrays), so node encoding skips ledger.codec's validation walk.
PACK: Final = msgpack.Packer(use_bin_type=True).pack


def encode_leaf(path: bytes, value: bytes, packed: bytes | None = None) -> bytes:
    encoded: bytes = PACK([LEAF, packed or pack_path(path), value])
    return encoded


def encode_extension(path: bytes, child: bytes, packed: bytes | None = None) -> bytes:
    encoded: bytes = PACK([EXTENSION, packed or pack_path(path), child])
    return encoded


def encode_branch(bitmap: int, children: bytes, value: bytes | None) -> bytes:
    encoded: bytes = PACK([BRANCH, bitmap, children, value])
    return encoded


def encode_node(node: Node) -> bytes:
    """Canonical bytes of a decoded node (the same bytes it was stored as)."""
    kind = node[0]
    if kind == LEAF:
        return encode_leaf(node[1], node[2])
    if kind == EXTENSION:
        return encode_extension(node[1], node[2])
    return encode_branch(node[1], node[2], node[3])


def decode_stored(data: bytes) -> Node:
    """Decode a node this store wrote itself (its key is its hash): no checks.

    Leaves and extensions keep their packed path as a fourth item, so that
    rewriting a leaf with a new value does not pack the path again.
    """
    fields: Node = msgpack.unpackb(data, use_list=False, raw=False)
    if fields[0] == BRANCH:
        return fields
    kind, packed, second = fields
    return (kind, unpack_path(packed), second, packed)


def child_at(node: Node, nibble: int) -> bytes | None:
    """The hash of a branch's child for ``nibble``, or None."""
    bitmap = node[1]
    bit = 1 << nibble
    if not bitmap & bit:
        return None
    start = (bitmap & (bit - 1)).bit_count() * HASH_LEN
    child: bytes = node[2][start : start + HASH_LEN]
    return child


def children_of(node: Node) -> list[tuple[int, bytes]]:
    """A branch's ``(nibble, child hash)`` pairs in nibble order."""
    bitmap = node[1]
    blob = node[2]
    pairs = []
    start = 0
    for nibble in range(16):
        if bitmap >> nibble & 1:
            pairs.append((nibble, blob[start : start + HASH_LEN]))
            start += HASH_LEN
    return pairs


def slots_of(node: Node) -> list[Any]:
    """A branch's 16 child slots (hash or None), for rewriting several of them."""
    bitmap = node[1]
    blob = node[2]
    slots: list[Any] = [None] * 16
    start = 0
    for nibble in range(16):
        if bitmap >> nibble & 1:
            slots[nibble] = blob[start : start + HASH_LEN]
            start += HASH_LEN
    return slots


def pack_slots(slots: Sequence[bytes | None]) -> tuple[int, bytes]:
    """``(bitmap, children)`` of 16 child slots that are all hashes or None."""
    bitmap = 0
    for nibble in range(16):
        if slots[nibble] is not None:
            bitmap |= 1 << nibble
    return bitmap, b"".join([slot for slot in slots if slot is not None])


# ------------------------------------------------------------ untrusted input


def _unpack_path_checked(packed: Any, what: str) -> bytes:
    if not isinstance(packed, bytes) or not packed:
        raise DecodeError(f"{what}: path must be non-empty bytes")
    flag = packed[0]
    if flag != 0 and flag & 0xF0 != 0x10:
        raise DecodeError(f"{what}: path flag byte {flag:#04x} is neither 0x00 nor 0x1N")
    return unpack_path(packed)


def _hash_ref(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_LEN:
        raise DecodeError(f"{what}: expected a {HASH_LEN}-byte hash")
    return value


def _value(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError(f"{what}: value must be bytes")
    return value


def decode_untrusted(data: bytes) -> Node:
    """Decode and check a node from outside; raises ``DecodeError`` saying what is wrong."""
    fields = codec.decode(data, NODE_LIMITS)
    if not isinstance(fields, list) or not fields:
        raise DecodeError("trie node: expected a non-empty array")
    kind = fields[0]
    if kind == LEAF:
        _, packed, value = codec.expect_list(fields, 3, "leaf")
        return (LEAF, _unpack_path_checked(packed, "leaf"), _value(value, "leaf"))
    if kind == EXTENSION:
        _, packed, child = codec.expect_list(fields, 3, "extension")
        path = _unpack_path_checked(packed, "extension")
        if not path:
            raise DecodeError("extension: empty path")
        return (EXTENSION, path, _hash_ref(child, "extension child"))
    if kind == BRANCH:
        _, bitmap, children, value = codec.expect_list(fields, 4, "branch")
        bitmap = codec.expect_int(bitmap, "branch bitmap", 0, 0xFFFF)
        count = bitmap.bit_count()
        if not isinstance(children, bytes) or len(children) != count * HASH_LEN:
            raise DecodeError(f"branch: the bitmap names {count} children, expected their hashes")
        if value is not None:
            _value(value, "branch")
        if count + (value is not None) < 2:
            raise DecodeError("branch: fewer than two children and value (not canonical)")
        return (BRANCH, bitmap, children, value)
    raise DecodeError(f"trie node: unknown kind {kind!r}")


# ------------------------------------------------------------ reading a stored trie


class TrieError(ValueError):
    """Bad input to the trie (a key, value, root or version the caller got wrong)."""


class MissingNodeError(LookupError):
    """A node the trie needs is not in the store: unknown or pruned root, or a damaged store."""


def check_key(key: object) -> bytes:
    if not isinstance(key, bytes):
        raise TrieError(f"a state key is bytes, got {type(key).__name__}")
    if len(key) > MAX_KEY_LEN:
        raise TrieError(f"state key of {len(key)} bytes exceeds the limit of {MAX_KEY_LEN}")
    return key


class NodeSource:
    """Hash -> decoded node, through a bounded cache over the KV store.

    Each cache is two generations of plain dicts (cheaper than an ordered LRU
    in CPython): hits in the old generation move to the young one, and when
    the young one is full it becomes the old one and the old one is dropped.
    About ``capacity`` nodes are held (plus one block's worth); recently used
    ones survive.

    Branches and extensions (the inside of the trie) and leaves have caches
    of their own. A read of an account walks a few inner nodes and one leaf;
    with a million accounts there are far more leaves than inner nodes, and
    a block touches leaves all over the state, each about once. In a shared
    cache those leaves would push out the inner nodes that every later walk
    needs, and each cold read would then cost one store read per level
    instead of one. ``leaf_capacity`` (default a quarter of ``capacity``)
    only needs to hold a block's worth, for the writes that follow its reads.

    Writing a block replaces the nodes on every changed path. The writer
    reads them with ``peek`` (no promotion) and then ``retire``s them from
    the young generation, so that stale nodes do not push live ones out;
    stale nodes left in the old generation go at its next turn.
    """

    def __init__(
        self, kv: KVStore, node_prefix: bytes, capacity: int, leaf_capacity: int | None = None
    ) -> None:
        self.kv = kv
        self.node_prefix = node_prefix
        self.half = max(1, capacity // 2)
        self.enabled = capacity > 0
        leaves = capacity // 4 if leaf_capacity is None else leaf_capacity
        self.leaf_half = max(1, leaves // 2)
        self.leaves_enabled = leaves > 0
        self.young: dict[bytes, Node] = {}
        self.old: dict[bytes, Node] = {}
        self.leaf_young: dict[bytes, Node] = {}
        self.leaf_old: dict[bytes, Node] = {}

    def __len__(self) -> int:
        """Nodes held now (of both kinds)."""
        return len(self.young) + len(self.old) + len(self.leaf_young) + len(self.leaf_old)

    def _fetch(self, node_hash: bytes) -> Node:
        raw = self.kv.get(self.node_prefix + node_hash)
        if raw is None:
            raise MissingNodeError(f"trie node {node_hash.hex()} is not in the store")
        return decode_stored(raw)

    def peek(self, node_hash: bytes) -> Node:
        """Like ``load`` but leaves the cache as it is (for nodes about to be replaced)."""
        node = (
            self.young.get(node_hash)
            or self.old.get(node_hash)
            or self.leaf_young.get(node_hash)
            or self.leaf_old.get(node_hash)
        )
        if node is None:
            node = self._fetch(node_hash)
        return node

    def load(self, node_hash: bytes) -> Node:
        node = self.young.get(node_hash) or self.leaf_young.get(node_hash)
        if node is not None:
            return node
        node = self.old.get(node_hash) or self.leaf_old.get(node_hash)
        if node is None:
            node = self._fetch(node_hash)
        if node[0] == LEAF:
            if self.leaves_enabled:
                self.leaf_young[node_hash] = node
                if len(self.leaf_young) >= self.leaf_half:
                    self.leaf_old = self.leaf_young
                    self.leaf_young = {}
        elif self.enabled:
            self.young[node_hash] = node
            if len(self.young) >= self.half:
                self.old = self.young
                self.young = {}
        return node

    def remember(self, nodes: Mapping[bytes, Node]) -> None:
        """Cache a commit's new nodes (written children first, so the root comes last)."""
        inner = {h: node for h, node in nodes.items() if node[0] != LEAF}
        if self.enabled:
            self.young, self.old = _add(self.young, self.old, inner, self.half)
        if self.leaves_enabled and len(inner) < len(nodes):
            leaves = {h: node for h, node in nodes.items() if node[0] == LEAF}
            self.leaf_young, self.leaf_old = _add(
                self.leaf_young, self.leaf_old, leaves, self.leaf_half
            )

    def retire(self, hashes: Iterable[bytes]) -> None:
        """Drop replaced nodes from the young generations (cheap; see the class docstring)."""
        pop, pop_leaf = self.young.pop, self.leaf_young.pop
        for node_hash in hashes:
            pop(node_hash, None) or pop_leaf(node_hash, None)

    def forget(self, hashes: Iterable[bytes]) -> None:
        """Drop nodes from the whole cache (after pruning deleted them)."""
        caches = (self.young, self.old, self.leaf_young, self.leaf_old)
        for node_hash in hashes:
            for cache in caches:
                cache.pop(node_hash, None)

    def warm(self, root: bytes, budget: int) -> int:
        """Load up to ``budget`` nodes nearest ``root``, level by level; returns how many.

        For a node that opens an existing store: its first blocks would
        otherwise read the top levels of the trie from the store one walk at
        a time. Never more than the inner cache's young generation holds.
        """
        budget = min(budget, self.half - 1) if self.enabled else 0
        level = [] if root == EMPTY_ROOT else [root]
        loaded = 0
        while level and loaded < budget:
            below: list[bytes] = []
            for node_hash in level[: budget - loaded]:
                node = self.load(node_hash)
                if node[0] == BRANCH:
                    below.extend(child for _, child in children_of(node))
                elif node[0] == EXTENSION:
                    below.append(node[2])
            loaded += min(len(level), budget - loaded)
            level = below
        return loaded


def _add(
    young: dict[bytes, Node], old: dict[bytes, Node], nodes: dict[bytes, Node], half: int
) -> tuple[dict[bytes, Node], dict[bytes, Node]]:
    """Two generations ``(young, old)`` after adding ``nodes`` (see ``NodeSource``)."""
    if len(nodes) >= half:
        # A bulk load (a big genesis): keep only the nodes nearest the root,
        # or the cache would hold the whole trie until its next turn.
        keep = half - 1
        return dict(list(nodes.items())[len(nodes) - keep :]), young
    young.update(nodes)
    if len(young) >= half:
        return {}, young
    return young, old


class TrieReader:
    """One committed version of the state, as a ``ledger.overlay.StateReader``."""

    def __init__(self, source: NodeSource, root: bytes) -> None:
        self._source = source
        self.root = root

    def get(self, key: bytes) -> bytes | None:
        nibbles = key_to_nibbles(check_key(key))
        ref = None if self.root == EMPTY_ROOT else self.root
        offset = 0
        load = self._source.load
        # Most nodes of a walk are inner nodes in the young generation: look
        # there first without a call (a stale generation is still correct,
        # since a hash names one node forever), and inline child_at.
        cached = self._source.young.get
        while ref is not None:
            node = cached(ref) or load(ref)
            kind = node[0]
            if kind == BRANCH:
                if offset == len(nibbles):
                    value: bytes | None = node[3]
                    return value
                bitmap = node[1]
                bit = 1 << nibbles[offset]
                if not bitmap & bit:
                    return None
                start = (bitmap & (bit - 1)).bit_count() * HASH_LEN
                ref = node[2][start : start + HASH_LEN]
                offset += 1
            elif kind == EXTENSION:
                path = node[1]
                if nibbles[offset : offset + len(path)] != path:
                    return None
                offset += len(path)
                ref = node[2]
            else:
                return node[2] if nibbles[offset:] == node[1] else None
        return None

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        want = key_to_nibbles(check_key(prefix))
        if self.root == EMPTY_ROOT:
            return
        load = self._source.load
        # Walk down to the subtree holding every key with this prefix.
        ref: bytes | None = self.root
        path = b""
        while ref is not None and len(path) < len(want):
            node = load(ref)
            kind = node[0]
            rest = want[len(path) :]
            if kind == BRANCH:
                path += rest[:1]
                ref = child_at(node, rest[0])
            else:
                own = node[1]
                common = min(len(own), len(rest))
                if own[:common] != rest[:common]:
                    return
                if kind == LEAF:
                    if len(own) < len(rest):
                        return  # the leaf's key is shorter than the prefix
                    break  # the leaf's key extends (or equals) the prefix
                path += own
                ref = node[2]
        if ref is None:
            return
        # Depth-first, value slot before children, children in nibble order = key order.
        stack: list[tuple[bytes, bytes]] = [(ref, path)]
        while stack:
            node_hash, at = stack.pop()
            node = load(node_hash)
            kind = node[0]
            if kind == LEAF:
                yield nibbles_to_key(at + node[1]), node[2]
            elif kind == EXTENSION:
                stack.append((node[2], at + node[1]))
            else:
                if node[3] is not None:
                    yield nibbles_to_key(at), node[3]
                for nibble, child in reversed(children_of(node)):
                    stack.append((child, at + bytes((nibble,))))

    def proof_nodes(self, keys: Sequence[bytes]) -> list[bytes]:
        """The encoded nodes on the paths of ``keys`` (deduplicated, in walk order)."""
        load = self._source.load
        seen: dict[bytes, None] = {}
        for key in keys:
            nibbles = key_to_nibbles(check_key(key))
            ref = None if self.root == EMPTY_ROOT else self.root
            offset = 0
            while ref is not None:
                seen[ref] = None
                node = load(ref)
                kind = node[0]
                if kind == BRANCH:
                    if offset == len(nibbles):
                        break
                    ref = child_at(node, nibbles[offset])
                    offset += 1
                elif kind == EXTENSION:
                    path = node[1]
                    if nibbles[offset : offset + len(path)] != path:
                        break
                    offset += len(path)
                    ref = node[2]
                else:
                    break
        return [encode_node(load(node_hash)) for node_hash in seen]
