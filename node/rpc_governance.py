"""RPC queries of the governance pallet: proposals, tallies, voice credits, rounds.

Theory of operation
-------------------
Every method reads the state of a block (``at``, added by
``MethodRegistry.pallet_query``; the best block when omitted), so every
answer is historical on demand. A proposal's call is shown decoded, its
arguments turned into JSON from the called function's declared types
(accounts as bech32m, amounts as decimal strings, hashes as 0x-hex).

``phase`` says where a proposal stands at that block: ``announced`` (made,
voting opens with its round), ``voting``, ``counting`` (its round ended, the
tally is a block away), then its stored status (``passed`` waiting for
enactment, ``rejected``, ``no_quorum``, ``enacted``, ``failed``).
``passing_now`` applies G5's rules to the votes so far, as if the round
ended now (with the members counted now).

* ``gov_proposals(limit?)``: the most recent proposals, newest first, with
  their tallies and the voice credits spent on them (the sum of votes²).
* ``gov_proposal(proposal)``: one proposal with every ballot and its cost.
* ``gov_voter(round, address)``: a member's budget, credits spent and left.
* ``gov_round``: the current round, when it ends, and the rules in force.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import Field

from ledger import codec
from ledger.codec import CodecError
from ledger.crypto import DEFAULT_HRP
from ledger.overlay import StateReader
from node.rpc_credit import to_json
from pallets.construct import registry as runtime_registry
from pallets.governance import api, rounds
from pallets.governance.storage import NEXT_ID
from pallets.governance.tally import outcome
from pallets.members.api import is_member, member_count
from pallets.support.params import param
from pallets.system.storage import TIME
from rpc.encoding import Address, address_text, hex0x
from rpc.registry import MethodRegistry, NoParams, Params

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
U64Param = Annotated[int, Field(strict=True, ge=0, le=2**64 - 1)]


def call_json(raw: bytes, hrp: str = DEFAULT_HRP) -> dict[str, Any]:
    """A proposal's call: pallet, function and arguments by their declared types."""
    try:
        pallet, function, args = codec.decode(raw)
    except (CodecError, ValueError):
        return {"raw": hex0x(raw)}
    definition = runtime_registry().call(pallet, function)
    if definition is None or not isinstance(args, dict):
        return {"pallet": pallet, "function": function, "raw": hex0x(raw)}
    rendered = {
        name: to_json(kind, args[name], hrp) for name, kind in definition.args if name in args
    }
    return {"pallet": pallet, "function": function, "args": rendered, "raw": hex0x(raw)}


def phase(state: StateReader, record: dict[str, Any]) -> str:
    if record["status"] != "pending":
        return str(record["status"])
    current = rounds.current_round(state)["index"]
    if current < record["round"]:
        return "announced"
    return "voting" if current == record["round"] else "counting"


