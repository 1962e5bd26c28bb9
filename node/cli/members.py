"""``credichain members``: registrars register and revoke members; anyone reads them.

Theory of operation
-------------------
A typer sub-app with the shared options and signing path of
``node.cli.common``. ``register`` takes the attestation as ``0x`` + 64 hex
digits or as a file that is hashed with blake2b-256 on this machine: only
the hash goes on chain (G1, no personal data). Registrars themselves are set
by governance (``credichain gov propose add-registrar``). Reads use
``members_get``, ``members_list`` and ``members_registrars``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from node.cli import common
from node.cli.common import JsonOut, Signer, guarded

members_app = common.group("Governance members: registrars register and revoke; list members.")

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
        "member": common.account_id(ctx, member),
        "bioregion": bioregion,
        "attestation": common.parse_hash(attestation),
    }
    common.send(ctx, signer, "members", "register", args, as_json)


@members_app.command("revoke")
@guarded
def members_revoke(
    ctx: typer.Context, signer: Signer, member: str, as_json: JsonOut = False
) -> None:
    """G1: a registrar of the member's bioregion revokes the membership."""
    common.send(
        ctx, signer, "members", "revoke", {"member": common.account_id(ctx, member)}, as_json
    )


@members_app.command("show")
@guarded
def members_show(ctx: typer.Context, who: str, as_json: JsonOut = False) -> None:
    """An account's membership and registrar roles (members_get)."""
    address, data = common.query_account(ctx, who, "members_get")
    common.print_data(as_json, f"membership of {address}", data)


@members_app.command("list")
@guarded
def members_list(ctx: typer.Context, bioregion: Bioregion = None, as_json: JsonOut = False) -> None:
    """Members, of one bioregion or all (members_list)."""
    common.print_data(as_json, "members", common.query(ctx, "members_list", bioregion=bioregion))


@members_app.command("registrars")
@guarded
def members_registrars(
    ctx: typer.Context, bioregion: Bioregion = None, as_json: JsonOut = False
) -> None:
    """Registrars, of one bioregion or all (members_registrars)."""
    common.print_data(
        as_json, "registrars", common.query(ctx, "members_registrars", bioregion=bioregion)
    )
