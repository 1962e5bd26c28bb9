"""Balances errors; rule ids are in spec/credit-rules.md and docs/runtime.md."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("balances")

ZeroAmount: Final = errors.define(
    0, "ZeroAmount", rule="B1", doc="a transfer moves a positive amount"
)
InsufficientBalance: Final = errors.define(
    1, "InsufficientBalance", rule="I2", doc="no balance may go below zero"
)
SupplyOverflow: Final = errors.define(
    2, "SupplyOverflow", rule="R3", doc="total supply must fit in 64 bits"
)
WouldLeaveDust: Final = errors.define(
    3,
    "WouldLeaveDust",
    rule="P3",
    doc="a transfer may not leave the sender with some but less than the existential deposit",
)
BelowExistentialDeposit: Final = errors.define(
    4,
    "BelowExistentialDeposit",
    rule="P3",
    doc="an account that is not a module account must receive at least the existential deposit",
)
