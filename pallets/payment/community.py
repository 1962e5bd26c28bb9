"""The community calls (P2): taking part in credit and governance.

A registered person may make these without money, up to their allowance
per epoch: asking for credit, co-signing, amending one's own request,
reviewing, declaring and answering conflicts, and voting. Withdrawing a
request is not here: a free withdraw-and-resubmit loop would re-roll the
reviewer draw at no cost.
"""

from __future__ import annotations

from typing import Final

COMMUNITY_CALLS: Final = frozenset(
    {
        ("credit", "submit"),
        ("credit", "sign"),
        ("credit", "amend"),
        ("credit", "review"),
        ("credit", "declare_conflict"),
        ("credit", "answer_conflict"),
        ("governance", "vote"),
    }
)


def is_community_call(pallet: str, function: str) -> bool:
    return (pallet, function) in COMMUNITY_CALLS