def proposal_view(
    state: StateReader, proposal_id: int, hrp: str = DEFAULT_HRP
) -> dict[str, Any] | None:
    record = api.find_proposal(state, proposal_id)
    if record is None:
        return None
    current = rounds.current_round(state)
    members = member_count(state)
    quorum = param(state, "governance", "quorum")
    return {
        "id": proposal_id,
        "proposer": address_text(record["proposer"], hrp),
        "call": call_json(record["call"], hrp),
        "kind": record["kind"],
        "made": record["made"],
        "round": record["round"],
        "voting_ends": current["ends"] if current["index"] == record["round"] else None,
        "phase": phase(state, record),
        "status": record["status"],
        "votes_for": record["votes_for"],
        "votes_against": record["votes_against"],
        "voters": record["voters"],
        "credits_spent": record["credits"],
        "voters_needed": -(-quorum * members // 10_000),
        "passing_now": outcome(
            record, members, quorum, param(state, "governance", "validator_change_ratio")
        )
        == "passed",
        "deposit": str(record["deposit"]),
        "deposit_state": record["deposit_state"],
        "members_at_tally": record["members"] if record["decided"] else None,
        "decided": record["decided"] or None,
        "enact_at": record["enact_at"] or None,
        "enacted_height": record["enacted"] or None,
        "error": record["error"],
    }


def proposal_detail(
    state: StateReader, proposal_id: int, hrp: str = DEFAULT_HRP
) -> dict[str, Any] | None:
    view = proposal_view(state, proposal_id, hrp)
    if view is None:
        return None
    view["ballots"] = [
        {"account": address_text(account, hrp), "votes": votes, "cost": api.quadratic_cost(votes)}
        for account, votes in api.ballots(state, proposal_id)[:MAX_LIMIT]
    ]
    return view


def proposal_list(
    state: StateReader, limit: int = DEFAULT_LIMIT, hrp: str = DEFAULT_HRP
) -> list[dict[str, Any]]:
    """The ``limit`` most recent proposals, newest first."""
    newest: int = NEXT_ID.get(state)
    out = []
    for proposal_id in range(newest - 1, max(newest - limit, 0) - 1, -1):
        view = proposal_view(state, proposal_id, hrp)
        if view is not None:
            out.append(view)
    return out


def voter_view(state: StateReader, round_index: int, account: bytes) -> dict[str, Any]:
    budget = rounds.budget(state, round_index)
    current = rounds.current_round(state)["index"]
    if budget == 0 and round_index > current:  # a future round: what it would be now
        budget = param(state, "governance", "voice_credits")
    used = api.spent(state, round_index, account)
    return {
        "round": round_index,
        "member": is_member(state, account),
        "budget": budget,
        "spent": used,
        "left": max(budget - used, 0),
        "open": round_index == current,
    }


def round_view(state: StateReader) -> dict[str, Any]:
    current = rounds.current_round(state)
    return {
        "round": current["index"],
        "start": current["start"],
        "ends": current["ends"],
        "now": TIME.get(state),
        "budget": rounds.budget(state, current["index"]),
        "members": member_count(state),
        "rules": {
            name: param(state, "governance", name)
            for name in (
                "voice_credits",
                "round_length",
                "quorum",
                "enactment_delay",
                "validator_change_ratio",
                "proposal_deposit",
            )
        },
    }


class ProposalParams(Params):
    proposal: U64Param


class ListParams(Params):
    limit: Annotated[int, Field(strict=True, ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT


class VoterParams(Params):
    round: U64Param
    address: Address


OBJECT: Final = {"type": ["object", "null"]}


def register_governance_queries(registry: MethodRegistry, *, hrp: str = DEFAULT_HRP) -> None:
    """Register gov_proposals, gov_proposal, gov_voter, gov_round (see the module doc)."""

    @registry.pallet_query(
        "gov",
        "proposals",
        params=ListParams,
        result={"type": "array"},
        description="The most recent governance proposals, newest first, with tallies (G3-G5).",
    )
    def gov_proposals(state: StateReader, params: ListParams) -> Any:
        return proposal_list(state, params.limit, hrp)

    @registry.pallet_query(
        "gov",
        "proposal",
        params=ProposalParams,
        result=OBJECT,
        description="One proposal with its call, tally, phase and every ballot's cost (votes²).",
    )
    def gov_proposal(state: StateReader, params: ProposalParams) -> Any:
        return proposal_detail(state, params.proposal, hrp)

    @registry.pallet_query(
        "gov",
        "voter",
        params=VoterParams,
        result={"type": "object"},
        description="A member's voice credits in a round: budget, spent, left (G2, G3).",
    )
    def gov_voter(state: StateReader, params: VoterParams) -> Any:
        return voter_view(state, params.round, params.address)

    @registry.pallet_query(
        "gov",
        "round",
        params=NoParams,
        result={"type": "object"},
        description="The current governance round, when it ends, and the rules in force.",
    )
    def gov_round(state: StateReader, params: NoParams) -> Any:
        return round_view(state)
