"""Governance calls: a member proposes a call (G4) and votes quadratically (G3).

``propose(call)`` takes the deposit ``governance.proposal_deposit`` from the
proposer's balance into the governance module account (it comes back at the
tally if the proposal reaches quorum, whatever the outcome; it goes to the
commons pool if it does not: spam costs the spammer, not the voters).

``vote(proposal, votes)``: ``votes`` is signed, positive for and negative
against; 0 withdraws. It costs ``votes²`` voice credits of the proposal's
voting round; a changed vote first refunds the old cost, so a member's
spending in a round is always the sum of the squares of their current
votes in it, never more than the round's budget (I4). Voice credits are not
tokens: nothing transfers them and a round's leftovers are lost.
"""

from __future__ import annotations

from typing import Any, Final

from pallets.balances import currency
from pallets.governance import allowlist, api, rounds
from pallets.governance.errors import NotMember, OverBudget, UnknownProposal, VotingNotOpen
from pallets.governance.events import Proposed, Voted
from pallets.governance.storage import (
    BALLOTS,
    MAX_CALL_BYTES,
    NEXT_ID,
    PROPOSAL,
    PROPOSALS,
    SPENT,
    TALLY_DUE,
    VOTES,
)
from pallets.members.api import is_member
from pallets.support.argtypes import U64, Bytes
from pallets.support.context import CallContext
from pallets.support.declare import CallSet

calls = CallSet("governance")

PROPOSE_WEIGHT: Final = 24
VOTE_WEIGHT: Final = 12


@calls.call(0, args=(("call", Bytes(MAX_CALL_BYTES)),), weight=PROPOSE_WEIGHT)
def propose(ctx: CallContext, call: bytes) -> None:
    """Propose a call from the governance list, voted on next round (G4).

    ``call`` is canonical MessagePack ``[pallet, function, {args}]``.
    """
    proposer = ctx.signer
    if not is_member(ctx, proposer):
        raise NotMember("only members may propose (G1: registered by a bioregion's registrar)")
    proposed = allowlist.check_proposed_call(call, ctx.wiring)
    deposit = ctx.param("governance", "proposal_deposit")
    if deposit > 0:
        currency.transfer(ctx, proposer, api.deposit_account(), deposit)
    proposal_id: int = NEXT_ID.get(ctx)
    NEXT_ID.put(ctx, proposal_id + 1)
    voting_round = rounds.current_round(ctx)["index"] + 1
    record: dict[str, Any] = {
        "proposer": proposer,
        "call": call,
        "pallet": proposed.call.pallet,
        "function": proposed.call.function,
        "kind": proposed.kind,
        "made": ctx.block.time,
        "round": voting_round,
        "deposit": deposit,
        "deposit_state": "held",
        "status": "pending",
        "votes_for": 0,
        "votes_against": 0,
        "voters": 0,
        "credits": 0,
        "members": 0,
        "decided": 0,
        "enact_at": 0,
        "enacted": 0,
        "error": None,
    }
    PROPOSALS.put(ctx, proposal_id, PROPOSAL.wire(record))
    TALLY_DUE.put(ctx, api.pair(voting_round, proposal_id), True)
    ctx.emit(
        Proposed,
        proposal=proposal_id,
        proposer=proposer,
        pallet=proposed.call.pallet,
        function=proposed.call.function,
        kind=proposed.kind,
        round=voting_round,
        deposit=deposit,
    )


@calls.call(1, args=(("proposal", U64), ("votes", VOTES)), weight=VOTE_WEIGHT)
def vote(ctx: CallContext, proposal: int, votes: int) -> None:
    """Cast ``votes`` (for if positive, against if negative, 0 withdraws) at votes² (G3)."""
    voter = ctx.signer
    if not is_member(ctx, voter):
        raise NotMember("only members may vote (G1: registered by a bioregion's registrar)")
    record = api.find_proposal(ctx, proposal)
    if record is None:
        raise UnknownProposal(f"no proposal {proposal}")
    current = rounds.current_round(ctx)
    if current["index"] != record["round"] or record["status"] != "pending":
        if current["index"] < record["round"]:
            raise VotingNotOpen(
                f"proposal {proposal} is voted on in round {record['round']}, which starts at "
                f"time {current['ends']} (now {ctx.block.time})"
            )
        raise VotingNotOpen(f"voting on proposal {proposal} closed with round {record['round']}")
    ballot_key = api.account_key(proposal, voter)
    spent_key = api.account_key(record["round"], voter)
    old: int = BALLOTS.get(ctx, ballot_key)
    spent: int = SPENT.get(ctx, spent_key)
    budget = rounds.budget(ctx, record["round"])
    refunded = spent - old * old
    cost = votes * votes
    if refunded + cost > budget:
        raise OverBudget(
            f"{abs(votes)} votes cost {cost} voice credits; {budget - refunded} of the round's "
            f"{budget} are left" + (f" after refunding {old * old}" if old else "")
        )
    BALLOTS.put(ctx, ballot_key, votes)
    SPENT.put(ctx, spent_key, refunded + cost)
    for amount, sign in ((old, -1), (votes, 1)):
        if amount > 0:
            record["votes_for"] += sign * amount
        elif amount < 0:
            record["votes_against"] += sign * -amount
    record["voters"] += (votes != 0) - (old != 0)
    record["credits"] += cost - old * old
    api.put_proposal(ctx, proposal, record)
    ctx.emit(Voted, proposal=proposal, voter=voter, votes=votes, cost=cost, spent=refunded + cost)
