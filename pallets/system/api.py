"""What other pallets and the executor use of the system pallet.

Nonces count an account's extrinsics in the chain. A validator-set change
scheduled while executing block H is reported by the executor to consensus
and takes effect at H + 2 (G6); the system pallet keeps it in
``system/validator_changes`` until its height, then makes it current.
"""

from __future__ import annotations

from typing import Any

from ledger.overlay import StateReader
from ledger.types import Validator, ValidatorSet
from pallets.runtime.context import CallContext
from pallets.runtime.storage import StateWriter
from pallets.system.errors import EmptyValidatorSet
from pallets.system.events import ValidatorSetScheduled
from pallets.system.storage import NONCE, VALIDATOR_CHANGES, VALIDATORS

VALIDATOR_DELAY = 2


def account_nonce(state: StateReader, account: bytes) -> int:
    value: int = NONCE.get(state, account)
    return value


def bump_nonce(state: StateWriter, account: bytes, current: int) -> None:
    NONCE.put(state, account, current + 1)


def validator_set(state: StateReader) -> ValidatorSet:
    return _to_set(VALIDATORS.get(state))


def scheduled_validator_set(state: StateReader, height: int) -> ValidatorSet | None:
    """The set scheduled to apply at ``height``, if any."""
    wire = VALIDATOR_CHANGES.get(state, height)
    return None if wire is None else _to_set(wire)


def schedule_validator_set(ctx: CallContext, validators: ValidatorSet) -> int:
    """Schedule ``validators`` to take effect at this height + 2; returns that height."""
    if not validators.validators:
        raise EmptyValidatorSet("a validator set needs at least one validator")
    apply_at = ctx.block.height + VALIDATOR_DELAY
    VALIDATOR_CHANGES.put(ctx, apply_at, validators.to_wire())
    ctx.emit(ValidatorSetScheduled, apply_at=apply_at, validators_hash=validators.hash)
    return apply_at


def _to_set(wire: Any) -> ValidatorSet:
    return ValidatorSet(tuple(Validator(public, power) for public, power in wire))
