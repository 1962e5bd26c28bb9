"""System hooks: record the block's height and time, apply due validator sets,
advance epochs, and check the pallet's invariants.
"""

from __future__ import annotations

from ledger.overlay import StateReader
from pallets.support.context import CallContext
from pallets.support.declare import Hooks
from pallets.support.params import param
from pallets.system.api import scheduled_validator_set
from pallets.system.events import EpochStarted, ValidatorSetApplied
from pallets.system.storage import (
    EPOCH,
    EPOCH_ANCHOR,
    GENESIS_TIME,
    NUMBER,
    TIME,
    VALIDATOR_CHANGES,
    VALIDATORS,
)


def on_initialize(ctx: CallContext) -> None:
    height = ctx.block.height
    NUMBER.put(ctx, height)
    TIME.put(ctx, ctx.block.time)
    due = scheduled_validator_set(ctx, height)
    if due is not None:
        VALIDATORS.put(ctx, due.to_wire())
        VALIDATOR_CHANGES.delete(ctx, height)
        ctx.emit(ValidatorSetApplied, validators_hash=due.hash)


def epoch_anchor(state: StateReader) -> tuple[int, int]:
    """``(index, start)``: an epoch and its start time that later epochs count from.

    Genesis time and epoch 0 until governance changes ``system.epoch_length``;
    then the epoch in progress and its start (``anchor_epoch_length_change``),
    so a new length applies from the current epoch: the index never goes back
    (which would stall every ``on_epoch`` hook and leave oracle observations
    behind the open epoch) and never jumps ahead.
    """
    anchor = EPOCH_ANCHOR.get(state)
    if anchor is None:
        return 0, int(GENESIS_TIME.get(state))
    return int(anchor[0]), int(anchor[1])


def epoch_at(state: StateReader, time: int) -> int:
    """The epoch index at block time ``time`` (seconds)."""
    index, start = epoch_anchor(state)
    length = param(state, "system", "epoch_length")
    return index + max(0, time - start) // length


def anchor_epoch_length_change(ctx: CallContext) -> None:
    """Before ``system.epoch_length`` changes: anchor epochs at the current one's start."""
    index, start = epoch_anchor(ctx)
    length = param(ctx, "system", "epoch_length")
    current = index + max(0, ctx.block.time - start) // length
    EPOCH_ANCHOR.put(ctx, [current, start + (current - index) * length])


def advance_epoch(ctx: CallContext) -> int | None:
    """Store the epoch of this block's time; return it if a new one began.

    When block time jumps over several epochs (a halted chain), one epoch
    start is reported, with the new index: hooks must read the index, not
    count calls.
    """
    current = EPOCH.get(ctx)
    now = epoch_at(ctx, ctx.block.time)
    if now <= current:
        return None
    EPOCH.put(ctx, now)
    ctx.emit(EpochStarted, epoch=now)
    return now


def try_state(state: StateReader) -> list[str]:
    problems = []
    validators = VALIDATORS.get(state)
    if not validators:
        problems.append("system: the validator set is empty")
    keys = [v[0] for v in validators]
    if keys != sorted(set(keys)):
        problems.append("system: validators not sorted by key or repeated")
    if any(v[1] <= 0 for v in validators):
        problems.append("system: a validator has no voting power")
    for apply_at, _ in VALIDATOR_CHANGES.items(state):
        if apply_at <= NUMBER.get(state):
            problems.append(f"system: a validator change for past height {apply_at} remains")
    if TIME.get(state) < GENESIS_TIME.get(state):
        problems.append("system: block time before genesis time")
    return problems


HOOKS = Hooks(on_initialize=on_initialize, try_state=try_state)
