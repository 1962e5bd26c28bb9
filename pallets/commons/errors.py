"""Commons errors; each cites the rule of spec/credit-rules.md it enforces."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("commons")

UnknownFund: Final = errors.define(0, "UnknownFund", rule="R3", doc="no fund has this id")
ZeroMint: Final = errors.define(1, "ZeroMint", rule="R3", doc="a mint must be positive")
IssuanceCapExceeded: Final = errors.define(
    2,
    "IssuanceCapExceeded",
    rule="R3",
    doc="the mint would exceed the yearly cap issuance.max_issuance of the supply",
)
