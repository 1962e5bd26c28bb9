"""System errors: the framework's own (WeightExhausted, BadOrigin) and the pallet's."""

from __future__ import annotations

from typing import Final

from pallets.runtime.declare import SYSTEM_ERRORS

errors = SYSTEM_ERRORS

# Indices below 16 are the framework's (pallets/runtime/declare.py).
EmptyValidatorSet: Final = errors.define(
    16,
    "EmptyValidatorSet",
    rule="G6",
    doc="a validator-set change must leave at least one validator",
)
