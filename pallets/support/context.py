"""What a call or a hook sees: the block, its origin, a metered state, events.

Theory of operation
-------------------
``BlockInfo`` is everything a pallet may know about "now": height, BFT time
in seconds (``timestamp_ms // 1000``), the epoch, the proposer, a
deterministic per-block seed and the block's VRF output (``vrf_output``, the
64-byte RFC 9381 output of the proposer's proof in the header, verified before
any hook runs: unpredictable before the parent block exists and not
choosable by the proposer, C6). Nothing else (no wall clock, no randomness).

``CallContext`` wraps the block's ``StateOverlay``. Every ``get``, ``put``,
``delete`` and every item yielded by ``iterate`` costs one unit of weight;
a call runs with its declared weight as a budget and fails with
``system.WeightExhausted`` when it would exceed it. Counting is
deterministic, so every node fails the same call at the same operation: this
is what bounds the work of a call even if its declared weight is wrong.
Hooks run with ``budget=None`` (unmetered; they must bound their own work).

Events emitted through ``emit`` are collected on the context: the runtime
keeps them when the call succeeds and drops them with its overlay layer when
it fails.

Both contexts carry the runtime's ``Wiring`` (``pallets.support.wiring``):
how a pallet reaches the functions other pallets connected to its hooks.
``ReadContext`` is the read-only one that queries (and anything else reading
a committed state outside a block) use: unmetered, no events, no origin.
``wiring.Reader`` is what a function that only reads asks for: either context.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ledger.overlay import StateOverlay, StateReader
from ledger.types import DispatchError, Event
from pallets.support import params as params_module
from pallets.support.argtypes import ArgError, check_args
from pallets.support.declare import (
    SIGNED,
    BadArguments,
    BadOrigin,
    CallDef,
    DispatchFailure,
    EventDef,
    Origin,
    RuntimeFault,
    WeightExhausted,
)
from pallets.support.wiring import Wiring

SEED_DOMAIN: Final = b"credichain/block-seed/1"


@dataclass(frozen=True, slots=True)
class BlockInfo:
    height: int
    timestamp_ms: int
    parent_hash: bytes
    last_commit_hash: bytes
    proposer: bytes
    seed: bytes
    epoch: int
    vrf_output: bytes = bytes(64)

    @property
    def time(self) -> int:
        """BFT time in whole seconds: what every rule of the chain calls "now"."""
        return self.timestamp_ms // 1000


class ReadContext:
    """A committed (or any) state read outside a block: for queries and checks."""

    __slots__ = ("_state", "wiring")

    def __init__(self, state: StateReader, *, wiring: Wiring) -> None:
        self._state = state
        self.wiring = wiring

    def get(self, key: bytes) -> bytes | None:
        return self._state.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self._state.iterate(prefix)

    def param(self, section: str, name: str) -> int:
        return params_module.param(self._state, section, name)


class CallContext:
    """The state, block and origin of one call or hook, with a weight meter."""

    __slots__ = ("_budget", "_state", "block", "events", "origin", "used", "wiring")

    def __init__(
        self,
        state: StateOverlay,
        block: BlockInfo,
        origin: Origin | None,
        budget: int | None,
        *,
        wiring: Wiring,
    ) -> None:
        self._state = state
        self.block = block
        self.origin = origin
        self.events: list[Event] = []
        self._budget = budget
        self.used = 0
        self.wiring = wiring

    # -- metered state access

    def _charge(self, units: int = 1) -> None:
        self.used += units
        if self._budget is not None and self.used > self._budget:
            raise WeightExhausted(
                f"the call did more than its declared weight of {self._budget} storage operations"
            )

    def get(self, key: bytes) -> bytes | None:
        self._charge()
        return self._state.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self._charge()
        self._state.put(key, value)

    def delete(self, key: bytes) -> None:
        self._charge()
        self._state.delete(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for item in self._state.iterate(prefix):
            self._charge()
            yield item

    # -- events, origin, parameters

    def emit(self, event: EventDef, **attrs: Any) -> None:
        self.events.append(event.build(attrs))

    @property
    def signer(self) -> bytes:
        """The signing account; the call's declaration guarantees a signed origin."""
        origin = self.origin
        if origin is None or origin.kind != SIGNED or not isinstance(origin.subject, bytes):
            raise RuntimeFault("signer asked of a call that is not signed")
        return origin.subject

    def param(self, section: str, name: str) -> int:
        """A chain parameter's value as of this point of the block (unmetered)."""
        return params_module.param(self._state, section, name)

    # -- dispatching on someone's behalf

    def dispatch(
        self, call: CallDef, args: Mapping[str, Any], origin: Origin
    ) -> DispatchError | None:
        """Run ``call`` with ``origin`` in a layer of its own; None on success.

        For pallets that act for a non-signed origin (governance enacting a
        passed proposal, a fund executing its funders' decision). The call's
        declared weight is charged to this context first; a failure drops the
        call's writes and events and is returned, not raised, so the caller
        decides what it means (e.g. record "enactment failed").
        """
        if call.origin != origin.kind:
            return BadOrigin(f"{call.pallet}.{call.name} needs a {call.origin} origin").error
        try:
            checked = check_args(call.args, dict(args))
        except ArgError as exc:
            return BadArguments(f"{call.pallet}.{call.name}: {exc}").error
        weight = call.weight_of(checked)
        self._charge(weight)
        inner = CallContext(self._state, self.block, origin, weight, wiring=self.wiring)
        self._state.open_layer()
        try:
            call.fn(inner, **checked)
        except DispatchFailure as failure:
            self._state.drop_layer()
            return failure.error
        self._state.commit_layer()
        self.events.extend(inner.events)
        return None
