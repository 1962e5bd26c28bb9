"""Governance events."""

from __future__ import annotations

from typing import Final

from pallets.governance.storage import KINDS, MAX_ERROR, VOTES
from pallets.support.argtypes import ACCOUNT, AMOUNT, U32, U64, Enum, Text
from pallets.support.declare import EventSet

events = EventSet("governance")

RoundStarted: Final = events.define(
    "RoundStarted",
    (("round", U64), ("ends", U64), ("budget", U64)),
    doc="a governance round began; every member has `budget` voice credits in it (G2)",
)
Proposed: Final = events.define(
    "Proposed",
    (
        ("proposal", U64),
        ("proposer", ACCOUNT),
        ("pallet", Text(32)),
        ("function", Text(32)),
        ("kind", Enum(KINDS)),
        ("round", U64),
        ("deposit", AMOUNT),
    ),
    doc="a member proposed a call; it is voted on in `round` (G4)",
)
Voted: Final = events.define(
    "Voted",
    (("proposal", U64), ("voter", ACCOUNT), ("votes", VOTES), ("cost", U64), ("spent", U64)),
    doc="a member cast (or changed) votes: cost = votes², spent = their round total (G3)",
)
Tallied: Final = events.define(
    "Tallied",
    (
        ("proposal", U64),
        ("outcome", Text(16)),
        ("votes_for", U64),
        ("votes_against", U64),
        ("voters", U32),
        ("members", U32),
    ),
    doc="a proposal's round ended: passed, rejected or no_quorum (G5)",
)
DepositReturned: Final = events.define(
    "DepositReturned",
    (("proposal", U64), ("proposer", ACCOUNT), ("amount", AMOUNT)),
    doc="the proposal reached quorum: its deposit went back to the proposer (G4)",
)
DepositForfeited: Final = events.define(
    "DepositForfeited",
    (("proposal", U64), ("amount", AMOUNT)),
    doc="the proposal missed quorum: its deposit went to the commons pool (G4)",
)
Enacted: Final = events.define(
    "Enacted", (("proposal", U64),), doc="a passed proposal's call was dispatched and succeeded"
)
EnactmentFailed: Final = events.define(
    "EnactmentFailed",
    (("proposal", U64), ("error", Text(MAX_ERROR))),
    doc="a passed proposal's call failed when enacted; nothing of it was applied",
)
