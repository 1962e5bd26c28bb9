"""Governance errors; each cites the rule it enforces."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("governance")

NotMember: Final = errors.define(0, "NotMember", rule="G1", doc="only members may propose and vote")
BadCall: Final = errors.define(
    1, "BadCall", rule="G4", doc="the proposed call is not MessagePack [pallet, function, args]"
)
CallNotAllowed: Final = errors.define(
    2, "CallNotAllowed", rule="G4", doc="the call is not on the governance list"
)
BadCallArguments: Final = errors.define(
    3,
    "BadCallArguments",
    rule="G4",
    doc="the proposed call's arguments are wrong (type, bounds, unknown parameter...)",
)
UnknownProposal: Final = errors.define(
    4, "UnknownProposal", rule="G4", doc="no proposal has this id"
)
VotingNotOpen: Final = errors.define(
    5,
    "VotingNotOpen",
    rule="G5",
    doc="a proposal is voted on only during the round after the one it was made in",
)
OverBudget: Final = errors.define(
    6,
    "OverBudget",
    rule="G3",
    doc="the votes cost more voice credits (votes²) than the member has left this round",
)
