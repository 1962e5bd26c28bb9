"""The method registry: every RPC method, its typed parameters and result schema.

Theory of operation
-------------------
A method is registered once with its name (``namespace_method``), a pydantic
model of its parameters (fields in positional order), a JSON schema of its
result, a description and two flags: ``unsafe`` (changes the node itself;
served only when the operator enables unsafe methods) and ``websocket_only``
(subscriptions). Everything a client can learn about the API is generated
from here: ``rpc_methods`` lists the names and ``rpc_discover`` returns an
OpenRPC document built by ``openrpc_document``; nothing is written by hand.

Parameters arrive by position (``[a, b]``, as spec/rpc.md lists them) or by
name (``{"a": ..}``). ``parse_params`` maps them onto the model and turns a
pydantic ``ValidationError`` into ``-32602`` whose ``data`` names each bad
parameter and says why.

Each method also has a ``cost`` (1 unless registered otherwise: the units a
batch's total and the per-connection rate limit count) and ``offload``: a
handler that reads only thread-safe things (the block store, immutable
values) and is CPU-heavy runs in a worker thread, not on the event loop that
consensus shares (docs/rpc.md, "Limits and isolation").

Static documents (``rpc_discover``, ``rpc_methods``, ``state_getMetadata``)
are built once per key (node version = runtime version, unsafe on or off) by
``MethodRegistry.cached`` and kept as serialized JSON (``RawJson``), so a
batch of 100 ``rpc_discover`` costs 100 dictionary look-ups, not 100 builds.

Pallet queries are generated from the runtime's declarations
(``rpc.queries.register_queries``). ``pallet_query`` remains for a query
written by hand (a test backend's): the function receives the
``StateReader`` of the requested block and its parsed parameters; an
optional last parameter ``at`` (a block hash, best block if omitted) is
added automatically.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ledger.overlay import StateReader
from rpc.backend import RpcBackend, StateUnavailable
from rpc.config import RpcConfig
from rpc.encoding import Hash, hex0x
from rpc.errors import INVALID_PARAMS, RpcError, invalid_params
from rpc.jsonio import dumps
from rpc.subscriptions import Session

METHOD_NAME: Final = re.compile(r"^[a-z][a-zA-Z0-9]*_[a-z][a-zA-Z0-9]*$")
OPENRPC_VERSION: Final = "1.2.6"
# Problems named in one -32602 reply: enough to fix a request, and a body full
# of bad items cannot make a reply (and its building) as large as the body.
MAX_REPORTED_PROBLEMS: Final = 10


class RawJson(str):
    """A result already serialized as JSON text; the dispatcher splices it in as is."""

    __slots__ = ()


class Params(BaseModel):
    """Base of every parameter model: unknown names refused, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


