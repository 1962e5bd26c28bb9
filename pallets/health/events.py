"""Health events: the registry, every observation and every published epoch (H1-H3)."""

from __future__ import annotations

from typing import Final

from pallets.health.storage import BIOREGION, COMPONENT_VALUES, MAX_ORACLES
from pallets.support.argtypes import ACCOUNT, BPS, U32, U64, List, Optional
from pallets.support.declare import EventSet

events = EventSet("health")

BioregionRegistered: Final = events.define(
    "BioregionRegistered", (("bioregion", BIOREGION),), doc="a bioregion joined the registry (H1)"
)
OraclesSet: Final = events.define(
    "OraclesSet",
    (("bioregion", BIOREGION), ("oracles", List(ACCOUNT, MAX_ORACLES))),
    doc="the authorized oracles of a bioregion were replaced (H1)",
)
Observed: Final = events.define(
    "Observed",
    (
        ("bioregion", BIOREGION),
        ("epoch", U64),
        ("oracle", ACCOUNT),
        ("components", COMPONENT_VALUES),
    ),
    doc="an oracle's signed observation of the five components, in bps (H3)",
)
HealthPublished: Final = events.define(
    "HealthPublished",
    (
        ("bioregion", BIOREGION),
        ("epoch", U64),
        ("observations", U32),
        ("components", Optional(COMPONENT_VALUES)),
        ("score", Optional(BPS)),
        ("credit_velocity", BPS),
        ("participation", BPS),
    ),
    doc="a closed epoch's medians (or the standing value) beside the on-chain measures (H2, H3)",
)
FundBioregionSet: Final = events.define(
    "FundBioregionSet",
    (("fund", U32), ("bioregion", Optional(BIOREGION))),
    doc="a fund was placed in a bioregion (or taken out of one)",
)
