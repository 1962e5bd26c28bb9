"""The governance list (G4): which calls a proposal may carry, and their checks.

Theory of operation
-------------------
A proposal carries a call as canonical MessagePack ``[pallet, function,
args]``. It must be connected to the ``GOVERNABLE`` hook (each entry is the
call's declaration, its kind: a validator change needs the larger majority
of G5, and an optional check of its arguments that needs no state) and
declared with the governance origin by its pallet. pallets/construct.py
connects the entries, so governance depends on no pallet whose calls it
enacts, and a call whose pallet is not in the runtime cannot be listed.

When the proposal is made, ``check_proposed_call`` refuses at once what can
never succeed: a call that does not decode, is not listed, or whose
arguments do not match the declaration (``check_args``: types, sizes), plus
the state-independent rules of the system calls (an unknown parameter, a
value outside its bounds, an invalid validator key). Rules that depend on
the state (cross-parameter constraints, "already a validator", a bioregion
that a proposal of the same round will register) are checked when the call
is enacted; a failure then is recorded on the proposal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.codec import CodecError
from ledger.types import Call
from pallets.governance.errors import BadCall, BadCallArguments, CallNotAllowed
from pallets.support.argtypes import ArgError, check_args
from pallets.support.declare import GOVERNANCE, CallDef, DispatchFailure
from pallets.support.wiring import Hook, Wiring
from pallets.system.calls import check_param_changes, check_validator_key

StaticCheck = Callable[[Mapping[str, Any]], DispatchFailure | None]

# (the call's declaration, its kind, a check of its arguments that needs no state)
Governable = tuple[CallDef, str, StaticCheck | None]
GOVERNABLE: Final = Hook[Governable](
    "governance.calls", "the calls a proposal may carry, each with its kind (G4, G5)"
)


def check_set_param(args: Mapping[str, Any]) -> DispatchFailure | None:
    return check_param_changes([[args["section"], args["name"], args["value"]]])


def check_set_params(args: Mapping[str, Any]) -> DispatchFailure | None:
    return check_param_changes(args["changes"])


def check_add_validator(args: Mapping[str, Any]) -> DispatchFailure | None:
    return check_validator_key(args["validator"])


def allowed(wiring: Wiring) -> dict[tuple[str, str], Governable]:
    """The governance list of a runtime: ``(pallet, function) -> entry``."""
    return {(entry[0].pallet, entry[0].name): entry for entry in wiring.get(GOVERNABLE)}


@dataclass(frozen=True, slots=True)
class ProposedCall:
    call: Call
    definition: CallDef
    args: dict[str, Any]
    kind: str


def decode_call(raw: bytes) -> Call:
    try:
        return Call.from_wire(codec.decode(raw))
    except CodecError as exc:
        raise BadCall(f"call: {exc}") from exc


def resolve(call: Call, wiring: Wiring) -> Governable:
    """The list's entry for a call; ``CallNotAllowed`` otherwise."""
    listed = allowed(wiring)
    entry = listed.get((call.pallet, call.function))
    if entry is None or entry[0].origin != GOVERNANCE:
        names = ", ".join(f"{p}.{f}" for p, f in sorted(listed))
        raise CallNotAllowed(
            f"{call.pallet}.{call.function} is not on the governance list ({names})"
        )
    return entry


def check_proposed_call(raw: bytes, wiring: Wiring) -> ProposedCall:
    """Decode, resolve and check a proposed call (see the module doc)."""
    call = decode_call(raw)
    definition, kind, static = resolve(call, wiring)
    try:
        args = check_args(definition.args, call.args)
    except ArgError as exc:
        raise BadCallArguments(f"{call.pallet}.{call.function}: {exc}") from exc
    problem = None if static is None else static(args)
    if problem is not None:
        raise BadCallArguments(f"{call.pallet}.{call.function}: {problem.error.message}")
    return ProposedCall(call, definition, args, kind)


def encode_call(pallet: str, function: str, args: Mapping[str, Any]) -> bytes:
    """The bytes a wallet puts in ``governance.propose``'s ``call`` argument."""
    return codec.encode(Call(pallet, function, dict(args)).to_wire())
