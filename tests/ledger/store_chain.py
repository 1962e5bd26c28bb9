"""Builders for block-store and crash tests: a deterministic toy chain.

Block ``h`` of the toy chain carries a few opaque extrinsics, one receipt
each, and a block of state writes that depends only on ``(seed, h)``, so a
test can recompute the state of any height without reading the store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ledger.blockstore import BlockStore
from ledger.crypto import blake2b256
from ledger.kv import KVStore, WriteBatch
from ledger.trie import EMPTY_ROOT, StateTrie
from ledger.types import (
    EMPTY_HASH,
    Block,
    Commit,
    CommitSig,
    DispatchError,
    Event,
    Header,
    Receipt,
)


def state_changes(seed: int, height: int, keys: int = 400) -> dict[bytes, bytes | None]:
    """The state writes of block ``height``: a few updates, inserts and deletes."""
    rng = random.Random(f"{seed}/{height}")
    changes: dict[bytes, bytes | None] = {}
    for _ in range(rng.randrange(5, 40)):
        key = b"acct/" + rng.randrange(keys).to_bytes(4, "big")
        changes[key] = None if rng.random() < 0.15 else rng.randbytes(rng.randrange(1, 60))
    return changes


def extrinsics_of(seed: int, height: int) -> tuple[bytes, ...]:
    rng = random.Random(f"ext/{seed}/{height}")
    return tuple(rng.randbytes(rng.randrange(20, 80)) for _ in range(rng.randrange(0, 5)))


def receipts_for(extrinsics: tuple[bytes, ...]) -> list[Receipt]:
    receipts = []
    for index, extrinsic in enumerate(extrinsics):
        if index % 3 == 2:
            error = DispatchError("funds", "InsufficientBalance", "F1", "not enough")
            receipts.append(Receipt(blake2b256(extrinsic), False, error, ()))
        else:
            event = Event("funds", "Transferred", {"amount": index * 10, "memo": b"x"})
            receipts.append(Receipt(blake2b256(extrinsic), True, None, (event,)))
    return receipts


@dataclass
class ToyChain:
    """Writes toy blocks (state + block store) in one atomic batch each."""

    kv: KVStore
    seed: int

    def __post_init__(self) -> None:
        self.trie = StateTrie(self.kv)
        self.store = BlockStore(self.kv)

    def block_at(self, height: int, state_root: bytes, parent_hash: bytes) -> Block:
        extrinsics = extrinsics_of(self.seed, height)
        header = Header(
            height=height,
            timestamp_ms=1_700_000_000_000 + height * 1000,
            parent_hash=parent_hash,
            last_commit_hash=EMPTY_HASH,
            extrinsics_root=EMPTY_HASH,
            evidence_root=EMPTY_HASH,
            state_root=state_root,
            receipts_root=EMPTY_HASH,
            events_root=EMPTY_HASH,
            validators_hash=EMPTY_HASH,
            next_validators_hash=EMPTY_HASH,
            proposer=bytes(32),
        )
        return Block(header, extrinsics, None)

    def write_next(self, *, sync: bool = True) -> int:
        """Execute and store the next block; returns its height."""
        stored = self.store.height()
        height = 0 if stored is None else stored + 1
        parent_root = EMPTY_ROOT if stored is None else self.trie.root_at(stored)
        assert parent_root is not None
        parent_hash = EMPTY_HASH if stored is None else self.store.hash_at(stored)
        assert parent_hash is not None
        staged = self.trie.stage(parent_root, state_changes(self.seed, height), height)
        block = self.block_at(height, staged.root, parent_hash)
        commit = None
        if height > 0:
            commit = Commit(height, 0, block.hash, (CommitSig(bytes(32), height, bytes(64)),))
        batch = WriteBatch()
        self.trie.add_to_batch(staged, batch)
        receipts = receipts_for(block.extrinsics)
        events = [Event("system", "BlockEnd", {"height": height})]
        self.store.stage_block(block, commit, receipts, events, batch)
        self.kv.write(batch, sync=sync)
        return height


def expected_state(seed: int, height: int) -> dict[bytes, bytes]:
    """The toy chain's state after block ``height``, from the model alone."""
    state: dict[bytes, bytes] = {}
    for h in range(height + 1):
        for key, value in state_changes(seed, h).items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
    return state
