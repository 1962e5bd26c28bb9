"""``credichain members``: registrars register and revoke members; anyone reads them.

Theory of operation
-------------------
A typer sub-app with the shared options and signing path of
``node.cli.credit``. ``register`` takes the attestation as ``0x`` + 64 hex
digits or as a file that is hashed with blake2b-256 on this machine: only
the hash goes on chain (G1, no personal data). Registrars themselves are set
by governance (``credichain gov propose add-registrar``). Reads use
``members_get``, ``members_list`` and ``members_registrars``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.crypto import encode_address
from node.cli.credit import JsonOut, Signer, _common, _opts, _print, _query, _send, _who, parse_hash
from node.cli.wallet import guarded, resolve_account
from rpc.client import RpcClient

members_app = typer.Typer(
    help="Governance members: registrars register and revoke; list members.",
    no_args_is_help=True,
)
members_app.callback()(_common)

Bioregion = Annotated[str | None, typer.Option("--bioregion", help="only this bioregion")]


@members_app.command("register")
@guarded
def members_register(
    ctx: typer.Context,
    signer: Signer,
    member: Annotated[str, typer.Argument(help="the new member: key name or address")],
    bioregion: str,
    attestation: Annotated[str, typer.Argument(help="0x hash, or a file hashed locally")],
    as_json: JsonOut = False,
) -> None:
    """G1: a registrar of BIOREGION registers MEMBER on an attestation's hash."""
    args = {
        "member": _who(ctx, member),
        "bioregion": bioregion,
        "attestation": parse_hash(attestation),
    }
    _send(ctx, signer, "members", "register", args, as_json)


@members_app.command("revoke")
@guarded
def members_revoke(
    ctx: typer.Context, signer: Signer, member: str, as_json: JsonOut = False
) -> None:
    """G1: a registrar of the member's bioregion revokes the membership."""
    _send(ctx, signer, "members", "revoke", {"member": _who(ctx, member)}, as_json)


@members_app.command("show")
@guarded
def members_show(ctx: typer.Context, who: str, as_json: JsonOut = False) -> None:
    """An account's membership and registrar roles (members_get)."""
    with RpcClient(_opts(ctx).rpc) as client:
        hrp = client.properties().address_prefix
        address = encode_address(resolve_account(_opts(ctx).keystore, who, hrp), hrp)
        data = client.call_named("members_get", address=address)
    _print(as_json, f"membership of {address}", data)


@members_app.command("list")
@guarded
def members_list(ctx: typer.Context, bioregion: Bioregion = None, as_json: JsonOut = False) -> None:
    """Members, of one bioregion or all (members_list)."""
    _print(as_json, "members", _query(ctx, "members_list", bioregion=bioregion))


@members_app.command("registrars")
@guarded
def members_registrars(
    ctx: typer.Context, bioregion: Bioregion = None, as_json: JsonOut = False
) -> None:
    """Registrars, of one bioregion or all (members_registrars)."""
    _print(as_json, "registrars", _query(ctx, "members_registrars", bioregion=bioregion))
