"""Governance storage (G2-G5, I4).

Keys:

* ``governance/round``: the current round ``[index, start, ends]`` (block time).
* ``governance/budget/<round u64>``: each round's voice-credit budget per
  member, fixed when the round starts (a later change of
  ``governance.voice_credits`` applies from the next round, so I4 can hold).
* ``governance/next_id``; ``governance/proposal/<id u64>``: proposals.
* ``governance/tally_due/<round u64><id u64>``: proposals waiting for their
  voting round to end (the hook tallies them in this order, a few per block).
* ``governance/enact_due/<at u64><id u64>``: passed proposals waiting for
  their enactment time.
* ``governance/vote/<id u64><account>``: a member's signed votes on a
  proposal (positive for, negative against); kept after the tally.
* ``governance/spent/<round u64><account>``: voice credits a member spent in
  a round: the sum of ``votes²`` over the round's proposals (G3, I4).
"""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    U32,
    U64,
    Bytes,
    Enum,
    Int,
    Optional,
    Text,
)
from pallets.support.records import RecordType
from pallets.support.storage import U64_KEY, FixedKey, StorageSet

MAX_CALL_BYTES: Final = 2048
MAX_ERROR: Final = 256
VOTES: Final = Int("votes", -(2**31), 2**31 - 1)
KINDS: Final = ("parameter", "validator", "registrar", "bioregion", "oracles", "mint", "document")
STATUSES: Final = ("pending", "passed", "rejected", "no_quorum", "enacted", "failed")
DEPOSIT_STATES: Final = ("held", "refunded", "forfeited")

ROUND: Final = RecordType("round", (("index", U64), ("start", U64), ("ends", U64)))
PROPOSAL: Final = RecordType(
    "proposal",
    (
        ("proposer", ACCOUNT),
        ("call", Bytes(MAX_CALL_BYTES)),  # canonical MessagePack [pallet, function, args]
        ("pallet", Text(32)),
        ("function", Text(32)),
        ("kind", Enum(KINDS)),
        ("made", U64),  # block time
        ("round", U64),  # the round it is voted in: the one after it was made
        ("deposit", AMOUNT),
        ("deposit_state", Enum(DEPOSIT_STATES)),
        ("status", Enum(STATUSES)),
        ("votes_for", U64),
        ("votes_against", U64),
        ("voters", U32),
        ("credits", U64),  # voice credits spent on it: the sum of votes²
        ("members", U32),  # member count at the tally (0 before)
        ("decided", U64),  # block time of the tally (0 before)
        ("enact_at", U64),  # block time it is enacted at, once passed (0 before)
        ("enacted", U64),  # height it was enacted (or failed) at (0 before)
        ("error", Optional(Text(MAX_ERROR))),  # why enactment failed
    ),
)
PAIR_KEY: Final = FixedKey("u64_u64", 16)
ID_ACCOUNT_KEY: Final = FixedKey("u64_account", 8 + 32)

storage = StorageSet("governance")

CURRENT_ROUND: Final = storage.value(
    "round", Optional(ROUND.record), default=None, doc="the current round [index, start, ends]"
)
BUDGETS: Final = storage.map(
    "budget", U64_KEY, U64, default=0, doc="voice credits per member of each round (G2)"
)
NEXT_ID: Final = storage.value("next_id", U64, default=0, doc="id of the next proposal")
PROPOSALS: Final = storage.map(
    "proposal", U64_KEY, Optional(PROPOSAL.record), default=None, doc="proposals by id (G4)"
)
TALLY_DUE: Final = storage.map(
    "tally_due", PAIR_KEY, BOOL, default=False, doc="(round, id) of proposals awaiting their tally"
)
ENACT_DUE: Final = storage.map(
    "enact_due",
    PAIR_KEY,
    BOOL,
    default=False,
    doc="(time, id) of passed proposals awaiting enactment",
)
BALLOTS: Final = storage.map(
    "vote", ID_ACCOUNT_KEY, VOTES, default=0, doc="signed votes of a member on a proposal (G3)"
)
SPENT: Final = storage.map(
    "spent", ID_ACCOUNT_KEY, U64, default=0, doc="voice credits a member spent in a round (I4)"
)
