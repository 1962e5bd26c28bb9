"""JSON-RPC methods generated from the runtime's declared queries.

Theory of operation
-------------------
A pallet declares its queries (``pallets.support.queries``): a name, typed
arguments, a typed result, a doc string. ``register_queries(registry,
runtime)`` turns each into a method ``<namespace>_<name>(args..., at?)`` and
writes nothing by hand:

* **parameters**: one per declared argument, in order, then ``at`` (a block
  hash, the best block if omitted). A JSON value is converted to the
  argument's wire form (an account from bech32m with the node's prefix or
  ``0x`` hex, bytes from ``0x`` hex) and checked by its ``ArgType``; a refusal
  is -32602 whose ``data`` starts with the argument's path (``fund: ...``,
  ``members[3]: ...``). A query's own ``BadArgument(name, reason)`` becomes
  the same error.
* **result**: converted by the declared type (``to_json``): accounts as
  bech32m, other bytes as ``0x`` hex, amounts as decimal strings, other
  integers as numbers, records and structs as objects.
* **documentation**: the doc string is the description, and ``json_schema``
  gives the JSON schema of every parameter and of the result for
  ``rpc_discover``.

A query runs on the event loop (the state trie's node cache is not
thread-safe) and costs 2 units (a trie walk), as every pallet query did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final, Protocol

from pydantic import PlainValidator, ValidationInfo, WithJsonSchema, create_model
from pydantic_core import PydanticCustomError

from ledger.crypto import DEFAULT_HRP, HASH_LEN, AddressError, decode_address
from ledger.overlay import StateReader
from pallets.support.argtypes import (
    ArgError,
    ArgType,
    Bool,
    Bytes,
    Enum,
    FixedBytes,
    Int,
    List,
    Optional,
    Record,
    Text,
)
from pallets.support.queries import BadArgument, Dynamic, Map, QueryDef, QueryReader, Struct
from rpc.encoding import (
    ADDRESS_SCHEMA,
    AMOUNT_SCHEMA,
    HASH_SCHEMA,
    HEX_SCHEMA,
    Hash,
    address_text,
    hex0x,
    parse_hex,
)
from rpc.errors import invalid_params
from rpc.registry import CallContext, MethodRegistry, Params, block_state

ARG_ERROR: Final = "query_arg"  # the pydantic error type of a refused argument
DECIMAL_LABELS: Final = frozenset({"amount"})  # integers sent as decimal strings
QUERY_COST: Final = 2


class QueryRuntime(Protocol):
    """What the adapter needs of the runtime (``PalletRegistry`` is one)."""

    @property
    def queries(self) -> tuple[QueryDef, ...]: ...

    def query_state(self, state: StateReader) -> QueryReader: ...


# ------------------------------------------------------------- results out


def to_json(kind: ArgType, value: Any, hrp: str = DEFAULT_HRP) -> Any:
    """A query's result (or part of it) as JSON, by its declared type."""
    if value is None:
        return None
    if isinstance(kind, Optional):
        return to_json(kind.of, value, hrp)
    if isinstance(kind, FixedBytes):
        return address_text(value, hrp) if kind.label == "account" else hex0x(value)
    if isinstance(kind, Int):
        return str(value) if kind.label in DECIMAL_LABELS else value
    if isinstance(kind, List):
        return [to_json(kind.of, item, hrp) for item in value]
    if isinstance(kind, Record):
        return {n: to_json(t, v, hrp) for (n, t), v in zip(kind.fields, value, strict=True)}
    if isinstance(kind, Struct):
        return {n: to_json(t, value[n], hrp) for n, t in kind.fields}
    if isinstance(kind, Map):
        return {k: to_json(kind.of, v, hrp) for k, v in value.items()}
    if isinstance(kind, Dynamic):
        return to_json(value.kind, value.value, hrp)
    if isinstance(value, bytes):
        return hex0x(value)
    return value


