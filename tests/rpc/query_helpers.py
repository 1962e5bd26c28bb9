"""The runtime's declared queries as the RPC serves them, for tests without a server."""

from __future__ import annotations

from typing import Any

from ledger.overlay import StateReader
from pallets import construct
from rpc.queries import register_queries, to_json
from rpc.registry import MethodRegistry


def query_registry() -> MethodRegistry:
    """A registry holding only the methods generated from the runtime's queries."""
    registry = MethodRegistry()
    register_queries(registry, construct.registry())
    return registry


def query_json(state: StateReader, method: str, **args: Any) -> Any:
    """``method``'s answer at ``state`` in JSON form; ``args`` in their wire form (bytes)."""
    runtime = construct.registry()
    namespace, name = method.split("_", 1)
    query = runtime.query(namespace, name)
    assert query is not None, method
    return to_json(query.result, query.run(runtime.query_state(state), args), "cc")
