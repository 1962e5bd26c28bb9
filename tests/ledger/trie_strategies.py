"""Hypothesis strategies for state-trie tests.

Keys come from a tiny alphabet so that random sets are full of shared
prefixes, keys that are prefixes of other keys (branch value slots), keys
differing only in their last nibble, and the empty key.
"""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st

from ledger.kv import MemoryKV
from ledger.trie import EMPTY_ROOT, StateTrie

NIBBLE_BYTES = [0x00, 0x01, 0x10, 0x11, 0xF0, 0xFF]

keys = st.lists(st.sampled_from(NIBBLE_BYTES), max_size=4).map(bytes)
values = st.binary(max_size=12)  # b"" is a value, distinct from a delete
states = st.dictionaries(keys, values, max_size=24)
prefixes = st.lists(st.sampled_from(NIBBLE_BYTES), max_size=2).map(bytes)


def root_of(items: Mapping[bytes, bytes]) -> bytes:
    """The root of a fresh trie holding exactly ``items`` (one block of inserts)."""
    return StateTrie(MemoryKV()).commit(EMPTY_ROOT, dict(items), 0)