def json_schema(kind: ArgType) -> dict[str, Any]:
    """The JSON schema of a value of ``kind`` in its JSON form (``to_json``, ``from_json``)."""
    if isinstance(kind, Optional):
        return {"oneOf": [json_schema(kind.of), {"type": "null"}]}
    if isinstance(kind, FixedBytes):
        if kind.label == "account":
            return dict(ADDRESS_SCHEMA)
        if kind.length == HASH_LEN:
            return dict(HASH_SCHEMA)
        return {"type": "string", "pattern": f"^0x[0-9a-fA-F]{{{2 * kind.length}}}$"}
    if isinstance(kind, Bytes):
        return {**HEX_SCHEMA, "description": f"at most {kind.max_len} bytes"}
    if isinstance(kind, Int):
        if kind.label in DECIMAL_LABELS:
            return dict(AMOUNT_SCHEMA)
        return {"type": "integer", "minimum": kind.minimum, "maximum": kind.maximum}
    if isinstance(kind, Bool):
        return {"type": "boolean"}
    if isinstance(kind, Enum):
        return {"type": "string", "enum": list(kind.values)}
    if isinstance(kind, Text):
        return {"type": "string"}
    if isinstance(kind, List):
        return {"type": "array", "items": json_schema(kind.of), "maxItems": kind.max_len}
    if isinstance(kind, Record | Struct):
        return {
            "type": "object",
            "title": kind.label,
            "properties": {n: json_schema(t) for n, t in kind.fields},
            "required": [n for n, _ in kind.fields],
        }
    if isinstance(kind, Map):
        return {"type": "object", "additionalProperties": json_schema(kind.of)}
    if isinstance(kind, Dynamic) and kind.fields:
        return {
            "type": "object",
            "properties": {name: json_schema(of) for name, of in kind.fields},
            "required": list(kind.required),
            "additionalProperties": False,
        }
    if isinstance(kind, Dynamic):
        return {"description": "typed at run time; see the method's description"}
    described = kind.describe()  # a pallet's own type (a bioregion id): text with a pattern
    if "pattern" in described:
        return {"type": "string", "pattern": described["pattern"]}
    return {}


# ------------------------------------------------------------- arguments in


def from_json(kind: ArgType, value: Any, path: str, hrp: str) -> Any:
    """A JSON argument in its wire form, checked by ``kind``; ``ArgError`` names ``path``."""
    if isinstance(kind, Optional):
        return None if value is None else from_json(kind.of, value, path, hrp)
    try:
        if isinstance(kind, FixedBytes) and kind.label == "account":
            value = decode_address(value, hrp)
        elif isinstance(kind, FixedBytes | Bytes) and isinstance(value, str):
            value = parse_hex(value)
        elif isinstance(kind, List) and isinstance(value, list):
            value = [from_json(kind.of, v, f"{path}[{i}]", hrp) for i, v in enumerate(value)]
    except (AddressError, ValueError) as exc:
        raise ArgError(f"{path}: {exc}") from None
    return kind.check(value, path)


def _validator(name: str, kind: ArgType) -> Callable[[Any, ValidationInfo], Any]:
    def validate(value: Any, info: ValidationInfo) -> Any:
        hrp = (info.context or {}).get("hrp", DEFAULT_HRP)
        try:
            return from_json(kind, value, name, hrp)
        except ArgError as exc:
            raise PydanticCustomError(ARG_ERROR, "{message}", {"message": str(exc)}) from None

    return validate


def params_model(query: QueryDef) -> type[Params]:
    """The pydantic model of ``query``'s parameters, then ``at``."""
    fields: dict[str, Any] = {}
    for name, kind in query.args:
        annotated = Annotated[
            Any, PlainValidator(_validator(name, kind)), WithJsonSchema(json_schema(kind))
        ]
        default = ... if query.required(name) else query.defaults.get(name)
        fields[name] = (annotated, default)
    fields["at"] = (Hash | None, None)
    title = query.namespace.title() + query.name[:1].upper() + query.name[1:] + "Params"
    model: type[Params] = create_model(title, __base__=Params, **fields)
    return model


# ------------------------------------------------------------- methods


def query_method(query: QueryDef, runtime: QueryRuntime) -> Callable[[CallContext, Any], Any]:
    """The handler of ``query``: read the block ``at``, run, convert."""
    names = [name for name, _ in query.args]

    def run(ctx: CallContext, params: Any) -> Any:
        state = runtime.query_state(block_state(ctx, params.at))
        try:
            result = query.run(state, {name: getattr(params, name) for name in names})
        except BadArgument as exc:
            raise invalid_params(exc.name, exc.reason) from None
        return to_json(query.result, result, ctx.hrp)

    run.__doc__ = query.doc
    return run


def register_queries(registry: MethodRegistry, runtime: QueryRuntime) -> None:
    """Add a method for every query ``runtime`` declares (see the module doc)."""
    for query in runtime.queries:
        registry.add(
            query.method,
            query_method(query, runtime),
            params=params_model(query),
            result=json_schema(query.result),
            description=query.doc,
            cost=QUERY_COST,
        )
