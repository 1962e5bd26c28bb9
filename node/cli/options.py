"""The global options of the command groups, accepted before or after the subcommand.

Theory of operation
-------------------
Every command group of ``credichain`` that talks to a node (``wallet``,
``fund``, ``credit``, ``loan``, ``gov``...) takes the same options:
``--keystore``, ``--rpc`` (alias ``--node``), ``--localnet-keys``,
``--yes``, ``--wait/--no-wait``, ``--timeout``, ``--local-time`` and
``--json``. They are declared once, as the parameters of ``group_options``,
the typer callback of every group made by ``group``: so they are accepted
before the subcommand (``credichain fund --yes join bob 0``).

``GlobalOptionsGroup``, the click group class of those apps, then gives every
subcommand (nested groups' too, ``gov propose set-param``) the same option
objects, so they are accepted after it as well (``credichain fund join bob 0
--yes``). A command that declares one of these flags itself (most declare
``--json`` as ``as_json``) keeps its own parameter; the value given before the
subcommand flows into it unless the command line gives it again after.

What a command reads is ``options(ctx)``: the group's ``Options`` with what
was given after the subcommand laid over it (after wins over before).
``Options.given`` names the fields typed on the command line, so that a nested
group or the subcommand only overrides what the user said.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from typer.core import TyperGroup

DEFAULT_RPC: Final = "http://127.0.0.1:9944"
PANEL: Final = "Global options (before or after the command)"

KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        envvar="CREDICHAIN_KEYSTORE",
        help="keystore directory, exactly (default: the chain's own, "
        "~/.credichain/keys/ and the first 8 hex digits of the node's genesis hash)",
        rich_help_panel=PANEL,
    ),
]
RpcOption = Annotated[
    str,
    typer.Option(
        "--rpc", "--node", envvar="CREDICHAIN_RPC", help="node RPC URL", rich_help_panel=PANEL
    ),
]
JsonOut = Annotated[
    bool, typer.Option("--json", help="print one JSON document on stdout", rich_help_panel=PANEL)
]
YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="sign (or go on) without confirmation", rich_help_panel=PANEL),
]
WaitOption = Annotated[
    bool, typer.Option("--wait/--no-wait", help="wait until finalized", rich_help_panel=PANEL)
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", help="seconds to wait for finalization", rich_help_panel=PANEL),
]
LocalTimeOption = Annotated[
    bool,
    typer.Option(
        "--local-time",
        envvar="CREDICHAIN_LOCAL_TIME",
        help="show times in local time, not UTC",
        rich_help_panel=PANEL,
    ),
]
LocalnetKeysOption = Annotated[
    bool,
    typer.Option(
        "--localnet-keys", help="accept unencrypted localnet key files", rich_help_panel=PANEL
    ),
]


@dataclass(frozen=True, slots=True)
class Options:
    """The global options of one command line (``keystore`` None: the chain's own keystore)."""

    keystore: Path | None
    rpc: str
    localnet_keys: bool
    yes: bool
    wait: bool
    timeout: float
    local_time: bool = False
    json: bool = False
    given: frozenset[str] = frozenset()


def given_on_command_line(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def group_options(
    ctx: typer.Context,
    keystore: KeystoreOption = None,
    rpc: RpcOption = DEFAULT_RPC,
    localnet_keys: LocalnetKeysOption = False,
    yes: YesOption = False,
    wait: WaitOption = True,
    timeout: TimeoutOption = 60.0,
    local_time: LocalTimeOption = False,
    json: JsonOut = False,
) -> None:
    """The typer callback of a group: the global options given before the command."""
    values: dict[str, Any] = {
        "keystore": keystore,
        "rpc": rpc,
        "localnet_keys": localnet_keys,
        "yes": yes,
        "wait": wait,
        "timeout": timeout,
        "local_time": local_time,
        "json": json,
    }
    given = frozenset(name for name in values if given_on_command_line(ctx, name))
    outer = ctx.obj
    if isinstance(outer, Options):  # a group inside a group: say only what is new
        ctx.obj = replace(outer, **{name: values[name] for name in given},
                          given=outer.given | given)  # fmt: skip
    else:
        ctx.obj = Options(**values, given=given)


def options(ctx: typer.Context) -> Options:
    found = ctx.obj
    if not isinstance(found, Options):  # pragma: no cover - the group callback always runs
        raise RuntimeError("internal: the global options are missing")
    return found


FIELDS: Final = frozenset(field.name for field in fields(Options)) - {"given"}


def _flags(param: Any) -> set[str]:
    return {*param.opts, *getattr(param, "secondary_opts", ())}


def accept_after(command: Any, shared: list[Any]) -> None:
    """Let ``command`` take the options in ``shared`` after its name too (see the module doc)."""
    if isinstance(command, TyperGroup):
        for inner in command.commands.values():
            accept_after(inner, shared)
        return
    if getattr(command, "accepts_global_options", False):
        return
    added: list[str] = []
    own: dict[str, str] = {}  # Options field -> the command's own parameter with its flags
    names = {param.name for param in command.params}
    for option in shared:
        if option.name not in FIELDS:
            continue
        same = [param for param in command.params if _flags(param) & _flags(option)]
        if same:
            own[option.name] = same[0].name
        elif option.name not in names:
            command.params.append(option)
            added.append(option.name)
    invoke = command.invoke

    def invoke_with_global_options(ctx: typer.Context) -> Any:
        base = options(ctx)
        after: dict[str, Any] = {}
        for name in added:
            value = ctx.params.pop(name)
            if given_on_command_line(ctx, name):
                after[name] = value
        for name, param in own.items():
            if given_on_command_line(ctx, param):
                after[name] = ctx.params[param]
            elif name in base.given:
                ctx.params[param] = getattr(base, name)
        ctx.obj = replace(base, **after, given=base.given | frozenset(after))
        return invoke(ctx)

    command.invoke = invoke_with_global_options
    command.accepts_global_options = True


class GlobalOptionsGroup(TyperGroup):
    """A group whose options (``group_options``) its commands take after their name too."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.commands.values():
            accept_after(command, list(self.params))


def group(help: str) -> typer.Typer:
    """A command group's typer app with the global options before or after the command."""
    app = typer.Typer(help=help, no_args_is_help=True, cls=GlobalOptionsGroup)
    app.callback()(group_options)
    return app
