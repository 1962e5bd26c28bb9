"""``credichain commons pool|redistributions|issuance``: the commons pool, read-only.

Minting (R3) and the shares (R1, R2) are governance decisions: they are
proposed and voted in the governance pallet, not signed from a wallet.
"""

from __future__ import annotations

from typing import Annotated

import typer

from node.cli.credit import JsonOut, _common, _print, _query
from node.cli.wallet import guarded

commons_app = typer.Typer(
    help="The commons pool: balance, redistributions, issuance (R1-R3).", no_args_is_help=True
)
commons_app.callback()(_common)


@commons_app.command("pool")
@guarded
def commons_pool(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """The pool's balance, shares and running totals."""
    _print(as_json, "commons pool", _query(ctx, "commons_pool"))


@commons_app.command("redistributions")
@guarded
def commons_redistributions(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=32, help="latest N rounds")] = 5,
    as_json: JsonOut = False,
) -> None:
    """Recent redistribution rounds and their grants (R2), newest first."""
    rounds = _query(ctx, "commons_redistributions", limit=limit)
    if as_json:
        _print(True, "redistributions", rounds)
        return
    rows = [{"round": r["epoch"], "taken": r["taken"], **g} for r in rounds for g in r["grants"]]
    _print(False, "grants", rows)


@commons_app.command("issuance")
@guarded
def commons_issuance(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """Minted this year against the cap (R3)."""
    _print(as_json, "issuance", _query(ctx, "commons_issuance"))
