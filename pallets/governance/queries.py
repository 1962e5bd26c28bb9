"""Queries of the governance pallet: proposals, tallies, voice credits, rounds (G2-G5).

Served as ``gov_*``. A proposal's call is shown decoded, its arguments typed
by the declaration of the call it names (the governance list, G4, reached
through the ``governance.calls`` hook).

``phase`` says where a proposal stands at that block: ``announced`` (made,
voting opens with its round), ``voting``, ``counting`` (its round ended, the
tally is a block away), then its stored status (``passed`` waiting for
enactment, ``rejected``, ``no_quorum``, ``enacted``, ``failed``).
``passing_now`` applies G5's rules to the votes so far, as if the round
ended now (with the members counted now).
"""

from __future__ import annotations

from typing import Any, Final

from ledger import codec
from ledger.codec import CodecError
from pallets.governance import api, rounds
from pallets.governance.allowlist import allowed
from pallets.governance.storage import MAX_CALL_BYTES, NEXT_ID, PROPOSAL
from pallets.governance.tally import outcome
from pallets.members.api import is_member, member_count
from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    U32,
    U64,
    Bytes,
    Int,
    List,
    Optional,
)
from pallets.support.params import param
from pallets.support.queries import DYNAMIC, TEXT, Dynamic, QueryReader, QuerySet, Struct, Typed

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
RULES: Final = (
    "voice_credits",
    "round_length",
    "quorum",
    "enactment_delay",
    "validator_change_ratio",
    "proposal_deposit",
)
VOTES: Final = Int("votes", -(2**63), 2**63 - 1)
RAW_CALL: Final = Bytes(MAX_CALL_BYTES)
# A proposal's call: always its raw bytes; pallet, function and the arguments
# (typed by the call's declaration) when it decodes to a call on the list.
CALL_VIEW: Final = Dynamic(
    fields=(("pallet", TEXT), ("function", TEXT), ("args", DYNAMIC), ("raw", RAW_CALL)),
    required=("raw",),
)
_P: Final = dict(PROPOSAL.record.fields)
PROPOSAL_FIELDS: Final = (
    ("id", U64),
    ("proposer", ACCOUNT),
    ("call", CALL_VIEW),
    ("kind", _P["kind"]),
    ("made", U64),
    ("round", U64),
    ("voting_ends", Optional(U64)),
    ("phase", TEXT),
    ("status", _P["status"]),
    ("votes_for", U64),
    ("votes_against", U64),
    ("voters", U32),
    ("credits_spent", U64),
    ("voters_needed", U64),
    ("passing_now", BOOL),
    ("deposit", AMOUNT),
    ("deposit_state", _P["deposit_state"]),
    ("members_at_tally", Optional(U32)),
    ("decided", Optional(U64)),
    ("enact_at", Optional(U64)),
    ("enacted_height", Optional(U64)),
    ("error", _P["error"]),
)
PROPOSAL_VIEW: Final = Struct("proposal_view", PROPOSAL_FIELDS)
BALLOT: Final = Struct("ballot", (("account", ACCOUNT), ("votes", VOTES), ("cost", U64)))
PROPOSAL_DETAIL: Final = Struct(
    "proposal_detail", (*PROPOSAL_FIELDS, ("ballots", List(BALLOT, MAX_LIMIT)))
)
VOTER_VIEW: Final = Struct(
    "voter_view",
    (
        ("round", U64),
        ("member", BOOL),
        ("budget", U64),
        ("spent", U64),
        ("left", U64),
        ("open", BOOL),
    ),
)
ROUND_VIEW: Final = Struct(
    "round_view",
    (
        ("round", U64),
        ("start", U64),
        ("ends", U64),
        ("now", U64),
        ("budget", U64),
        ("members", U32),
        ("rules", Struct("rules", tuple((name, U64) for name in RULES))),
    ),
)

queries = QuerySet("governance", namespace="gov")


