"""``credichain gov``: propose governance calls, vote quadratically, read proposals.

Theory of operation
-------------------
A typer sub-app mounted by the main CLI, with the shared options of
``node.cli.common`` (keystore, ``--rpc``, ``--localnet-keys``, ``--yes``,
``--wait``, ``--timeout``, given before the command) and its signing path:
print exactly what will be signed, confirm, sign, submit, wait.

``gov propose <what> KEY ...`` builds the inner call (canonical MessagePack
``[pallet, function, args]``, what ``governance.propose`` carries) for the
calls of the governance list (G4): ``set-param``, ``set-params``,
``add-validator``, ``remove-validator``, ``add-registrar``,
``remove-registrar``, or any listed call with ``call PALLET FUNCTION JSON``,
whose JSON arguments are converted by the called function's declared types
(accounts as addresses or key names, bytes as 0x-hex, integers as numbers or
decimal strings). The summary shown before signing spells the inner call.

``gov vote KEY PROPOSAL VOTES [--against]`` casts VOTES at VOTES² voice
credits (G3). ``gov show``, ``gov list``, ``gov round`` and ``gov credits``
read ``gov_proposal``, ``gov_proposals``, ``gov_round`` and ``gov_voter``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ledger import codec
from node.cli import common, display
from node.cli.common import JsonOut, Signer, guarded
from pallets import construct
from pallets.governance.allowlist import allowed, encode_call
from pallets.support.argtypes import (
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

gov_app = common.group(
    "Governance: propose calls, vote with voice credits (votes² each), follow tallies."
)
propose_app = typer.Typer(
    help="Propose a call from the governance list (a refundable deposit is held).",
    no_args_is_help=True,
)
gov_app.add_typer(propose_app, name="propose")

Validator = Annotated[str, typer.Argument(help="validator public key, 0x + 64 hex digits")]


# ------------------------------------------------------------- building calls


def from_json(kind: ArgType, value: Any, resolve: Any, path: str) -> Any:
    """A JSON value as the MessagePack value ``kind`` declares (see the module doc)."""
    if isinstance(kind, Optional):
        return None if value is None else from_json(kind.of, value, resolve, path)
    account = isinstance(kind, FixedBytes) and kind.label == "account"
    if account and isinstance(value, str) and not value.startswith("0x"):
        return resolve(value)
    if isinstance(kind, (FixedBytes, Bytes)):
        if not isinstance(value, str) or not value.startswith("0x"):
            raise common.CliError(f"{path}: expected 0x-hex bytes")
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise common.CliError(f"{path}: {value!r} is not hex") from None
    if isinstance(kind, Int):
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise common.CliError(f"{path}: expected an integer")
        return value
    if isinstance(kind, List):
        if not isinstance(value, list):
            raise common.CliError(f"{path}: expected a list")
        return [from_json(kind.of, v, resolve, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(kind, Record):
        if isinstance(value, dict):
            value = [value.get(name) for name, _ in kind.fields]
        if not isinstance(value, list) or len(value) != len(kind.fields):
            raise common.CliError(f"{path}: expected {len(kind.fields)} fields")
        return [
            from_json(k, v, resolve, f"{path}.{n}")
            for (n, k), v in zip(kind.fields, value, strict=True)
        ]
    if isinstance(kind, (Text, Enum, Bool)) or not isinstance(value, (dict, list)):
        return value
    raise common.CliError(f"{path}: cannot convert {type(value).__name__} to {kind.name}")


def build_call(pallet: str, function: str, raw_args: dict[str, Any], resolve: Any) -> bytes:
    """The ``call`` bytes of a proposal; refuses what the governance list does not hold."""
    listed_calls = allowed(construct.WIRING)
    if (pallet, function) not in listed_calls:
        listed = ", ".join(f"{p}.{f}" for p, f in sorted(listed_calls))
        raise common.CliError(f"{pallet}.{function} is not on the governance list ({listed})")
    definition = display.runtime().call(pallet, function)
    if definition is None:
        raise common.CliError(f"{pallet}.{function} is not in this runtime")
    declared = dict(definition.args)
    unknown = sorted(set(raw_args) - set(declared))
    if unknown:
        raise common.CliError(f"{pallet}.{function} takes no argument {unknown[0]!r}")
    args = {
        name: from_json(declared[name], value, resolve, name) for name, value in raw_args.items()
    }
    return encode_call(pallet, function, args)


def _resolver(ctx: typer.Context) -> Any:
    def resolve(who: str) -> bytes:
        return common.account_id(ctx, who)

    return resolve


def _propose(
    ctx: typer.Context, signer: str, pallet: str, function: str, args: dict[str, Any], as_json: bool
) -> None:
    call = build_call(pallet, function, args, _resolver(ctx))
    _, _, converted = codec.decode(call)
    definition = display.runtime().call(pallet, function)
    declared = dict(definition.args) if definition is not None else {}
    seen = common.view(ctx)  # amounts in token units, accounts with their keystore names
    names = [name for name in declared if name in converted] or list(converted)
    spelled = ", ".join(f"{k}={seen.argument(declared.get(k), converted[k])}" for k in names)
    shown = {"proposal": f"{pallet}.{function}({spelled})", "voted on": "the next round"}
    common.send(ctx, signer, "governance", "propose", {"call": call}, as_json, shown)


def _key(text: str) -> str:
    if not text.startswith("0x") or len(text) != 66:
        raise common.CliError(f"validator key {text!r}: expected 0x + 64 hex digits")
    return text


# ------------------------------------------------------------- propose


@propose_app.command("set-param")
@guarded
def propose_set_param(
    ctx: typer.Context,
    signer: Signer,
    section: str,
    name: str,
    value: int,
    as_json: JsonOut = False,
) -> None:
    """Set one chain parameter (also redistribution share, assessment weights)."""
    args = {"section": section, "name": name, "value": value}
    _propose(ctx, signer, "system", "set_param", args, as_json)


@propose_app.command("set-params")
@guarded
def propose_set_params(
    ctx: typer.Context,
    signer: Signer,
    changes: Annotated[list[str], typer.Argument(help="SECTION.NAME=VALUE (one or more)")],
    as_json: JsonOut = False,
) -> None:
    """Set several parameters at once (e.g. weights that must sum to 10000)."""
    parsed = []
    for change in changes:
        target, sep, value = change.partition("=")
        section, dot, name = target.partition(".")
        if not sep or not dot or not value.isdigit():
            raise common.CliError(f"{change!r}: expected SECTION.NAME=VALUE")
        parsed.append([section, name, int(value)])
    _propose(ctx, signer, "system", "set_params", {"changes": parsed}, as_json)


@propose_app.command("add-validator")
@guarded
def propose_add_validator(
    ctx: typer.Context,
    signer: Signer,
    validator: Validator,
    power: Annotated[int, typer.Option(min=1)] = 10,
    as_json: JsonOut = False,
) -> None:
    """Add a validator (counts from H + 2; needs twice as many votes for as against)."""
    args = {"validator": _key(validator), "power": power}
    _propose(ctx, signer, "system", "add_validator", args, as_json)


@propose_app.command("remove-validator")
@guarded
def propose_remove_validator(
    ctx: typer.Context, signer: Signer, validator: Validator, as_json: JsonOut = False
) -> None:
    """Remove a validator (stops counting at H + 2)."""
    _propose(ctx, signer, "system", "remove_validator", {"validator": _key(validator)}, as_json)


def _registrar_command(name: str, function: str, doc: str) -> None:
    def command(
        ctx: typer.Context, signer: Signer, bioregion: str, registrar: str, as_json: JsonOut = False
    ) -> None:
        args = {"bioregion": bioregion, "registrar": registrar}
        _propose(ctx, signer, "members", function, args, as_json)

    command.__doc__ = doc
    propose_app.command(name)(guarded(command))


_registrar_command("add-registrar", "add_registrar", "Make an account a bioregion's registrar.")
_registrar_command("remove-registrar", "remove_registrar", "Remove a bioregion's registrar.")


@propose_app.command("call")
@guarded
def propose_call(
    ctx: typer.Context,
    signer: Signer,
    pallet: str,
    function: str,
    args: Annotated[str, typer.Argument(help='JSON object, e.g. {"fund": null, "amount": 5}')],
    as_json: JsonOut = False,
) -> None:
    """Any call of the governance list, arguments as JSON (e.g. commons mint)."""
    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as exc:
        raise common.CliError(f"arguments are not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise common.CliError("arguments must be a JSON object")
    _propose(ctx, signer, pallet, function, parsed, as_json)


# ------------------------------------------------------------- vote and read


@gov_app.command("vote")
@guarded
def gov_vote(
    ctx: typer.Context,
    signer: Signer,
    proposal: int,
    votes: Annotated[int, typer.Argument(min=0, help="how many votes (0 withdraws)")],
    against: Annotated[bool, typer.Option("--against", help="vote against")] = False,
    as_json: JsonOut = False,
) -> None:
    """Cast VOTES for (or --against) a proposal; they cost VOTES² voice credits (G3)."""
    signed = -votes if against else votes
    shown = {
        "proposal": str(proposal),
        "votes": f"{votes} {'against' if against else 'for'}",
        "cost": f"{votes * votes} voice credits (refunding any earlier vote first)",
    }
    common.send(
        ctx, signer, "governance", "vote", {"proposal": proposal, "votes": signed}, as_json, shown
    )


@gov_app.command("show")
@guarded
def gov_show(ctx: typer.Context, proposal: int, as_json: JsonOut = False) -> None:
    """A proposal: its call, phase, tally, ballots and their costs (gov_proposal)."""
    common.show(ctx, as_json, f"proposal {proposal}", "gov_proposal", proposal=proposal)


@gov_app.command("list")
@guarded
def gov_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: JsonOut = False,
) -> None:
    """The most recent proposals with their tallies (gov_proposals)."""
    rows = common.query(ctx, "gov_proposals", limit=limit)
    if not as_json:
        rows = common.humane(ctx, "gov_proposals", rows)
        rows = [
            {
                "id": r["id"],
                "call": f"{r['call'].get('pallet')}.{r['call'].get('function')}",
                "phase": r["phase"],
                "round": r["round"],
                "for": r["votes_for"],
                "against": r["votes_against"],
                "voters": r["voters"],
                "credits": r["credits_spent"],
            }
            for r in rows
        ]
    common.print_data(as_json, "proposals", rows)


@gov_app.command("round")
@guarded
def gov_round(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """The current round, when it ends, and the rules in force (gov_round)."""
    common.show(ctx, as_json, "governance round", "gov_round")


@gov_app.command("credits")
@guarded
def gov_credits(
    ctx: typer.Context,
    who: str,
    round_: Annotated[int | None, typer.Option("--round")] = None,
    as_json: JsonOut = False,
) -> None:
    """A member's voice credits in a round (the current one by default): spent and left."""
    if round_ is None:
        round_ = int(common.query(ctx, "gov_round")["round"])
    common.show(ctx, as_json, f"voice credits of {who} in round {round_}", "gov_voter", who,
                round=round_)  # fmt: skip
