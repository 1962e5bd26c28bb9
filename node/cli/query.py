"""``credichain query``: every query the runtime declares, from its declaration.

Theory of operation
-------------------
Pallets declare their queries in their ``queries.py`` (pallets/support/
queries.py): a name, typed arguments, a typed result. The node serves each
as the JSON-RPC method ``<namespace>_<name>``; this group reaches all of
them with no command written per query:

    credichain query list                          # every declared query, its arguments
    credichain query get credit_getRequest request=0
    credichain query get trust_get fund=0 address=lucia --at 0x<block hash>

Arguments are ``NAME=VALUE``, each read by its declared type: an account is a
keystore key name or an address; a hash is ``0x`` + 64 hex digits or a file
(hashed here); bytes are ``0x`` hex; an integer in decimal; a boolean
``true``/``false``; ``null`` for an optional argument left out; a list is
comma-separated. A wrong name or value is refused here, naming it, before
anything is sent. The answer is printed as a table in human units, typed by
the query's declared result (node/cli/display.py), or as the node's JSON
with ``--json``. The named ``show``/``list`` commands of the other groups
are shortcuts with tailored output over the same methods.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from node.cli import common, display
from node.cli.common import CliError, JsonOut, guarded
from pallets.support.argtypes import ArgType, Bool, Bytes, FixedBytes, Int, List, Optional
from pallets.support.queries import QueryDef

query_app = common.group("Every query the runtime declares (pallets/*/queries.py).")


def declared(method: str) -> QueryDef:
    """The runtime's query behind ``method`` (``<namespace>_<name>``), or a clear error."""
    for query in display.runtime().queries:
        if query.method == method:
            return query
    raise CliError(f"no query {method!r}: `credichain query list` shows them")


def parse_value(ctx: typer.Context, kind: ArgType, text: str, name: str) -> Any:
    """A value typed on the command line, in the JSON form its RPC method takes."""
    if isinstance(kind, Optional):
        return None if text in ("null", "none", "") else parse_value(ctx, kind.of, text, name)
    if isinstance(kind, FixedBytes) and kind.label == "account":
        with common.connect(common.options(ctx).rpc) as client:
            return common.resolve_address(client, common.keystore(ctx), text)
    if isinstance(kind, FixedBytes) and kind.length == 32:
        return "0x" + common.parse_hash(text).hex()
    if isinstance(kind, FixedBytes | Bytes):
        if not text.startswith("0x"):
            raise CliError(f"{name}: give 0x followed by hex digits")
        return text
    if isinstance(kind, Int):
        try:
            return int(text)
        except ValueError:
            raise CliError(f"{name}: {text!r} is not an integer") from None
    if isinstance(kind, Bool):
        if text not in ("true", "false"):
            raise CliError(f"{name}: give true or false")
        return text == "true"
    if isinstance(kind, List):
        items = [item for item in text.split(",") if item]
        return [parse_value(ctx, kind.of, item, f"{name}[{i}]") for i, item in enumerate(items)]
    return text  # text and enums: as typed


def parse_arguments(ctx: typer.Context, query: QueryDef, pairs: list[str]) -> dict[str, Any]:
    declared_args = dict(query.args)
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise CliError(f"{pair!r}: give arguments as NAME=VALUE")
        if name not in declared_args:
            names = ", ".join(declared_args) or "none"
            raise CliError(f"{query.method} takes no argument {name!r} (it takes: {names})")
        params[name] = parse_value(ctx, declared_args[name], text, name)
    missing = [name for name, _ in query.args if query.required(name) and name not in params]
    if missing:
        raise CliError(f"{query.method} needs {', '.join(missing)}")
    return params


@query_app.command("list")
@guarded
def query_list(as_json: JsonOut = False) -> None:
    """Every declared query: its method, arguments and what it answers."""
    rows = [
        {
            "method": q.method,
            "arguments": " ".join(
                f"{name}{'' if q.required(name) else '?'}:{kind.name}" for name, kind in q.args
            )
            or "-",
            "doc": q.doc.splitlines()[0] if q.doc else "",
        }
        for q in sorted(display.runtime().queries, key=lambda q: q.method)
    ]
    common.print_data(as_json, "queries", rows)


@query_app.command("get")
@guarded
def query_get(
    ctx: typer.Context,
    method: Annotated[str, typer.Argument(help="<namespace>_<name>, e.g. credit_getRequest")],
    arguments: Annotated[list[str] | None, typer.Argument(help="NAME=VALUE ...")] = None,
    at: Annotated[str | None, typer.Option("--at", help="0x hash of the block to read")] = None,
    as_json: JsonOut = False,
) -> None:
    """Run one declared query on the node (at the best block, or --at a block)."""
    query = declared(method)
    params = parse_arguments(ctx, query, arguments or [])
    if at is not None:
        params["at"] = at
    answer = common.query(ctx, method, **params)
    if answer is None:
        raise CliError(f"{method}: nothing found")
    shown = answer if as_json else common.humane(ctx, method, answer)
    if isinstance(answer, dict | list):
        common.print_data(as_json, method, shown)
    else:
        common.emit(as_json, {"result": answer}, str(shown))
