"""Shared steps for the health and commons tests: a chain with a governance stand-in.

The governance pallet enacts passed proposals with ``ctx.dispatch(call, args,
Origin.governance())``. These tests need the same without a vote, so the
runtime gets one extra test pallet, ``sudo``, whose signed call decodes
``[pallet, function, args]`` and dispatches it with the governance origin;
an inner failure fails the extrinsic with the inner error (code and rule).
"""

from __future__ import annotations

from typing import Any, Final

from ledger import codec
from ledger.crypto import Keypair
from ledger.types import Receipt
from pallets import construct
from pallets.executive.registry import PalletRegistry
from pallets.health import api as health_api
from pallets.support.argtypes import Bytes
from pallets.support.context import CallContext
from pallets.support.declare import CallSet, DispatchFailure, ErrorSet, Origin, Pallet
from pallets.support.weights import WeightTable, load_weights
from pallets.system.storage import GENESIS_TIME
from tests.pallets.helpers import ALICE, TestChain, test_doc

EPOCH: Final = 60  # localnet system.epoch_length

calls = CallSet("sudo")
errors = ErrorSet("sudo")
UnknownCall: Final = errors.define(0, "UnknownCall", rule="test", doc="no such call")


@calls.call(0, args=(("call", Bytes(4096)),), weight=4000)
def sudo(ctx: CallContext, call: bytes) -> None:
    """Dispatch ``[pallet, function, args]`` with the governance origin."""
    pallet, function, args = codec.decode(call)
    target = registry().call(pallet, function)
    if target is None:
        raise UnknownCall(f"{pallet}.{function}")
    error = ctx.dispatch(target, args, Origin.governance())
    if error is not None:
        raise DispatchFailure(error)


SUDO: Final = Pallet(
    name="sudo", index=99, doc="test: governance stand-in", calls=tuple(calls.defs),
    errors=tuple(errors.defs),
)  # fmt: skip


def registry() -> PalletRegistry:
    # The stand-in's 4 000 operations at the table's slowest rate would not fit in
    # a block: give it 1 µs per operation (it only dispatches a governance call).
    table = load_weights()
    weights = WeightTable(
        table.extrinsic_base, table.ns_per_op, {**table.call_ns_per_op, "sudo.sudo": 1000}
    )
    pallets = (*(p for p in construct.PALLETS if p.payment is None), SUDO)
    return PalletRegistry(pallets, weights, wiring=construct.WIRING)


def chain(**overrides: Any) -> TestChain:
    """A localnet TestChain (bioregion "localnet", oracles alice and bob) with ``sudo``."""
    return TestChain(test_doc(**overrides) if overrides else None, registry=registry())


def govern(chain: TestChain, pallet: str, function: str, **args: Any) -> Receipt:
    """Enact one governance-origin call in its own block; the receipt (success or not)."""
    raw = chain.sign(ALICE, "sudo", "sudo", {"call": codec.encode([pallet, function, args])})
    (receipt,) = chain.execute([raw]).receipts
    return receipt


def govern_ok(chain: TestChain, pallet: str, function: str, **args: Any) -> Receipt:
    receipt = govern(chain, pallet, function, **args)
    assert receipt.success, receipt.error
    return receipt


def epoch_now(chain: TestChain, ahead: int = 1) -> int:
    """The epoch of the next block (``ahead`` seconds after the last one)."""
    start: int = GENESIS_TIME.get(chain.state())
    return (chain.time_ms // 1000 + ahead - start) // EPOCH


def to_epoch(chain: TestChain, epoch: int, extrinsics: list[bytes] | None = None) -> None:
    """Execute one block at the first second of ``epoch`` (its on_epoch hooks run)."""
    start: int = GENESIS_TIME.get(chain.state())
    seconds = start + epoch * EPOCH - chain.time_ms // 1000
    assert seconds >= 1, "already in or past that epoch"
    chain.execute(extrinsics or [], seconds=seconds)


def observe(
    chain: TestChain,
    oracle: Keypair,
    components: list[int],
    *,
    epoch: int | None = None,
    region: str = "localnet",
) -> Receipt:
    """One oracle's observation in its own block (for the next block's epoch by default)."""
    args = {
        "bioregion": region,
        "epoch": epoch_now(chain) if epoch is None else epoch,
        "components": components,
    }
    (receipt,) = chain.execute([chain.sign(oracle, "health", "observe", args)]).receipts
    return receipt


def score(chain: TestChain, region: str = "localnet") -> int | None:
    return health_api.health_score(chain.state(), region)
