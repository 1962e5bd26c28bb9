"""A test pallet that exercises the framework: weights, rollback, origins, hooks."""

from __future__ import annotations

from typing import Final

from ledger.types import Validator, ValidatorSet
from pallets import balances, system
from pallets.executive.registry import PalletRegistry
from pallets.support.argtypes import (
    ACCOUNT,
    AMOUNT,
    BOOL,
    BPS,
    HASH,
    U8,
    U32,
    U64,
    Bytes,
    Enum,
    List,
    Optional,
    Text,
)
from pallets.support.context import CallContext
from pallets.support.declare import (
    GOVERNANCE,
    CallSet,
    ErrorSet,
    EventSet,
    Hooks,
    Origin,
    Pallet,
)
from pallets.support.storage import U64_KEY, StorageSet
from pallets.system.api import schedule_validator_set

NAME: Final = "probe"
calls = CallSet(NAME)
errors = ErrorSet(NAME)
events = EventSet(NAME)
storage = StorageSet(NAME)

COUNTER: Final = storage.value("counter", U64, default=0, doc="a counter")
EPOCHS: Final = storage.map("epochs", U64_KEY, U64, default=0, doc="epoch -> starting height")
SEED: Final = storage.value("seed", Optional(HASH), default=None, doc="last block seed")
Failed: Final = errors.define(0, "Failed", rule="P1", doc="the probe was asked to fail")
Counted: Final = events.define("Counted", (("value", U64),), doc="the counter moved")
EpochSeen: Final = events.define("EpochSeen", (("epoch", U64),), doc="on_epoch ran")


@calls.call(0, args=(("reads", U32),), weight=3)
def hog(ctx: CallContext, reads: int) -> None:
    """Read ``reads`` keys; more than 3 exhausts the declared weight."""
    for index in range(reads):
        ctx.get(b"probe/x/" + index.to_bytes(4, "big"))


@calls.call(1, args=(("value", U64), ("fail", BOOL)), weight=2)
def count(ctx: CallContext, value: int, fail: bool) -> None:
    """Set the counter and emit an event, then fail if asked."""
    COUNTER.put(ctx, value)
    ctx.emit(Counted, value=value)
    if fail:
        raise Failed("asked to fail")


@calls.call(2, args=(("keys", List(ACCOUNT, 8, min_len=1, unique=True)),), weight=2)
def set_validators(ctx: CallContext, keys: list[bytes]) -> None:
    """Schedule a validator set of ``keys`` with power 1 each."""
    schedule_validator_set(ctx, ValidatorSet.of([Validator(k, 1) for k in keys]))


@calls.call(3, args=(), weight=1, origin=GOVERNANCE)
def govern(ctx: CallContext) -> None:
    """Only governance may call this."""


@calls.call(
    4,
    args=(
        ("small", U8),
        ("amount", AMOUNT),
        ("ratio", BPS),
        ("blob", Bytes(4)),
        ("note", Text(8)),
        ("kind", Enum(("a", "b"))),
        ("maybe", Optional(HASH)),
    ),
    weight=1,
)
def shapes(
    ctx: CallContext,
    small: int,
    amount: int,
    ratio: int,
    blob: bytes,
    note: str,
    kind: str,
    maybe: bytes | None,
) -> None:
    """Accept one argument of each kind."""


def on_finalize(ctx: CallContext) -> None:
    SEED.put(ctx, ctx.block.seed)


def on_epoch(ctx: CallContext, epoch: int) -> None:
    EPOCHS.put(ctx, epoch, ctx.block.height)
    ctx.emit(EpochSeen, epoch=epoch)


@calls.call(5, args=(("as_governance", BOOL), ("fail", BOOL)), weight=10)
def relay(ctx: CallContext, as_governance: bool, fail: bool) -> None:
    """Dispatch ``govern`` (governance origin) or ``count`` on someone's behalf."""
    registry_calls = {c.name: c for c in calls.defs}
    origin = Origin.governance() if as_governance else Origin.signed(ctx.signer)
    outcome = ctx.dispatch(registry_calls["govern"], {}, origin)
    RELAYED.put(ctx, "ok" if outcome is None else outcome.code)
    inner = ctx.dispatch(registry_calls["count"], {"value": 9, "fail": fail}, ctx.origin or origin)
    if inner is not None:
        RELAYED.put(ctx, inner.code)


RELAYED: Final = storage.value("relayed", Text(32), default="", doc="last relay outcome")


PALLET: Final = Pallet(
    name=NAME,
    index=50,
    doc="test probe",
    calls=tuple(calls.defs),
    events=tuple(events.defs),
    errors=tuple(errors.defs),
    storage=tuple(storage.items),
    constants={"answer": 42},
    hooks=Hooks(on_finalize=on_finalize, on_epoch=on_epoch),
)


def probe_registry() -> PalletRegistry:
    return PalletRegistry((system.PALLET, balances.PALLET, PALLET))
