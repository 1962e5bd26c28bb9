"""NextHeightBuffer: holds height+1 messages, bounded, released in arrival order."""

from __future__ import annotations

import pytest

from consensus import NextHeightBuffer, ProposalReceived, VoteReceived
from ledger.types import VoteType

from .support import BLOCK_A, proposal, vote


def test_holds_only_the_next_height_and_releases_in_order() -> None:
    buf = NextHeightBuffer()
    v1 = VoteReceived(vote(0, VoteType.PREVOTE, 6, 0, BLOCK_A))
    p1 = ProposalReceived(proposal(1, 6, 0, BLOCK_A))
    assert buf.hold(v1, current_height=5)
    assert buf.hold(p1, current_height=5)
    assert not buf.hold(VoteReceived(vote(0, VoteType.PREVOTE, 7, 0, None)), current_height=5)
    assert not buf.hold(VoteReceived(vote(0, VoteType.PREVOTE, 5, 0, None)), current_height=5)
    assert len(buf) == 2
    assert buf.release(6) == [v1, p1]
    assert len(buf) == 0


def test_release_drops_other_heights_and_the_limit_holds() -> None:
    buf = NextHeightBuffer(limit=2)
    items = [VoteReceived(vote(i, VoteType.PREVOTE, 2, 0, None)) for i in range(3)]
    assert [buf.hold(item, 1) for item in items] == [True, True, False]
    assert buf.release(3) == []
    with pytest.raises(ValueError, match="limit"):
        NextHeightBuffer(limit=0)


def test_proposals_are_bounded_by_bytes_and_one_per_proposer_and_round() -> None:
    """A validator key cannot make a node hold unbounded future blocks (review finding)."""
    buf = NextHeightBuffer(payload_limit=1000)
    first = ProposalReceived(proposal(1, 6, 0, BLOCK_A), payload=b"x" * 600)
    again = ProposalReceived(proposal(1, 6, 0, BLOCK_A), payload=b"y" * 10)  # same slot
    later = ProposalReceived(proposal(1, 6, 1, BLOCK_A), payload=b"z" * 600)  # over the bytes
    small = ProposalReceived(proposal(1, 6, 2, BLOCK_A), payload=b"w" * 400)
    assert [buf.hold(p, 5) for p in (first, again, later, small)] == [True, False, False, True]
    assert buf.release(6) == [first, small]
    assert buf.hold(later, 5)  # the budget is free again after a release
