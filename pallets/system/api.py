"""What other pallets and the executor use of the system pallet.

Nonces count an account's extrinsics in the chain. A validator-set change
scheduled while executing block H is reported by the executor to consensus
and takes effect at H + 2 (G6); the system pallet keeps it in
``system/validator_changes`` until its height, then makes it current.

Several changes in flight compose: ``latest_validator_set`` is the set as it
will be once every scheduled change has applied (the one for H + 2 if this
block scheduled one, else the one for H + 1, else the current set), and every
change (governance's ``add_validator``/``remove_validator``, equivocation
evidence) starts from it, so two changes enacted in one block both hold.

Equivocation (G6): for each piece of evidence a block carries, the executor
calls ``punish_equivocation`` once, after the ``on_initialize`` hooks and
before the extrinsics. The validator leaves the set at H + 2 "pending
governance" (a proposal may add it back). The safe-set rule: evidence never
removes the last validator (an empty set halts the chain forever, while one
remaining validator, even a faulty one, can be replaced by governance); the
same evidence acts once (``system/evidence``), so re-including it after the
validator was re-added changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.overlay import StateReader
from ledger.types import Evidence, Validator, ValidatorSet
from pallets.support.context import CallContext
from pallets.support.storage import StateWriter
from pallets.system.errors import EmptyValidatorSet
from pallets.system.events import EquivocationKept, EquivocationRemoved, ValidatorSetScheduled
from pallets.system.storage import EVIDENCE_SEEN, NONCE, VALIDATOR_CHANGES, VALIDATORS

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


def latest_validator_set(state: StateReader) -> ValidatorSet:
    """The set once every scheduled change has applied (at most two are in flight)."""
    latest = None
    for _, wire in VALIDATOR_CHANGES.items(state):
        if wire is not None:
            latest = wire
    return _to_set(VALIDATORS.get(state) if latest is None else latest)


def schedule_validator_set(ctx: CallContext, validators: ValidatorSet) -> int:
    """Schedule ``validators`` to take effect at this height + 2; returns that height."""
    if not validators.validators:
        raise EmptyValidatorSet("a validator set needs at least one validator")
    apply_at = ctx.block.height + VALIDATOR_DELAY
    VALIDATOR_CHANGES.put(ctx, apply_at, validators.to_wire())
    ctx.emit(ValidatorSetScheduled, apply_at=apply_at, validators_hash=validators.hash)
    return apply_at


def with_validator(validators: ValidatorSet, key: bytes, power: int) -> ValidatorSet:
    """``validators`` with ``key`` at ``power`` (added, or its power replaced)."""
    others = [v for v in validators.validators if v.public != key]
    return ValidatorSet.of([*others, Validator(key, power)])


def without_validator(validators: ValidatorSet, key: bytes) -> ValidatorSet:
    return ValidatorSet(tuple(v for v in validators.validators if v.public != key))


def punish_equivocation(ctx: CallContext, evidence: Sequence[Evidence]) -> None:
    """Remove each proven equivocator from the set at H + 2 (see the module doc)."""
    for item in evidence:
        proof = item.hash
        if EVIDENCE_SEEN.contains(ctx, proof):
            continue
        EVIDENCE_SEEN.put(ctx, proof, ctx.block.height)
        offender = item.vote_a.validator
        latest = latest_validator_set(ctx)
        reason = None
        if latest.power_of(offender) == 0:
            reason = "not in the validator set (already removed)"
        elif len(latest.validators) == 1:
            reason = "the last validator stays: an empty set would halt the chain"
        if reason is not None:
            ctx.emit(EquivocationKept, validator=offender, evidence=proof, reason=reason)
            continue
        apply_at = schedule_validator_set(ctx, without_validator(latest, offender))
        ctx.emit(
            EquivocationRemoved,
            validator=offender,
            evidence=proof,
            height=item.vote_a.height,
            apply_at=apply_at,
        )


def _to_set(wire: Any) -> ValidatorSet:
    return ValidatorSet(tuple(Validator(public, power) for public, power in wire))
