"""Queries of the health pallet: bioregions, scores, oracles, history (H1-H3).

Components are named (``economic_diversity``...), all in bps. An unknown
bioregion is ``None``. ``get`` gives the standing value, the score with the
current weights, the oracles, who already observed the open epoch, and the
on-chain measures of the last closed epoch; ``history`` the kept per-epoch
values for charts, oldest first.
"""

from __future__ import annotations

from typing import Any, Final

from pallets.health import api
from pallets.health.rounds import weights
from pallets.health.storage import (
    BIOREGION,
    COMPONENTS,
    HISTORY_EPOCHS,
    MAX_BIOREGIONS,
    MAX_FUNDS_PER_BIOREGION,
    MAX_ORACLES,
    OBSERVATIONS,
    OPEN_EPOCH,
    PUBLISHED,
    REGION,
    pad,
)
from pallets.support.argtypes import ACCOUNT, BPS, U32, U64, Int, List, Optional
from pallets.support.queries import QueryReader, QuerySet, Struct
from pallets.support.records import u64

NAMED: Final = Struct("components", tuple((name, BPS) for name in COMPONENTS))
_PUBLISHED: Final = dict(PUBLISHED.record.fields)
_REGION: Final = dict(REGION.record.fields)
ORACLES: Final = List(ACCOUNT, MAX_ORACLES)
BIOREGION_ROW: Final = Struct(
    "bioregion_row",
    (("id", BIOREGION), ("score", Optional(BPS)), ("oracles", U32), ("funds", U32)),
)
BIOREGION_VIEW: Final = Struct(
    "bioregion_view",
    (
        ("id", BIOREGION),
        ("name_hash", _REGION["name_hash"]),
        ("registered", _REGION["registered"]),
        ("oracles", ORACLES),
        ("components", Optional(NAMED)),
        ("score", Optional(BPS)),
        ("value_epoch", Optional(U64)),
        ("observations", U32),
        ("weights", NAMED),
        ("open_epoch", U64),
        ("observed_this_epoch", ORACLES),
        ("funds", List(U32, MAX_FUNDS_PER_BIOREGION)),
        (
            "measures",
            Optional(
                Struct(
                    "measures",
                    (
                        ("epoch", U64),
                        ("credit_velocity", _PUBLISHED["credit_velocity"]),
                        ("participation", _PUBLISHED["participation"]),
                    ),
                )
            ),
        ),
    ),
)
HISTORY_ROW: Final = Struct(
    "health_epoch_view",
    (
        ("epoch", U64),
        ("components", Optional(NAMED)),
        *(
            (name, _PUBLISHED[name])
            for name in ("score", "observations", "credit_velocity", "participation", "funds")
        ),
    ),
)

queries = QuerySet("health")


def named(components: list[int] | None) -> dict[str, int] | None:
    """Five components as ``{name: bps}``; None stays None."""
    return None if components is None else dict(zip(COMPONENTS, components, strict=True))


def observed_this_epoch(state: QueryReader, region: str) -> list[bytes]:
    """The oracles that already observed ``region`` in the open epoch."""
    epoch: int = OPEN_EPOCH.get(state)
    prefix = OBSERVATIONS.prefix + pad(region) + u64(epoch)
    return [key[-32:] for key, _ in state.iterate(prefix)]


@queries.query("bioregions", result=List(BIOREGION_ROW, MAX_BIOREGIONS))
def bioregions(state: QueryReader) -> list[dict[str, Any]]:
    """Every registered bioregion with its score (H1, H2)."""
    return [
        {
            "id": region,
            "score": api.health_score(state, region),
            "oracles": len(api.oracles(state, region)),
            "funds": len(api.funds_in(state, region)),
        }
        for region in api.bioregions(state)
    ]


@queries.query("get", args=(("bioregion", BIOREGION),), result=Optional(BIOREGION_VIEW))
def get(state: QueryReader, bioregion: str) -> dict[str, Any] | None:
    """A bioregion: components, score, oracles, on-chain measures (H1-H3)."""
    record = api.bioregion(state, bioregion)
    if record is None:
        return None
    value = api.current(state, bioregion)
    history = api.history(state, bioregion)
    last = history[-1] if history else None
    return {
        "id": bioregion,
        "name_hash": record["name_hash"],
        "registered": record["registered"],
        "oracles": record["oracles"],
        "components": named(None if value is None else value["components"]),
        "score": api.health_score(state, bioregion),
        "value_epoch": None if value is None else value["epoch"],
        "observations": 0 if value is None else value["observations"],
        "weights": named(weights(state)),
        "open_epoch": OPEN_EPOCH.get(state),
        "observed_this_epoch": observed_this_epoch(state, bioregion),
        "funds": api.funds_in(state, bioregion),
        "measures": None
        if last is None
        else {
            "epoch": last[0],
            "credit_velocity": last[1]["credit_velocity"],
            "participation": last[1]["participation"],
        },
    }


@queries.query(
    "history",
    args=(("bioregion", BIOREGION), ("limit", Int("limit", 1, HISTORY_EPOCHS))),
    defaults={"limit": HISTORY_EPOCHS},
    result=Optional(List(HISTORY_ROW, HISTORY_EPOCHS)),
)
def history(state: QueryReader, bioregion: str, limit: int) -> list[dict[str, Any]] | None:
    """Per-epoch published values of a bioregion, oldest first (H3)."""
    if not api.bioregion_exists(state, bioregion):
        return None
    return [
        {"epoch": epoch, **row, "components": named(row["components"])}
        for epoch, row in api.history(state, bioregion)[-limit:]
    ]
