"""``credichain members``: registrars register and revoke members; anyone reads them.

Theory of operation
-------------------
A typer sub-app with the shared options and signing path of
``node.cli.common``. ``register`` takes the attestation as ``0x`` + 64 hex
digits or as a file that is hashed with blake2b-256 on this machine: only
the hash goes on chain (G1, no personal data). Registrars themselves are set
by governance (``credichain gov propose add-registrar``). Reads use
``members_get``, ``members_list`` and ``members_registrars``.

A person changes keys (G1) with ``rotate KEY NEW`` signed by the old key;
when the key is lost, a registrar runs ``recover REGISTRAR MEMBER NEW``,
the old key may ``cancel-recovery`` until ``recovery_delay`` has passed, and
then anyone runs ``finish-recovery SIGNER MEMBER``. NEW is a key name from
the keystore or an address: only its public key goes on chain.
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


@members_app.command("rotate")
@guarded
def members_rotate(
    ctx: typer.Context,
    signer: Signer,
    new: Annotated[str, typer.Argument(help="the new key: key name or address")],
    as_json: JsonOut = False,
) -> None:
    """G1: hand the membership, trust and credit history of SIGNER's key over to NEW."""
    common.send(ctx, signer, "members", "rotate_key", {"new": common.account_id(ctx, new)}, as_json)


@members_app.command("recover")
@guarded
def members_recover(
    ctx: typer.Context,
    signer: Signer,
    member: Annotated[str, typer.Argument(help="the member whose key is lost")],
    new: Annotated[str, typer.Argument(help="the member's new key: key name or address")],
    as_json: JsonOut = False,
) -> None:
    """G1: a registrar starts recovering MEMBER's lost key to NEW (done after recovery_delay)."""
    args = {"member": common.account_id(ctx, member), "new": common.account_id(ctx, new)}
    common.send(ctx, signer, "members", "start_recovery", args, as_json)


@members_app.command("cancel-recovery")
@guarded
def members_cancel_recovery(ctx: typer.Context, signer: Signer, as_json: JsonOut = False) -> None:
    """G1: the member's key cancels a recovery of itself (it is not lost)."""
    common.send(ctx, signer, "members", "cancel_recovery", {}, as_json)


@members_app.command("finish-recovery")
@guarded
def members_finish_recovery(
    ctx: typer.Context, signer: Signer, member: str, as_json: JsonOut = False
) -> None:
    """G1: anyone completes MEMBER's recovery once recovery_delay has passed."""
    common.send(
        ctx,
        signer,
        "members",
        "finish_recovery",
        {"member": common.account_id(ctx, member)},
        as_json,
    )


@members_app.command("show")
@guarded
def members_show(ctx: typer.Context, who: str, as_json: JsonOut = False) -> None:
    """An account's membership and registrar roles (members_get)."""
    common.show(ctx, as_json, f"membership of {who}", "members_get", who)


@members_app.command("list")
@guarded
def members_list(ctx: typer.Context, bioregion: Bioregion = None, as_json: JsonOut = False) -> None:
    """Members, of one bioregion or all (members_list)."""
    common.show(ctx, as_json, "members", "members_list", bioregion=bioregion)


@members_app.command("registrars")
@guarded
def members_registrars(
    ctx: typer.Context, bioregion: Bioregion = None, as_json: JsonOut = False
) -> None:
    """Registrars, of one bioregion or all (members_registrars)."""
    common.show(ctx, as_json, "registrars", "members_registrars", bioregion=bioregion)
