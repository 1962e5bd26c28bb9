"""Health calls: the bioregion registry (H1, governance) and oracle observations (H3).

Governance decides who may speak for a bioregion: ``register_bioregion``,
``set_oracles`` and ``set_fund_bioregion`` need the governance origin (the
governance pallet enacts them after a passed proposal). An authorized oracle
signs ``observe`` once per bioregion and epoch, for the current epoch only;
the values are checked against the ``bps`` type before the call runs, so a
component above 10 000 never reaches the state.
"""

from __future__ import annotations

from pallets.funds import api as funds_api
from pallets.health import api
from pallets.health.errors import (
    AlreadyObserved,
    BioregionExists,
    NotOracle,
    TooManyBioregions,
    TooManyFunds,
    UnknownBioregion,
    UnknownFund,
    WrongEpoch,
)
from pallets.health.events import BioregionRegistered, FundBioregionSet, Observed, OraclesSet
from pallets.health.storage import (
    BIOREGION,
    BIOREGION_COUNT,
    BIOREGIONS,
    COMPONENT_VALUES,
    FLOWS,
    FUND_BIOREGION,
    MAX_BIOREGIONS,
    MAX_FUNDS_PER_BIOREGION,
    MAX_ORACLES,
    OBSERVATIONS,
    REGION,
    REGION_FUNDS,
    pad,
)
from pallets.support.argtypes import ACCOUNT, HASH, U32, U64, List, Optional
from pallets.support.context import CallContext
from pallets.support.declare import GOVERNANCE, CallSet
from pallets.support.records import u32, u64

calls = CallSet("health")


def _require_region(ctx: CallContext, bioregion: str) -> dict[str, object]:
    record = api.bioregion(ctx, bioregion)
    if record is None:
        raise UnknownBioregion(f"bioregion {bioregion!r} is not registered")
    return record


@calls.call(
    0, args=(("bioregion", BIOREGION), ("name_hash", Optional(HASH))), weight=8, origin=GOVERNANCE
)
def register_bioregion(ctx: CallContext, bioregion: str, name_hash: bytes | None) -> None:
    """H1: add a bioregion to the registry (no oracles yet: see ``set_oracles``)."""
    if BIOREGIONS.contains(ctx, bioregion):
        raise BioregionExists(f"bioregion {bioregion!r} is already registered")
    count = BIOREGION_COUNT.get(ctx)
    if count >= MAX_BIOREGIONS:
        raise TooManyBioregions(f"the registry holds its maximum of {MAX_BIOREGIONS} bioregions")
    record: dict[str, object] = {
        "name_hash": name_hash,
        "registered": ctx.block.time,
        "oracles": [],
    }
    BIOREGIONS.put(ctx, bioregion, REGION.wire(record))
    BIOREGION_COUNT.put(ctx, count + 1)
    ctx.emit(BioregionRegistered, bioregion=bioregion)


@calls.call(
    1,
    args=(("bioregion", BIOREGION), ("oracles", List(ACCOUNT, MAX_ORACLES, unique=True))),
    weight=6,
    origin=GOVERNANCE,
)
def set_oracles(ctx: CallContext, bioregion: str, oracles: list[bytes]) -> None:
    """H1: replace the authorized oracles of a bioregion (an empty list stops its rounds).

    Observations already submitted this epoch by an account no longer
    authorized are left out when the epoch closes.
    """
    record = _require_region(ctx, bioregion)
    record["oracles"] = sorted(oracles)
    BIOREGIONS.put(ctx, bioregion, REGION.wire(record))
    ctx.emit(OraclesSet, bioregion=bioregion, oracles=sorted(oracles))


@calls.call(
    2,
    args=(("bioregion", BIOREGION), ("epoch", U64), ("components", COMPONENT_VALUES)),
    weight=6,
)
def observe(ctx: CallContext, bioregion: str, epoch: int, components: list[int]) -> None:
    """H3: an authorized oracle's observation of the five components for the current epoch."""
    record = _require_region(ctx, bioregion)
    oracle = ctx.signer
    oracles = record["oracles"]
    assert isinstance(oracles, list)
    if oracle not in oracles:
        raise NotOracle(f"the signer is not an authorized oracle of {bioregion!r}")
    current = ctx.block.epoch
    if epoch != current:
        kind = "stale" if epoch < current else "future"
        raise WrongEpoch(f"epoch {epoch} is {kind}: observations are for epoch {current}")
    key = pad(bioregion) + u64(epoch) + oracle
    if OBSERVATIONS.contains(ctx, key):
        raise AlreadyObserved(f"this oracle already observed {bioregion!r} in epoch {epoch}")
    OBSERVATIONS.put(ctx, key, list(components))
    ctx.emit(Observed, bioregion=bioregion, epoch=epoch, oracle=oracle, components=components)


@calls.call(
    3,
    args=(("fund", U32), ("bioregion", Optional(BIOREGION))),
    weight=10 + MAX_FUNDS_PER_BIOREGION,
    origin=GOVERNANCE,
)
def set_fund_bioregion(ctx: CallContext, fund: int, bioregion: str | None) -> None:
    """Place a fund in a bioregion (None: in none), for R2 grants and the measures.

    Governance decides it, not the fund: a bioregion's need draws grants, so a
    fund must not be able to name itself into a needy one. The fund's
    principal moved so far in the open epoch is forgotten (velocity restarts).
    """
    if funds_api.find_fund(ctx, fund) is None:
        raise UnknownFund(f"there is no fund {fund}")
    old = FUND_BIOREGION.get(ctx, fund)
    if bioregion is not None and bioregion != old:
        _require_region(ctx, bioregion)
        if len(api.funds_in(ctx, bioregion)) >= MAX_FUNDS_PER_BIOREGION:
            raise TooManyFunds(
                f"bioregion {bioregion!r} holds its maximum of {MAX_FUNDS_PER_BIOREGION} funds"
            )
    if old is not None:
        REGION_FUNDS.delete(ctx, pad(old) + u32(fund))
    FUND_BIOREGION.put(ctx, fund, bioregion)
    if bioregion is not None:
        REGION_FUNDS.put(ctx, pad(bioregion) + u32(fund), True)
    FLOWS.delete(ctx, fund)
    ctx.emit(FundBioregionSet, fund=fund, bioregion=bioregion)
