"""The governance list (G4): which calls a proposal may carry, and their checks.

Theory of operation
-------------------
A proposal carries a call as canonical MessagePack ``[pallet, function,
args]``. It must be on ``ALLOWED`` (each entry names its kind: a validator
change needs the larger majority of G5) and declared with the governance
origin by its pallet. The call definition is looked up in the runtime's
registry when needed (``pallets.construct`` is imported lazily: it imports
this pallet), so governance depends on no pallet whose calls it enacts, and a
listed call whose pallet is not in the runtime is refused as not allowed.

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
from pallets.executive.registry import PalletRegistry
from pallets.governance.errors import BadCall, BadCallArguments, CallNotAllowed
from pallets.support.argtypes import ArgError, check_args
from pallets.support.declare import GOVERNANCE, CallDef, DispatchFailure
from pallets.system.calls import check_param_changes, check_validator_key

StaticCheck = Callable[[Mapping[str, Any]], DispatchFailure | None]

ALLOWED: Final[Mapping[tuple[str, str], str]] = {
    ("system", "set_param"): "parameter",  # also the redistribution share, score weights
    ("system", "set_params"): "parameter",
    ("system", "add_validator"): "validator",
    ("system", "remove_validator"): "validator",
    ("members", "add_registrar"): "registrar",
    ("members", "remove_registrar"): "registrar",
    ("health", "register_bioregion"): "bioregion",
    ("health", "set_fund_bioregion"): "bioregion",
    ("health", "set_oracles"): "oracles",
    ("commons", "mint"): "mint",
}
STATIC_CHECKS: Final[Mapping[tuple[str, str], StaticCheck]] = {
    ("system", "set_param"): lambda a: check_param_changes([[a["section"], a["name"], a["value"]]]),
    ("system", "set_params"): lambda a: check_param_changes(a["changes"]),
    ("system", "add_validator"): lambda a: check_validator_key(a["validator"]),
}

_registry: PalletRegistry | None = None


def runtime_registry() -> PalletRegistry:
    global _registry
    if _registry is None:
        from pallets import construct  # lazily: construct imports this pallet

        _registry = construct.registry()
    return _registry


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


def resolve(call: Call) -> tuple[CallDef, str]:
    """The definition and kind of an allowed call; ``CallNotAllowed`` otherwise."""
    kind = ALLOWED.get((call.pallet, call.function))
    definition = runtime_registry().call(call.pallet, call.function)
    if kind is None or definition is None or definition.origin != GOVERNANCE:
        allowed = ", ".join(f"{p}.{f}" for p, f in sorted(ALLOWED))
        raise CallNotAllowed(
            f"{call.pallet}.{call.function} is not on the governance list ({allowed})"
        )
    return definition, kind


def check_proposed_call(raw: bytes) -> ProposedCall:
    """Decode, resolve and check a proposed call (see the module doc)."""
    call = decode_call(raw)
    definition, kind = resolve(call)
    try:
        args = check_args(definition.args, call.args)
    except ArgError as exc:
        raise BadCallArguments(f"{call.pallet}.{call.function}: {exc}") from exc
    static = STATIC_CHECKS.get((call.pallet, call.function))
    problem = None if static is None else static(args)
    if problem is not None:
        raise BadCallArguments(f"{call.pallet}.{call.function}: {problem.error.message}")
    return ProposedCall(call, definition, args, kind)


def encode_call(pallet: str, function: str, args: Mapping[str, Any]) -> bytes:
    """The bytes a wallet puts in ``governance.propose``'s ``call`` argument."""
    return codec.encode(Call(pallet, function, dict(args)).to_wire())
