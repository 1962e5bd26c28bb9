"""How pallets reach each other without importing each other: declared hooks.

Theory of operation
-------------------
A pallet that lets others act at one of its points (the funds pallet when a
rate is lowered, the loans pallet when money flows or a loan is written off,
the trust pallet when it asks whether an account is a registered person)
declares a ``Hook`` in its ``api.py``: a name, the type of what plugs in,
and a sentence saying when it runs and what it is for.

Nothing plugs into a hook at import. ``pallets/construct.py`` is the one
place that connects hooks to the functions other pallets offer, as a
``Wiring``: for each hook an ordered tuple. The order is the order the
functions run in, written down where a reviewer sees it, so no import
sorter can change consensus. Code reaches a hook through its context
(``ctx.wiring.get(HOOK)``), the way a FRAME pallet reaches another through
its ``Config``. A registry built without a wiring (a unit test's mock
runtime) runs every hook with nothing connected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from ledger.overlay import StateReader

F = TypeVar("F")
_HOOK_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,63}")


class WiringError(ValueError):
    """A hook or a wiring that cannot be: a bug in the runtime's assembly."""


# Not slots: ``Hook[X](...)`` sets ``__orig_class__`` on the instance.
@dataclass(frozen=True, eq=False)
class Hook(Generic[F]):
    """A point where other pallets plug in; identity is the object itself."""

    name: str  # "<pallet>.<point>", as it appears in metadata and docs
    doc: str
    single: bool = False  # at most one function may be connected

    def __post_init__(self) -> None:
        if not _HOOK_NAME.fullmatch(self.name):
            raise WiringError(f"hook name {self.name!r} must be '<pallet>.<point>'")


class Wiring:
    """Which functions are connected to which hooks, in running order."""

    __slots__ = ("_connections", "_names")

    def __init__(self, connections: Mapping[Hook[Any], Sequence[Any]]) -> None:
        names = [hook.name for hook in connections]
        if len(set(names)) != len(names):
            raise WiringError(f"two hooks share a name: {sorted(names)}")
        for hook, functions in connections.items():
            if hook.single and len(functions) > 1:
                raise WiringError(f"hook {hook.name} takes one function, got {len(functions)}")
        self._connections: dict[Hook[Any], tuple[Any, ...]] = {
            hook: tuple(functions) for hook, functions in connections.items()
        }
        self._names = dict(zip(names, connections, strict=True))

    def get(self, hook: Hook[F]) -> tuple[F, ...]:
        """The functions connected to ``hook``, in running order (maybe none)."""
        return self._connections.get(hook, ())

    def describe(self) -> list[dict[str, Any]]:
        """For metadata and docs: each hook, what it is for, what is connected, in order."""
        return [
            {
                "hook": name,
                "doc": self._names[name].doc,
                "connected": [_name_of(f) for f in self._connections[self._names[name]]],
            }
            for name in sorted(self._names)
        ]


def _name_of(connected: Any) -> str:
    """A readable name: a function's dotted name; a tuple's parts (a key, a call) joined."""
    if isinstance(connected, tuple):
        return " ".join(_name_of(part) for part in connected if part is not None)
    if isinstance(connected, str):
        return connected
    if hasattr(connected, "pallet") and hasattr(connected, "name"):  # a call declaration
        return f"{connected.pallet}.{connected.name}"
    return f"{connected.__module__}.{connected.__qualname__}"


NO_WIRING: Final = Wiring({})


class Reader(StateReader, Protocol):
    """A state to read and the wiring to reach other pallets' hooks with."""

    @property
    def wiring(self) -> Wiring: ...
