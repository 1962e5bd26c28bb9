"""``credichain health show|history|observe``: bioregions, scores and oracle observations.

Shares the options of the community-bank commands (``--rpc``, ``--keystore``,
``--localnet-keys``, ``--yes``, ``--wait``, given before the command) and
their signing path (node/cli/common.py). ``observe`` is what an oracle signs
by hand; the feeder (``credichain oracle run``) does the same every epoch.
Components are given in bps (0..10 000) in the chain's order: economic
diversity, resource circulation, cooperative participation, ecological
health (10 000 - footprint), knowledge sharing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from node.cli import common
from node.cli.common import JsonOut, Signer, guarded
from pallets.health.storage import BIOREGION_RE, COMPONENTS

health_app = common.group("Community health: bioregions, scores, oracle observations (H1-H3).")

Bioregion = Annotated[str, typer.Argument(help="bioregion id, e.g. cascadia")]


def _region(text: str) -> str:
    if not BIOREGION_RE.match(text):
        raise common.CliError(f"bioregion {text!r} is not an id ([a-z][a-z0-9_], at most 32 bytes)")
    return text


@health_app.command("show")
@guarded
def health_show(
    ctx: typer.Context,
    bioregion: Annotated[str | None, typer.Argument(help="one bioregion; all when omitted")] = None,
    as_json: JsonOut = False,
) -> None:
    """Every bioregion with its score, or one in detail (components, oracles, measures)."""
    if bioregion is None:
        common.show(ctx, as_json, "bioregions", "health_bioregions")
        return
    common.show(ctx, as_json, f"bioregion {bioregion}", "health_get", bioregion=_region(bioregion))


@health_app.command("history")
@guarded
def health_history(
    ctx: typer.Context,
    bioregion: Bioregion,
    limit: Annotated[int, typer.Option(min=1, max=96, help="latest N epochs")] = 12,
    as_json: JsonOut = False,
) -> None:
    """Published values per epoch: components, score, velocity, participation."""
    rows = common.query(ctx, "health_history", bioregion=_region(bioregion), limit=limit)
    if rows is not None and not as_json:
        rows = common.humane(ctx, "health_history", rows)
        rows = [
            {
                **{k: v for k, v in row.items() if k != "components"},
                **(row["components"] if isinstance(row["components"], dict) else {}),
            }
            for row in rows
        ]
    common.print_data(as_json, f"history of {bioregion}", rows)


@health_app.command("observe")
@guarded
def health_observe(
    ctx: typer.Context,
    signer: Signer,
    bioregion: Bioregion,
    components: Annotated[
        list[int], typer.Argument(help="five values in bps: " + ", ".join(COMPONENTS))
    ],
    epoch: Annotated[int | None, typer.Option(min=0, help="default: the open epoch")] = None,
    as_json: JsonOut = False,
) -> None:
    """H3: sign one observation of the five components for the open epoch."""
    region = _region(bioregion)
    if len(components) != len(COMPONENTS):
        raise common.CliError(f"give exactly {len(COMPONENTS)} components, got {len(components)}")
    for name, value in zip(COMPONENTS, components, strict=True):
        if not 0 <= value <= 10_000:
            raise common.CliError(f"{name} = {value} is outside 0..10000 bps")
    if epoch is None:
        info = common.query(ctx, "health_get", bioregion=region)
        if info is None:
            raise common.CliError(f"bioregion {region!r} is not registered")
        epoch = int(info["open_epoch"])
    args = {"bioregion": region, "epoch": epoch, "components": components}
    shown = {"bioregion": region, "epoch": str(epoch)} | {
        name: str(v) for name, v in zip(COMPONENTS, components, strict=True)
    }
    common.send(ctx, signer, "health", "observe", args, as_json, shown)