class AtParams(Params):
    at: Hash | None = None


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a method handler may use; ``session`` is None over HTTP."""

    backend: RpcBackend
    config: RpcConfig
    registry: MethodRegistry
    hrp: str
    session: Session | None


Handler = Callable[[CallContext, Any], Any]


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    params: type[Params]
    handler: Handler
    result_schema: dict[str, Any]
    description: str
    unsafe: bool
    websocket_only: bool
    is_async: bool
    cost: int = 1
    offload: bool = False

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self.params.model_fields)


class MethodRegistry:
    """Name -> ``Method``; build one with ``rpc.methods.standard_registry()``."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}
        self._cache: dict[tuple[Any, ...], RawJson] = {}

    def cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> RawJson:
        """``build()`` serialized once per ``key``; later calls return the same object."""
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = RawJson(dumps(build()))
        return found

    def add(
        self,
        name: str,
        handler: Handler,
        *,
        params: type[Params] = NoParams,
        result: dict[str, Any] | None = None,
        description: str = "",
        unsafe: bool = False,
        websocket_only: bool = False,
        cost: int = 1,
        offload: bool = False,
    ) -> Method:
        if not METHOD_NAME.match(name):
            raise ValueError(f"RPC method name {name!r} is not namespace_method")
        if name in self._methods:
            raise ValueError(f"RPC method {name!r} is already registered")
        if not (isinstance(params, type) and issubclass(params, Params)):
            raise TypeError(f"{name}: params must be a subclass of rpc.registry.Params")
        if cost < 1:
            raise ValueError(f"{name}: cost must be at least 1")
        if offload and inspect.iscoroutinefunction(handler):
            raise ValueError(f"{name}: only a synchronous handler can run in a worker thread")
        method = Method(
            name=name,
            params=params,
            handler=handler,
            result_schema=dict(result or {}),
            description=description or (inspect.getdoc(handler) or "").split("\n\n")[0],
            unsafe=unsafe,
            websocket_only=websocket_only,
            is_async=inspect.iscoroutinefunction(handler),
            cost=cost,
            offload=offload,
        )
        self._methods[name] = method
        self._cache.clear()  # documents listing the methods are stale
        return method

    def method(
        self,
        name: str,
        *,
        params: type[Params] = NoParams,
        result: dict[str, Any] | None = None,
        description: str = "",
        unsafe: bool = False,
        websocket_only: bool = False,
        cost: int = 1,
        offload: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Decorator form of ``add``."""

        def register(handler: Handler) -> Handler:
            self.add(
                name,
                handler,
                params=params,
                result=result,
                description=description,
                unsafe=unsafe,
                websocket_only=websocket_only,
                cost=cost,
                offload=offload,
            )
            return handler

        return register

    def pallet_query(
        self,
        pallet: str,
        query: str,
        *,
        params: type[Params] = NoParams,
        result: dict[str, Any] | None = None,
        description: str = "",
    ) -> Callable[[Callable[[StateReader, Any], Any]], Callable[[StateReader, Any], Any]]:
        """Register ``<pallet>_<query>(..., at?)`` reading the state of block ``at``.

        The decorated function is ``fn(state, params) -> JSON-ready result``.
        """
        if "at" in params.model_fields:
            raise ValueError(f"{pallet}_{query}: 'at' is added by pallet_query, do not declare it")
        model = create_model(
            f"{pallet.title()}{query[:1].upper()}{query[1:]}Params",
            __base__=params,
            at=(Hash | None, None),
        )

        def register(fn: Callable[[StateReader, Any], Any]) -> Callable[[StateReader, Any], Any]:
            def run(ctx: CallContext, parsed: Any) -> Any:
                return fn(block_state(ctx, parsed.at), parsed)

            run.__doc__ = fn.__doc__
            # A trie walk: cost 2, on the loop (the trie's node cache is not thread-safe).
            self.add(
                f"{pallet}_{query}",
                run,
                params=model,
                result=result,
                description=description,
                cost=2,
            )
            return fn

        return register

    def get(self, name: str) -> Method | None:
        return self._methods.get(name)

    def names(self, include_unsafe: bool) -> list[str]:
        return sorted(n for n, m in self._methods.items() if include_unsafe or not m.unsafe)

    def methods(self, include_unsafe: bool) -> list[Method]:
        return [self._methods[n] for n in self.names(include_unsafe)]


# ------------------------------------------------------------- parameters


def _describe(error: Any) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    name = loc[0] if loc else "params"
    if error.get("type") == "missing":
        return f"{name}: required parameter missing"
    if error.get("type") == "extra_forbidden":
        return f"{name}: unknown parameter"
    if error.get("type") == "query_arg":  # rpc.queries: the message names the path itself
        return str(error.get("msg"))
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    where = ".".join([name, *loc[1:]])
    return f"{where}: {message}"


def parse_params(method: Method, raw: Any, hrp: str) -> Any:
    """Positional or named ``raw`` params as ``method.params``; RpcError -32602 if wrong."""
    names = method.param_names
    if raw is None:
        data: dict[str, Any] = {}
    elif isinstance(raw, list):
        if len(raw) > len(names):
            raise invalid_params(
                "params", f"{method.name} takes at most {len(names)} parameters, got {len(raw)}"
            )
        data = dict(zip(names, raw, strict=False))
    elif isinstance(raw, dict):
        # More names than the method has: some are unknown. Refused before pydantic
        # would build one error per name (a 1 MiB body holds 80 000 of them).
        if len(raw) > len(names):
            raise invalid_params(
                "params", f"{method.name} takes at most {len(names)} parameters, got {len(raw)}"
            )
        data = raw
    else:
        raise invalid_params("params", "must be an array (by position) or an object (by name)")
    try:
        return method.params.model_validate(data, context={"hrp": hrp})
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors(include_url=False)[:MAX_REPORTED_PROBLEMS]]
        if exc.error_count() > MAX_REPORTED_PROBLEMS:
            problems.append(f"and {exc.error_count() - MAX_REPORTED_PROBLEMS} more")
        raise RpcError(INVALID_PARAMS, data="; ".join(problems)) from None


# ------------------------------------------------------------- block selection


def resolve_at(ctx: CallContext, at: bytes | None) -> bytes:
    """The block hash named by an ``at`` parameter (best block if None); -32602 if unknown."""
    if at is None:
        return ctx.backend.best_hash()
    if ctx.backend.header(at) is None:
        raise invalid_params("at", f"unknown block {hex0x(at)}")
    return at


def block_state(ctx: CallContext, at: bytes | None) -> StateReader:
    """The state after block ``at`` (the best block if None); -32602 if unknown or pruned."""
    return state_at(ctx, resolve_at(ctx, at))


def state_at(ctx: CallContext, block_hash: bytes) -> StateReader:
    try:
        return ctx.backend.state_at(block_hash)
    except StateUnavailable:
        raise invalid_params("at", f"the state of block {hex0x(block_hash)} was pruned") from None


# ------------------------------------------------------------- OpenRPC


def _param_entries(method: Method, components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = method.params.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.get("$defs", {}))
    required = set(schema.get("required", ()))
    properties = schema.get("properties", {})
    entries = []
    for name in method.param_names:
        prop = dict(properties.get(name, {}))
        prop.pop("title", None)
        entries.append({"name": name, "required": name in required, "schema": prop})
    return entries


def openrpc_document(
    registry: MethodRegistry, *, title: str, version: str, include_unsafe: bool
) -> dict[str, Any]:
    """An OpenRPC 1.2 document describing every served method, from the registry."""
    components: dict[str, Any] = {}
    methods = []
    for method in registry.methods(include_unsafe):
        entry: dict[str, Any] = {
            "name": method.name,
            "description": method.description,
            "paramStructure": "either",
            "params": _param_entries(method, components),
            "result": {"name": f"{method.name}Result", "schema": method.result_schema},
        }
        if method.websocket_only:
            entry["x-websocket-only"] = True
        if method.unsafe:
            entry["x-unsafe"] = True
        if method.cost != 1:
            entry["x-cost"] = method.cost
        methods.append(entry)
    document: dict[str, Any] = {
        "openrpc": OPENRPC_VERSION,
        "info": {"title": title, "version": version},
        "methods": methods,
    }
    if components:
        document["components"] = {"schemas": components}
    return document


async def call_handler(method: Method, ctx: CallContext, params: Any) -> Any:
    if method.is_async:
        result: Awaitable[Any] = method.handler(ctx, params)
        return await result
    return method.handler(ctx, params)
