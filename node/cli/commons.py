"""``credichain commons pool|redistributions|issuance``: the commons pool, read-only.

Minting (R3) and the shares (R1, R2) are governance decisions: they are
proposed and voted in the governance pallet, not signed from a wallet.
"""

from __future__ import annotations

from typing import Annotated

import typer

from node.cli import common
from node.cli.common import JsonOut, guarded

commons_app = common.group("The commons pool: balance, redistributions, issuance (R1-R3).")


@commons_app.command("pool")
@guarded
def commons_pool(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """The pool's balance, shares and running totals."""
    common.show(ctx, as_json, "commons pool", "commons_pool")


@commons_app.command("redistributions")
@guarded
def commons_redistributions(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=32, help="latest N rounds")] = 5,
    as_json: JsonOut = False,
) -> None:
    """Recent redistribution rounds and their grants (R2), newest first."""
    rounds = common.query(ctx, "commons_redistributions", limit=limit)
    if as_json:
        common.print_data(True, "redistributions", rounds)
        return
    rounds = common.humane(ctx, "commons_redistributions", rounds)
    rows = [{"round": r["epoch"], "taken": r["taken"], **g} for r in rounds for g in r["grants"]]
    common.print_data(False, "grants", rows)


@commons_app.command("issuance")
@guarded
def commons_issuance(ctx: typer.Context, as_json: JsonOut = False) -> None:
    """Minted this year against the cap (R3)."""
    common.show(ctx, as_json, "issuance", "commons_issuance")
