"""Messages for the next height, held by the node until that height starts.

Theory of operation
-------------------
Peers that decided a height before us send the next height's proposal and
votes. The core only accepts messages of its current height, so the node
holds those of height+1 here and, right after ``StartHeight(h)``, feeds the
released ones as ordinary inputs — appended to the WAL like any other. (If
the core held them itself, the per-height WAL rotation would lose them and a
replay would diverge from the run it replays.) The buffer is bounded: a
message over the limit is dropped, which costs at worst a round.
"""

from __future__ import annotations

from .inputs import ProposalReceived, VoteReceived

Held = ProposalReceived | VoteReceived


class NextHeightBuffer:
    """Bounded holding area for messages of one future height (see module docstring)."""

    def __init__(self, limit: int = 10_000) -> None:
        if limit < 1:
            raise ValueError("NextHeightBuffer limit must be >= 1")
        self.limit = limit
        self._held: list[Held] = []

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, item: Held, current_height: int) -> bool:
        """Keep ``item`` if it is for ``current_height + 1``; True if kept."""
        height = item.vote.height if isinstance(item, VoteReceived) else item.proposal.height
        if height != current_height + 1 or len(self._held) >= self.limit:
            return False
        self._held.append(item)
        return True

    def release(self, height: int) -> list[Held]:
        """The held messages of ``height``, in arrival order; everything else is dropped."""
        held, self._held = self._held, []
        return [
            item
            for item in held
            if (item.vote.height if isinstance(item, VoteReceived) else item.proposal.height)
            == height
        ]
