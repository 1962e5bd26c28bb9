"""System calls: a signed remark, and the governance-origin calls that change
chain parameters and the validator set (G4, G6).

Governance calls are dispatched by the governance pallet when a proposal
passes; their checks run twice: when the proposal is made (a dry run, so a
bad proposal is refused at once) and when it is enacted (the state may have
changed meanwhile, and then the enactment fails with the same error).
"""

from __future__ import annotations

from typing import Any, Final

import nacl.bindings

from ledger import codec
from ledger.crypto import blake2b256
from pallets.support.argtypes import U64, FixedBytes, Int, List, Record, Text
from pallets.support.context import CallContext
from pallets.support.declare import GOVERNANCE, CallSet, DispatchFailure
from pallets.support.params import PARAM_INDEX, PARAMS, cross_check, param, param_key
from pallets.system import api
from pallets.system.errors import (
    AlreadyValidator,
    EmptyValidatorSet,
    InvalidValidatorKey,
    NotValidator,
    ParamOutOfBounds,
    ParamsInconsistent,
    TooManyValidators,
    UnknownParam,
)
from pallets.system.events import ParamChanged, Remarked, ValidatorAdded, ValidatorRemoved
from pallets.system.hooks import anchor_epoch_length_change
from pallets.system.storage import MAX_VALIDATORS

MAX_REMARK: Final = 1024
MAX_PARAM_CHANGES: Final = 16
VALIDATOR_KEY: Final = FixedBytes("validator_key", 32)
POWER: Final = Int("power", 1, 2**32)
SECTION: Final = Text(32)
PARAM_NAME: Final = Text(64)
PARAM_CHANGE: Final = Record(
    "param_change", (("section", SECTION), ("name", PARAM_NAME), ("value", U64))
)
# Reading the whole table (for cross_check) plus the writes; a validator
# change reads at most two scheduled sets and the current one.
PARAMS_WEIGHT: Final = len(PARAMS) + 2 * MAX_PARAM_CHANGES + 4
VALIDATOR_WEIGHT: Final = 8

calls = CallSet("system")


@calls.call(0, args=(("text", Text(MAX_REMARK)),), weight=1)
def remark(ctx: CallContext, text: str) -> None:
    """Put a short text on chain; only its hash is kept, in an event."""
    ctx.emit(Remarked, sender=ctx.signer, hash=blake2b256(text.encode("utf-8")))


@calls.call(
    1,
    args=(("section", SECTION), ("name", PARAM_NAME), ("value", U64)),
    weight=PARAMS_WEIGHT,
    origin=GOVERNANCE,
)
def set_param(ctx: CallContext, section: str, name: str, value: int) -> None:
    """Set one chain parameter, within its bounds and the cross-parameter checks."""
    _set_params(ctx, [[section, name, value]])


@calls.call(
    2,
    args=(("changes", List(PARAM_CHANGE, MAX_PARAM_CHANGES, min_len=1)),),
    weight=PARAMS_WEIGHT,
    origin=GOVERNANCE,
)
def set_params(ctx: CallContext, changes: list[list[Any]]) -> None:
    """Set several parameters at once: for those checked together (weights summing to 10000)."""
    _set_params(ctx, changes)


def check_param_changes(changes: list[list[Any]]) -> DispatchFailure | None:
    """The first state-independent problem of ``changes`` (unknown, repeated, out of
    bounds), or None. Governance runs it when a proposal is made."""
    seen: set[tuple[str, str]] = set()
    for section, name, value in changes:
        definition = PARAM_INDEX.get((section, name))
        if definition is None:
            return UnknownParam(f"no parameter {section}.{name}")
        if (section, name) in seen:
            return UnknownParam(f"{section}.{name} is changed twice in one call")
        seen.add((section, name))
        if not definition.minimum <= value <= definition.maximum:
            return ParamOutOfBounds(
                f"{section}.{name}={value} is outside [{definition.minimum}, "
                f"{definition.maximum}] ({definition.unit})"
            )
    return None


def check_validator_key(validator: bytes) -> DispatchFailure | None:
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(validator):
        return InvalidValidatorKey(f"0x{validator.hex()} is not a valid Ed25519 public key")
    return None


def _set_params(ctx: CallContext, changes: list[list[Any]]) -> None:
    problem = check_param_changes(changes)
    if problem is not None:
        raise problem
    table: dict[str, dict[str, int]] = {}
    for p in PARAMS:  # read through ctx: metered, and sees this block's earlier changes
        table.setdefault(p.section, {})[p.name] = param(ctx, p.section, p.name)
    for section, name, value in changes:
        table[section][name] = value
    problems = cross_check(table)
    if problems:
        raise ParamsInconsistent("; ".join(problems))
    for section, name, value in changes:
        if (section, name) == ("system", "epoch_length") and value != param(ctx, section, name):
            anchor_epoch_length_change(ctx)  # the new length counts from the current epoch
        ctx.put(param_key(section, name), codec.encode(value))
        ctx.emit(ParamChanged, section=section, name=name, value=value)


@calls.call(
    3,
    args=(("validator", VALIDATOR_KEY), ("power", POWER)),
    weight=VALIDATOR_WEIGHT,
    origin=GOVERNANCE,
)
def add_validator(ctx: CallContext, validator: bytes, power: int) -> None:
    """Add a validator with ``power``; it counts from H + 2 (G6)."""
    problem = check_validator_key(validator)
    if problem is not None:
        raise problem
    latest = api.latest_validator_set(ctx)
    if latest.power_of(validator) > 0:
        raise AlreadyValidator(f"0x{validator.hex()} is already a validator")
    if len(latest.validators) >= MAX_VALIDATORS:
        raise TooManyValidators(f"the set already has {MAX_VALIDATORS} validators")
    apply_at = api.schedule_validator_set(ctx, api.with_validator(latest, validator, power))
    ctx.emit(ValidatorAdded, validator=validator, power=power, apply_at=apply_at)


@calls.call(4, args=(("validator", VALIDATOR_KEY),), weight=VALIDATOR_WEIGHT, origin=GOVERNANCE)
def remove_validator(ctx: CallContext, validator: bytes) -> None:
    """Remove a validator; it stops counting at H + 2 (G6). The last one cannot go."""
    latest = api.latest_validator_set(ctx)
    if latest.power_of(validator) == 0:
        raise NotValidator(f"0x{validator.hex()} is not a validator")
    if len(latest.validators) == 1:
        raise EmptyValidatorSet("the last validator cannot be removed")
    apply_at = api.schedule_validator_set(ctx, api.without_validator(latest, validator))
    ctx.emit(ValidatorRemoved, validator=validator, apply_at=apply_at)