def call_view(state: QueryReader, raw: bytes) -> Typed:
    """A proposal's call: pallet, function and arguments typed by the call's declaration."""
    try:
        pallet, function, args = codec.decode(raw)
    except (CodecError, ValueError):
        return Typed(Struct("call", (("raw", RAW_CALL),)), {"raw": raw})
    entry = allowed(state.wiring).get((pallet, function))
    if entry is None or not isinstance(args, dict):
        kind = Struct("call", (("pallet", TEXT), ("function", TEXT), ("raw", RAW_CALL)))
        return Typed(kind, {"pallet": pallet, "function": function, "raw": raw})
    declared = tuple((name, t) for name, t in entry[0].args if name in args)
    kind = Struct(
        "call",
        (
            ("pallet", TEXT),
            ("function", TEXT),
            ("args", Struct("args", declared)),
            ("raw", RAW_CALL),
        ),
    )
    value = {
        "pallet": pallet,
        "function": function,
        "raw": raw,
        "args": {name: args[name] for name, _ in declared},
    }
    return Typed(kind, value)


def phase(state: QueryReader, record: dict[str, Any]) -> str:
    if record["status"] != "pending":
        return str(record["status"])
    current = rounds.current_round(state)["index"]
    if current < record["round"]:
        return "announced"
    return "voting" if current == record["round"] else "counting"


def proposal_view(state: QueryReader, proposal_id: int) -> dict[str, Any] | None:
    record = api.find_proposal(state, proposal_id)
    if record is None:
        return None
    current = rounds.current_round(state)
    members = member_count(state)
    quorum = param(state, "governance", "quorum")
    ratio = param(state, "governance", "validator_change_ratio")
    return {
        **{
            k: record[k]
            for k in (
                "proposer",
                "kind",
                "made",
                "round",
                "status",
                "votes_for",
                "votes_against",
                "voters",
                "deposit",
                "deposit_state",
                "error",
            )
        },
        "id": proposal_id,
        "call": call_view(state, record["call"]),
        "voting_ends": current["ends"] if current["index"] == record["round"] else None,
        "phase": phase(state, record),
        "credits_spent": record["credits"],
        "voters_needed": -(-quorum * members // 10_000),
        "passing_now": outcome(record, members, quorum, ratio) == "passed",
        "members_at_tally": record["members"] if record["decided"] else None,
        "decided": record["decided"] or None,
        "enact_at": record["enact_at"] or None,
        "enacted_height": record["enacted"] or None,
    }


@queries.query(
    "proposals",
    args=(("limit", Int("limit", 1, MAX_LIMIT)),),
    defaults={"limit": DEFAULT_LIMIT},
    result=List(PROPOSAL_VIEW, MAX_LIMIT),
)
def proposals(state: QueryReader, limit: int) -> list[dict[str, Any]]:
    """The most recent governance proposals, newest first, with tallies (G3-G5)."""
    newest: int = NEXT_ID.get(state)
    out = []
    for proposal_id in range(newest - 1, max(newest - limit, 0) - 1, -1):
        view = proposal_view(state, proposal_id)
        if view is not None:
            out.append(view)
    return out


@queries.query("proposal", args=(("proposal", U64),), result=Optional(PROPOSAL_DETAIL))
def proposal(state: QueryReader, proposal: int) -> dict[str, Any] | None:
    """One proposal with its call, tally, phase and every ballot's cost (votes²)."""
    view = proposal_view(state, proposal)
    if view is None:
        return None
    view["ballots"] = [
        {"account": account, "votes": votes, "cost": api.quadratic_cost(votes)}
        for account, votes in api.ballots(state, proposal)[:MAX_LIMIT]
    ]
    return view


@queries.query("voter", args=(("round", U64), ("address", ACCOUNT)), result=VOTER_VIEW)
def voter(state: QueryReader, round: int, address: bytes) -> dict[str, Any]:
    """A member's voice credits in a round: budget, spent, left (G2, G3)."""
    budget = rounds.budget(state, round)
    current = rounds.current_round(state)["index"]
    if budget == 0 and round > current:  # a future round: what it would be now
        budget = param(state, "governance", "voice_credits")
    used = api.spent(state, round, address)
    return {
        "round": round,
        "member": is_member(state, address),
        "budget": budget,
        "spent": used,
        "left": max(budget - used, 0),
        "open": round == current,
    }


@queries.query("round", result=ROUND_VIEW)
def current_round(state: QueryReader) -> dict[str, Any]:
    """The current governance round, when it ends, and the rules in force."""
    current = rounds.current_round(state)
    return {
        "round": current["index"],
        "start": current["start"],
        "ends": current["ends"],
        "now": state.now,
        "budget": rounds.budget(state, current["index"]),
        "members": member_count(state),
        "rules": {name: param(state, "governance", name) for name in RULES},
    }
