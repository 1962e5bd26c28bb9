"""System events."""

from __future__ import annotations

from typing import Final

from pallets.runtime.argtypes import ACCOUNT, HASH, U64
from pallets.runtime.declare import EventSet

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
