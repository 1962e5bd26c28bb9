"""Evidence bounds of a block: at most MAX_EVIDENCE_PER_BLOCK, one per offender.

The runtime's equivocation step (G6) is unmetered, so both the proposer's
choice (select_evidence) and the validity rule (check_evidence_bounds) keep
a block's evidence small whatever a byzantine validator signs.
"""

from __future__ import annotations

import pytest

from ledger.crypto import Keypair, blake2b256
from ledger.types import Evidence, Vote, VoteType
from node.daemon.chain import MAX_EVIDENCE_PER_BLOCK, check_evidence_bounds, select_evidence
from pallets.executive.executor import InvalidBlock

GENESIS = blake2b256(b"test genesis")


def proof(key: Keypair, height: int) -> Evidence:
    a, b = (
        Vote.create(key, GENESIS, VoteType.PRECOMMIT, height, 0, blake2b256(x), 1)
        for x in (b"one block", b"another block")
    )
    return Evidence(a, b)


def keys(n: int) -> list[Keypair]:
    return [Keypair.from_seed(blake2b256(b"offender %d" % i)) for i in range(n)]


def test_one_proof_per_offender_is_within_bounds() -> None:
    check_evidence_bounds(tuple(proof(key, 5) for key in keys(MAX_EVIDENCE_PER_BLOCK)))


def test_two_proofs_against_one_validator_are_refused() -> None:
    key = keys(1)[0]
    with pytest.raises(InvalidBlock, match="more than one proof against one validator"):
        check_evidence_bounds((proof(key, 5), proof(key, 6)))


def test_more_than_the_maximum_is_refused() -> None:
    evidence = tuple(proof(key, 5) for key in keys(MAX_EVIDENCE_PER_BLOCK + 1))
    with pytest.raises(InvalidBlock, match=f"at most {MAX_EVIDENCE_PER_BLOCK} per block"):
        check_evidence_bounds(evidence)


def test_the_proposer_takes_one_proof_per_offender_up_to_the_maximum() -> None:
    pool = {}
    for key in keys(MAX_EVIDENCE_PER_BLOCK + 4):
        for height in (5, 6, 7):
            item = proof(key, height)
            pool[item.hash] = item
    chosen = select_evidence(pool)
    assert len(chosen) == MAX_EVIDENCE_PER_BLOCK
    check_evidence_bounds(chosen)
    assert [item.hash for item in chosen] == sorted(item.hash for item in chosen)
    for item in chosen:  # per offender, the proof with the lowest hash
        theirs = [e.hash for e in pool.values() if e.vote_a.validator == item.vote_a.validator]
        assert item.hash == min(theirs)
    assert select_evidence(pool) == chosen  # deterministic
