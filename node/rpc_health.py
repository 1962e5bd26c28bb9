"""RPC queries of the health pallet: bioregions, scores, oracles, history (H1-H3).

Every method reads the state of a block (``at``, the best block when
omitted). Components are named (``economic_diversity``...), all in bps;
accounts are bech32m with the chain's prefix. An unknown bioregion is
``null``. ``health_get`` gives the standing value, the score with the
current weights, the oracles, who already observed the open epoch, and the
on-chain measures of the last closed epoch; ``health_history`` the kept
per-epoch values for charts, oldest first.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import Field

from ledger.crypto import DEFAULT_HRP
from ledger.overlay import StateReader
from pallets.health import api as health_api
from pallets.health.rounds import weights
from pallets.health.storage import (
    BIOREGION_RE,
    COMPONENTS,
    HISTORY_EPOCHS,
    OBSERVATIONS,
    OPEN_EPOCH,
    pad,
)
from pallets.support.records import u64
from rpc.encoding import address_text, hex0x
from rpc.registry import MethodRegistry, NoParams, Params

BioregionParam = Annotated[str, Field(pattern=BIOREGION_RE.pattern, max_length=32)]
OBJECT: Final = {"type": ["object", "null"]}
ARRAY: Final = {"type": "array"}


def named(components: list[int] | None) -> dict[str, int] | None:
    """Five components as ``{name: bps}``; None stays None."""
    return None if components is None else dict(zip(COMPONENTS, components, strict=True))


def observed_this_epoch(state: StateReader, region: str) -> list[bytes]:
    """The oracles that already observed ``region`` in the open epoch."""
    epoch: int = OPEN_EPOCH.get(state)
    prefix = OBSERVATIONS.prefix + pad(region) + u64(epoch)
    return [key[-32:] for key, _ in state.iterate(prefix)]


def bioregion_view(
    state: StateReader, region: str, hrp: str = DEFAULT_HRP
) -> dict[str, Any] | None:
    record = health_api.bioregion(state, region)
    if record is None:
        return None
    value = health_api.current(state, region)
    history = health_api.history(state, region)
    last = history[-1] if history else None
    return {
        "id": region,
        "name_hash": None if record["name_hash"] is None else hex0x(record["name_hash"]),
        "registered": record["registered"],
        "oracles": [address_text(a, hrp) for a in record["oracles"]],
        "components": named(None if value is None else value["components"]),
        "score": health_api.health_score(state, region),
        "value_epoch": None if value is None else value["epoch"],
        "observations": 0 if value is None else value["observations"],
        "weights": named(weights(state)),
        "open_epoch": OPEN_EPOCH.get(state),
        "observed_this_epoch": [address_text(a, hrp) for a in observed_this_epoch(state, region)],
        "funds": health_api.funds_in(state, region),
        "measures": None
        if last is None
        else {
            "epoch": last[0],
            "credit_velocity": last[1]["credit_velocity"],
            "participation": last[1]["participation"],
        },
    }


def history_view(state: StateReader, region: str, limit: int) -> list[dict[str, Any]] | None:
    if not health_api.bioregion_exists(state, region):
        return None
    rows = health_api.history(state, region)[-limit:] if limit > 0 else []
    return [
        {
            "epoch": epoch,
            "components": named(row["components"]),
            "score": row["score"],
            "observations": row["observations"],
            "credit_velocity": row["credit_velocity"],
            "participation": row["participation"],
            "funds": row["funds"],
        }
        for epoch, row in rows
    ]


class BioregionParams(Params):
    bioregion: BioregionParam


class HistoryParams(Params):
    bioregion: BioregionParam
    limit: Annotated[int, Field(strict=True, ge=1, le=HISTORY_EPOCHS)] = HISTORY_EPOCHS


def register_health_queries(registry: MethodRegistry, *, hrp: str = DEFAULT_HRP) -> None:
    """Register health_bioregions, health_get, health_history on ``registry``."""

    @registry.pallet_query(
        "health",
        "bioregions",
        params=NoParams,
        result=ARRAY,
        description="Every registered bioregion with its score (H1, H2).",
    )
    def health_bioregions(state: StateReader, params: NoParams) -> Any:
        return [
            {
                "id": region,
                "score": health_api.health_score(state, region),
                "oracles": len(health_api.oracles(state, region)),
                "funds": len(health_api.funds_in(state, region)),
            }
            for region in health_api.bioregions(state)
        ]

    @registry.pallet_query(
        "health",
        "get",
        params=BioregionParams,
        result=OBJECT,
        description="A bioregion: components, score, oracles, on-chain measures (H1-H3).",
    )
    def health_get(state: StateReader, params: BioregionParams) -> Any:
        return bioregion_view(state, params.bioregion, hrp)

    @registry.pallet_query(
        "health",
        "history",
        params=HistoryParams,
        result={"type": ["array", "null"]},
        description="Per-epoch published values of a bioregion, oldest first (H3).",
    )
    def health_history(state: StateReader, params: HistoryParams) -> Any:
        return history_view(state, params.bioregion, params.limit)
