"""Messages for the next height, held by the node until that height starts.

Theory of operation
-------------------
Peers that decided a height before us send the next height's proposal and
votes. The core only accepts messages of its current height, so the node
holds those of height+1 here and, right after ``StartHeight(h)``, feeds the
released ones as ordinary inputs — appended to the WAL like any other. (If
the core held them itself, the per-height WAL rotation would lose them and a
replay would diverge from the run it replays.) The buffer is bounded: a
message over the limit is dropped, which costs at worst a round. Proposals
carry whole blocks, so they are bounded by bytes as well as by count, and
only the first proposal of a (proposer, round) is kept: one validator key
cannot make a node hold more than ``payload_limit`` bytes of future blocks
by signing many.
"""

from __future__ import annotations

from .inputs import ProposalReceived, VoteReceived

Held = ProposalReceived | VoteReceived


class NextHeightBuffer:
    """Bounded holding area for messages of one future height (see module docstring)."""

    def __init__(self, limit: int = 10_000, payload_limit: int = 32 << 20) -> None:
        if limit < 1 or payload_limit < 1:
            raise ValueError("NextHeightBuffer limits must be >= 1")
        self.limit = limit
        self.payload_limit = payload_limit
        self._held: list[Held] = []
        self._payload_bytes = 0
        self._proposals: set[tuple[bytes, int]] = set()  # (proposer, round) held

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, item: Held, current_height: int) -> bool:
        """Keep ``item`` if it is for ``current_height + 1``; True if kept."""
        height = item.vote.height if isinstance(item, VoteReceived) else item.proposal.height
        if height != current_height + 1 or len(self._held) >= self.limit:
            return False
        if isinstance(item, ProposalReceived):
            slot = (item.proposal.proposer, item.proposal.round)
            size = len(item.payload)
            if slot in self._proposals or self._payload_bytes + size > self.payload_limit:
                return False
            self._proposals.add(slot)
            self._payload_bytes += size
        self._held.append(item)
        return True

    def release(self, height: int) -> list[Held]:
        """The held messages of ``height``, in arrival order; everything else is dropped."""
        held, self._held = self._held, []
        self._payload_bytes = 0
        self._proposals.clear()
        return [
            item
            for item in held
            if (item.vote.height if isinstance(item, VoteReceived) else item.proposal.height)
            == height
        ]
