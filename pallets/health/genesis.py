"""Health genesis: the bioregions and oracles a chain starts with (H1)."""

from __future__ import annotations

from pallets.health.storage import (
    BIOREGION,
    BIOREGION_COUNT,
    BIOREGIONS,
    MAX_BIOREGIONS,
    MAX_ORACLES,
    REGION,
)
from pallets.support.argtypes import ArgError
from pallets.support.context import CallContext
from pallets.support.declare import RuntimeFault
from pallets.support.genesis_config import GenesisConfig


def build(config: GenesisConfig, ctx: CallContext) -> None:
    if len(config.bioregions) > MAX_BIOREGIONS:
        raise RuntimeFault(f"genesis lists more than {MAX_BIOREGIONS} bioregions")
    for region, oracles in config.bioregions:
        try:
            BIOREGION.check(region, "bioregions")
        except ArgError as exc:
            raise RuntimeFault(f"genesis: {exc}") from exc
        if BIOREGIONS.contains(ctx, region):
            raise RuntimeFault(f"genesis lists bioregion {region!r} twice")
        if len(oracles) > MAX_ORACLES or len(set(oracles)) != len(oracles):
            raise RuntimeFault(f"genesis: bioregion {region!r} needs distinct oracles, at most 16")
        record = {"name_hash": None, "registered": config.genesis_time, "oracles": sorted(oracles)}
        BIOREGIONS.put(ctx, region, REGION.wire(record))
    BIOREGION_COUNT.put(ctx, len(config.bioregions))
