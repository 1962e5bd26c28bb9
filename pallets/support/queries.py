"""How a pallet declares its read-only queries: runtime APIs with typed arguments and results.

Theory of operation
-------------------
A pallet declares each query once, in its ``queries.py``, next to the state
it reads (as Substrate's runtime APIs live in the runtime, not in the node)::

    queries = QuerySet("credit")

    @queries.query("getRequest", args=(("request", U64),), result=Optional(REQUEST_VIEW))
    def get_request(state: QueryReader, request: int) -> dict[str, Any] | None:
        \"\"\"A credit request with its draw, verdicts and approval record (C1-C9).\"\"\"

A query is a pure function of a block's state: ``fn(state, **args) ->
result``. Its arguments are ``ArgType``s, as a call's are, checked before it
runs (``QueryDef.run``); a query that refuses an argument for a reason no
type states raises ``BadArgument(name, reason)``. Its result is a Python
value of its declared ``result`` type: accounts and hashes as bytes,
amounts as ints. A query knows nothing of JSON, addresses or the RPC: the
RPC layer (rpc/queries.py) turns every declaration into a method
``<namespace>_<name>``, converts its arguments and its result by their
types, and generates the JSON schema of both for ``rpc_discover``.

Result types are the ``ArgType`` vocabulary plus three kinds only results
need: ``Struct`` (a dict with named fields, one type each), ``Map`` (a dict
whose text keys are data) and ``DYNAMIC`` (a ``Typed`` value that carries its
own type: a proposal's call arguments, typed by the call it names).

The namespace is the pallet's name unless the query set or the query says
otherwise: the governance pallet serves ``gov_*``, and the loans pallet
``funds_report`` (a fund's report needs the loans, which funds cannot import).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from pallets.support.argtypes import ArgError, ArgType, Optional, Text
from pallets.support.declare import RuntimeFault
from pallets.support.wiring import Reader

QUERY_NAME_RE: Final = re.compile(r"^[a-z][a-zA-Z0-9]{0,63}$")
NAMESPACE_RE: Final = re.compile(r"^[a-z][a-z0-9]{0,31}$")
ARG_NAME_RE: Final = re.compile(r"^[a-z][a-z_0-9]{0,31}$")
TEXT: Final = Text(1 << 16)  # a text result (names, statuses, ids)


class QueryReader(Reader, Protocol):
    """What a query reads: a block's state, the runtime's wiring, and the block's time."""

    @property
    def now(self) -> int:
        """The chain time (seconds) of the block whose state this is."""
        ...


