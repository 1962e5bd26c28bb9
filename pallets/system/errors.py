"""System errors: the framework's own (WeightExhausted, BadOrigin) and the pallet's."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import SYSTEM_ERRORS

errors = SYSTEM_ERRORS

# Indices below 16 are the framework's (pallets/support/declare.py).
EmptyValidatorSet: Final = errors.define(
    16,
    "EmptyValidatorSet",
    rule="G6",
    doc="a validator-set change must leave at least one validator",
)
UnknownParam: Final = errors.define(
    17, "UnknownParam", rule="G4", doc="no chain parameter has this section and name"
)
ParamOutOfBounds: Final = errors.define(
    18, "ParamOutOfBounds", rule="G4", doc="the value is outside the parameter's bounds"
)
ParamsInconsistent: Final = errors.define(
    19,
    "ParamsInconsistent",
    rule="G4",
    doc="the new values break a constraint between parameters (e.g. weights summing to 10000)",
)
AlreadyValidator: Final = errors.define(
    20, "AlreadyValidator", rule="G6", doc="the key is already in the (scheduled) validator set"
)
NotValidator: Final = errors.define(
    21, "NotValidator", rule="G6", doc="the key is not in the (scheduled) validator set"
)
InvalidValidatorKey: Final = errors.define(
    22,
    "InvalidValidatorKey",
    rule="G6",
    doc="not a usable Ed25519 public key (small order or not on the curve)",
)
TooManyValidators: Final = errors.define(
    23, "TooManyValidators", rule="G6", doc="the validator set is full"
)
