"""How a pallet declares itself: calls, origins, errors, events, hooks.

Theory of operation
-------------------
A pallet is data plus plain functions. Each part is declared once, next to
the code that uses it, and the runtime derives from these declarations both
its behaviour (argument checks, origin checks, weight limits, error receipts)
and the metadata that ``state_getMetadata`` serves. Nothing is written twice.

* ``CallSet.call(index, args, weight, origin)`` decorates a function
  ``fn(ctx, **args)``: its stable index, typed arguments, required origin and
  bounded weight (an int, or a function of the checked arguments).
* ``ErrorSet.define(index, name, rule)`` gives an ``ErrorDef``; calling it with
  a message gives the ``DispatchFailure`` exception a call raises. The receipt
  carries ``DispatchError(pallet, name, rule, message)``: the name is the
  stable code, the rule cites spec/credit-rules.md (or docs/runtime.md).
* ``EventSet.define(name, fields)`` gives an ``EventDef``; ``ctx.emit`` checks
  the attributes against the declared fields.
* ``QuerySet.query`` (pallets/support/queries.py) declares a read-only query
  ``fn(state, **args)`` with typed arguments and a typed result.
* ``Hooks`` holds optional block hooks and the ``try_state`` invariant check.
* ``Pallet`` ties them together with the pallet's name and stable index.

Origins are an open vocabulary of kinds (``signed``, ``governance``, ``fund``,
``root``...): a later pallet may introduce its own kind by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ledger.types import DispatchError, Event
from pallets.support.argtypes import ArgType
from pallets.support.genesis_config import GenesisConfig
from pallets.support.wiring import Reader

if TYPE_CHECKING:
    from pallets.support.context import CallContext
    from pallets.support.payment import TransactionPayment
    from pallets.support.queries import QueryDef
    from pallets.support.storage import StorageItem

NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
EVENT_NAME_RE: Final = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")

# Origin kinds known to the framework. Extrinsics always dispatch as SIGNED;
# the other kinds are used by pallets that dispatch on someone's behalf
# (governance enactment, a fund's consent decision).
SIGNED: Final = "signed"
GOVERNANCE: Final = "governance"
FUND: Final = "fund"
ROOT: Final = "root"


@dataclass(frozen=True, slots=True)
class Origin:
    """Who is calling: ``kind`` plus its subject (the account, the fund id)."""

    kind: str
    subject: bytes | int | str | None = None

    @classmethod
    def signed(cls, account: bytes) -> Origin:
        return cls(SIGNED, account)

    @classmethod
    def governance(cls) -> Origin:
        return cls(GOVERNANCE)

    @classmethod
    def fund(cls, fund_id: bytes | int) -> Origin:
        return cls(FUND, fund_id)


class DispatchFailure(Exception):
    """Raised by a call (or the runtime) to fail it; becomes a failed receipt."""

    def __init__(self, error: DispatchError) -> None:
        super().__init__(f"{error.pallet}.{error.code} [{error.rule}]: {error.message}")
        self.error = error


class RuntimeFault(RuntimeError):
    """A bug in a pallet or the runtime (misuse of the framework): fail loudly."""


# ---------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class ErrorDef:
    pallet: str
    index: int
    name: str
    rule: str
    doc: str

    def __call__(self, message: str) -> DispatchFailure:
        return DispatchFailure(DispatchError(self.pallet, self.name, self.rule, message[:1024]))

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "rule": self.rule, "doc": self.doc}


class ErrorSet:
    """The errors of one pallet, with stable indices and names."""

    def __init__(self, pallet: str) -> None:
        self.pallet = pallet
        self.defs: list[ErrorDef] = []

    def define(self, index: int, name: str, *, rule: str, doc: str) -> ErrorDef:
        if not EVENT_NAME_RE.match(name):
            raise RuntimeFault(f"error name {name!r} must be CamelCase")
        if any(d.index == index or d.name == name for d in self.defs):
            raise RuntimeFault(f"{self.pallet}: error {index}/{name} declared twice")
        error = ErrorDef(self.pallet, index, name, rule, doc)
        self.defs.append(error)
        return error


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class EventDef:
    pallet: str
    name: str
    fields: tuple[tuple[str, ArgType], ...]
    doc: str
    # Made once, since every emitted event is checked: (field, type, how an error
    # names it) in canonical key order (UTF-8 bytes), so that the event's attributes
    # are built in the order its encoding needs; and the set of field names.
    _checks: tuple[tuple[str, ArgType, str], ...] = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _map_free: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [n for n, _ in self.fields]
        if len(set(names)) != len(names):
            raise RuntimeFault(f"event {self.pallet}.{self.name} declares a field twice: {names}")
        ordered = sorted(self.fields, key=lambda pair: pair[0].encode("utf-8"))
        checks = tuple((n, kind, f"event {self.pallet}.{self.name}.{n}") for n, kind in ordered)
        object.__setattr__(self, "_checks", checks)
        object.__setattr__(self, "_names", frozenset(names))
        object.__setattr__(self, "_map_free", all(kind.map_free() for _, kind in self.fields))

    def build(self, attrs: Mapping[str, Any]) -> Event:
        """The event with ``attrs``, checked against the declared fields.

        The attributes are copied in canonical key order; when no declared
        type can hold a map (or a float), the event is encoded without
        ``codec.encode``'s sorting walk (``Event.ordered``).
        """
        if attrs.keys() != self._names:
            raise RuntimeFault(
                f"event {self.pallet}.{self.name} takes {[n for n, _ in self.fields]}, "
                f"got {sorted(attrs)}"
            )
        for name, kind, path in self._checks:
            kind.check(attrs[name], path)
        ordered = {n: attrs[n] for n, _, _ in self._checks}
        return Event(self.pallet, self.name, ordered, self._map_free)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fields": [{"name": n, "type": t.name, "def": t.describe()} for n, t in self.fields],
            "doc": self.doc,
        }


class EventSet:
    def __init__(self, pallet: str) -> None:
        self.pallet = pallet
        self.defs: list[EventDef] = []

    def define(self, name: str, fields: Sequence[tuple[str, ArgType]], *, doc: str) -> EventDef:
        if not EVENT_NAME_RE.match(name) or any(d.name == name for d in self.defs):
            raise RuntimeFault(f"{self.pallet}: bad or repeated event name {name!r}")
        event = EventDef(self.pallet, name, tuple(fields), doc)
        self.defs.append(event)
        return event


# ---------------------------------------------------------------- calls

CallFn = Callable[..., None]
Weight = int | Callable[[Mapping[str, Any]], int]


@dataclass(frozen=True, slots=True)
class CallDef:
    """One dispatchable function of a pallet."""

    pallet: str
    index: int
    name: str
    args: tuple[tuple[str, ArgType], ...]
    origin: str
    weight: Weight
    fn: CallFn
    doc: str

    def weight_of(self, args: Mapping[str, Any]) -> int:
        """The declared upper bound of storage operations for these arguments."""
        weight = self.weight(args) if callable(self.weight) else self.weight
        if weight <= 0:
            raise RuntimeFault(f"{self.pallet}.{self.name}: weight must be positive")
        return weight

    def describe(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "args": [{"name": n, "type": t.name, "def": t.describe()} for n, t in self.args],
            "origin": self.origin,
            "weight": self.weight if isinstance(self.weight, int) else "depends on arguments",
            "doc": self.doc,
        }


class CallSet:
    """The calls of one pallet, declared with the ``call`` decorator."""

    def __init__(self, pallet: str) -> None:
        self.pallet = pallet
        self.defs: list[CallDef] = []

    def call(
        self,
        index: int,
        *,
        args: Sequence[tuple[str, ArgType]],
        weight: Weight,
        origin: str = SIGNED,
    ) -> Callable[[CallFn], CallFn]:
        def register(fn: CallFn) -> CallFn:
            name = fn.__name__
            if not NAME_RE.match(name):
                raise RuntimeFault(f"call name {name!r} must be snake_case")
            if any(d.index == index or d.name == name for d in self.defs):
                raise RuntimeFault(f"{self.pallet}: call {index}/{name} declared twice")
            # The first paragraph, its line breaks and indentation folded to single spaces.
            doc = " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())
            self.defs.append(
                CallDef(self.pallet, index, name, tuple(args), origin, weight, fn, doc)
            )
            return fn

        return register


# ---------------------------------------------------------------- hooks, pallet

BlockHook = Callable[["CallContext"], None]
EpochHook = Callable[["CallContext", int], None]
TryState = Callable[[Reader], list[str]]
GenesisHook = Callable[["GenesisConfig", "CallContext"], None]


@dataclass(frozen=True, slots=True)
class Hooks:
    """Optional block hooks; each must do bounded work (they are not metered)."""

    on_initialize: BlockHook | None = None
    on_finalize: BlockHook | None = None
    on_epoch: EpochHook | None = None
    try_state: TryState | None = None


@dataclass(frozen=True, slots=True)
class Pallet:
    """A pallet as the runtime sees it."""

    name: str
    index: int
    doc: str
    calls: tuple[CallDef, ...] = ()
    events: tuple[EventDef, ...] = ()
    errors: tuple[ErrorDef, ...] = ()
    storage: tuple[StorageItem, ...] = ()
    constants: Mapping[str, int | str] = field(default_factory=dict)
    hooks: Hooks = field(default_factory=Hooks)
    genesis: GenesisHook | None = None
    queries: tuple[QueryDef, ...] = ()
    # Set by the one pallet that charges for inclusion (P1); see runtime/payment.py.
    payment: TransactionPayment | None = None

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise RuntimeFault(f"pallet name {self.name!r} must be snake_case")
        parts: tuple[CallDef | EventDef | ErrorDef | StorageItem | QueryDef, ...] = (
            *self.calls,
            *self.events,
            *self.errors,
            *self.storage,
            *self.queries,
        )
        for part in parts:
            if part.pallet != self.name:
                raise RuntimeFault(f"{part!r} is declared for {part.pallet}, not {self.name}")


# ---------------------------------------------------------------- framework errors

# The errors the runtime itself raises while dispatching. They belong to the
# system pallet (whose errors.py adds its own to this set), and are defined
# here so that the framework does not depend on any pallet for them.
SYSTEM_ERRORS: Final = ErrorSet("system")
WeightExhausted: Final = SYSTEM_ERRORS.define(
    0,
    "WeightExhausted",
    rule="S3",
    doc="the call did more storage operations than its declared weight",
)
BadOrigin: Final = SYSTEM_ERRORS.define(
    1, "BadOrigin", rule="S4", doc="the call needs another origin than the one it was given"
)
BadArguments: Final = SYSTEM_ERRORS.define(
    2, "BadArguments", rule="", doc="a dispatched call's arguments do not match its declaration"
)