class BadArgument(ValueError):
    """An argument a query refuses for a reason its type does not state."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


# ---------------------------------------------------------------- result-only types


@dataclass(frozen=True, slots=True)
class Struct(ArgType):
    """A dict with exactly these named fields (a JSON object)."""

    label: str
    fields: tuple[tuple[str, ArgType], ...]

    @property
    def name(self) -> str:
        return self.label

    def check(self, value: Any, path: str) -> dict[str, Any]:
        names = [n for n, _ in self.fields]
        if not isinstance(value, dict) or sorted(value) != sorted(names):
            shown = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise ArgError(f"{path}: expected a {self.label} with {names}, got {shown}")
        return {n: kind.check(value[n], f"{path}.{n}") for n, kind in self.fields}

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "struct",
            "name": self.label,
            "fields": [{"name": n, "type": t.describe()} for n, t in self.fields],
        }


@dataclass(frozen=True, slots=True)
class Map(ArgType):
    """A dict from text keys (data, not field names) to values of type ``of``."""

    of: ArgType

    @property
    def name(self) -> str:
        return f"map({self.of.name})"

    def check(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ArgError(f"{path}: expected a map with text keys")
        return {k: self.of.check(v, f"{path}.{k}") for k, v in value.items()}

    def describe(self) -> dict[str, Any]:
        return {"kind": "map", "name": self.name, "of": self.of.describe()}


@dataclass(frozen=True, slots=True)
class Typed:
    """A value with the type it is to be read by, known only at run time."""

    kind: ArgType
    value: Any


@dataclass(frozen=True, slots=True)
class Dynamic(ArgType):
    """A ``Typed`` value: its type travels with it.

    ``fields`` and ``required`` say what can be said before run time: a dict
    whose keys are among ``fields`` (each of that type when present), with
    the ``required`` ones always there. Empty ``fields``: nothing is known.
    """

    fields: tuple[tuple[str, ArgType], ...] = ()
    required: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return "dynamic"

    def check(self, value: Any, path: str) -> Typed:
        if not isinstance(value, Typed):
            raise ArgError(f"{path}: expected a typed value")
        value.kind.check(value.value, path)
        if self.fields:
            if not isinstance(value.value, dict):
                raise ArgError(f"{path}: expected a dict")
            known = dict(self.fields)
            unknown = sorted(set(value.value) - set(known))
            missing = sorted(set(self.required) - set(value.value))
            if unknown or missing:
                raise ArgError(f"{path}: fields {unknown} unexpected, {missing} missing")
        return value

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"kind": "dynamic", "name": "dynamic"}
        if self.fields:
            described["fields"] = [{"name": n, "def": t.describe()} for n, t in self.fields]
            described["required"] = list(self.required)
        return described


DYNAMIC: Final = Dynamic()


# ---------------------------------------------------------------- declarations

QueryFn = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class QueryDef:
    """One read-only query of a pallet."""

    pallet: str  # the pallet that declares it
    namespace: str  # the first half of its method name
    name: str
    args: tuple[tuple[str, ArgType], ...]
    defaults: Mapping[str, Any]
    result: ArgType
    fn: QueryFn
    doc: str

    @property
    def method(self) -> str:
        return f"{self.namespace}_{self.name}"

    def required(self, arg: str) -> bool:
        kind = dict(self.args)[arg]
        return arg not in self.defaults and not isinstance(kind, Optional)

    def check_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """``args`` with defaults filled in, checked; ``ArgError`` names the argument."""
        declared = dict(self.args)
        for key in sorted(args):
            if key not in declared:
                raise ArgError(f"{key}: unexpected argument")
        checked: dict[str, Any] = {}
        for arg, kind in self.args:
            if arg in args:
                checked[arg] = kind.check(args[arg], arg)
            elif not self.required(arg):
                checked[arg] = self.defaults.get(arg)
            else:
                raise ArgError(f"{arg}: missing argument ({kind.name})")
        return checked

    def run(self, state: QueryReader, args: Mapping[str, Any]) -> Any:
        """The query's answer at ``state``; ``ArgError``/``BadArgument`` for a bad argument."""
        return self.fn(state, **self.check_args(args))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "args": [
                {
                    "name": n,
                    "type": t.name,
                    "def": t.describe(),
                    "required": self.required(n),
                    **({"default": self.defaults[n]} if n in self.defaults else {}),
                }
                for n, t in self.args
            ],
            "result": {"type": self.result.name, "def": self.result.describe()},
            "doc": self.doc,
        }


class QuerySet:
    """The queries of one pallet, declared with the ``query`` decorator."""

    def __init__(self, pallet: str, *, namespace: str | None = None) -> None:
        self.pallet = pallet
        self.namespace = namespace or pallet
        self.defs: list[QueryDef] = []

    def query(
        self,
        name: str,
        *,
        args: Sequence[tuple[str, ArgType]] = (),
        result: ArgType,
        defaults: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> Callable[[QueryFn], QueryFn]:
        """Declare ``fn(state, **args)`` as ``<namespace>_<name>``; its docstring is its doc."""
        space = namespace or self.namespace
        given = dict(defaults or {})

        def register(fn: QueryFn) -> QueryFn:
            if not QUERY_NAME_RE.match(name) or not NAMESPACE_RE.match(space):
                raise RuntimeFault(f"query {space}_{name}: namespace_camelCase expected")
            names = [n for n, _ in args]
            if len(set(names)) != len(names) or not all(ARG_NAME_RE.match(n) for n in names):
                raise RuntimeFault(f"query {space}_{name}: bad or repeated argument names")
            if set(given) - set(names):
                raise RuntimeFault(f"query {space}_{name}: defaults for unknown arguments")
            if any(d.namespace == space and d.name == name for d in self.defs):
                raise RuntimeFault(f"query {space}_{name} declared twice")
            doc = (fn.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
            self.defs.append(
                QueryDef(self.pallet, space, name, tuple(args), given, result, fn, doc)
            )
            return fn

        return register
