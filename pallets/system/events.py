"""System events."""

from __future__ import annotations

from typing import Final

from pallets.support.argtypes import ACCOUNT, HASH, U64, Text
from pallets.support.declare import EventSet

events = EventSet("system")

Remarked: Final = events.define(
    "Remarked", (("sender", ACCOUNT), ("hash", HASH)), doc="a remark was made; its hash"
)
EpochStarted: Final = events.define(
    "EpochStarted", (("epoch", U64),), doc="an epoch began with this block"
)
ValidatorSetScheduled: Final = events.define(
    "ValidatorSetScheduled",
    (("apply_at", U64), ("validators_hash", HASH)),
    doc="a validator-set change was scheduled; consensus applies it at apply_at (H + 2)",
)
ValidatorSetApplied: Final = events.define(
    "ValidatorSetApplied",
    (("validators_hash", HASH),),
    doc="a scheduled validator-set change took effect at this height",
)
ParamChanged: Final = events.define(
    "ParamChanged",
    (("section", Text(32)), ("name", Text(64)), ("value", U64)),
    doc="governance changed a chain parameter (G4)",
)
ValidatorAdded: Final = events.define(
    "ValidatorAdded",
    (("validator", ACCOUNT), ("power", U64), ("apply_at", U64)),
    doc="governance added (or re-weighted) a validator; it counts from apply_at (G6)",
)
ValidatorRemoved: Final = events.define(
    "ValidatorRemoved",
    (("validator", ACCOUNT), ("apply_at", U64)),
    doc="governance removed a validator; it stops counting at apply_at (G6)",
)
EquivocationRemoved: Final = events.define(
    "EquivocationRemoved",
    (("validator", ACCOUNT), ("evidence", HASH), ("height", U64), ("apply_at", U64)),
    doc="a validator proven to have signed twice at one height and round leaves the set at "
    "apply_at, pending governance (G6)",
)
EquivocationKept: Final = events.define(
    "EquivocationKept",
    (("validator", ACCOUNT), ("evidence", HASH), ("reason", Text(128))),
    doc="equivocation evidence was recorded but did not remove the validator (G6): it is "
    "already out of the set, or it is the last one",
)
