"""The consensus shell's Decide when the store is behind the consensus WAL.

Found by `make soak`: a LevelDB log cut (a torn write on disk) lost a node's
newest committed blocks while its consensus WAL had moved on; replaying the
WAL decided a height two above the store and the node crashed on every
restart. A decision the store is not ready for is now left to block sync.
"""

from __future__ import annotations

from typing import Any

from consensus.actions import Decide
from ledger.crypto import blake2b256
from ledger.types import Commit
from node.daemon.consensus_loop import ConsensusLoop


class StoreAt:
    """The part of ``Chain`` that ``_decide`` reads, at a given height."""

    def __init__(self, height: int) -> None:
        self.height = height
        self.committed: list[Any] = []

    def pending_block(self, block_hash: bytes) -> None:
        raise AssertionError("a decision the store cannot take must not look for its block")

    def commit_block(self, block: Any, commit: Any) -> None:
        self.committed.append(block)


def loop_over(chain: StoreAt) -> ConsensusLoop:
    def unused(*args: Any) -> Any:
        raise AssertionError("not expected here")

    return ConsensusLoop(
        core=unused,  # type: ignore[arg-type]
        chain=chain,  # type: ignore[arg-type]
        wal=unused,  # type: ignore[arg-type]
        guard=None,
        block_interval_ms=100,
        build_block=unused,
        on_commit=unused,
        broadcast=unused,
    )


def decision(height: int) -> Decide:
    return Decide(
        height, 0, blake2b256(b"block %d" % height), Commit(height, 0, b"\0" * 32, ()), b""
    )


def test_a_decision_two_heights_above_the_store_is_left_to_block_sync() -> None:
    chain = StoreAt(3241)
    loop_over(chain)._decide(decision(3243))
    assert chain.committed == []


def test_a_decision_the_store_already_has_is_ignored() -> None:
    chain = StoreAt(3243)
    loop_over(chain)._decide(decision(3243))
    assert chain.committed == []
