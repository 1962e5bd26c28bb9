"""Health errors; each cites the rule of spec/credit-rules.md it enforces."""

from __future__ import annotations

from typing import Final

from pallets.support.declare import ErrorSet

errors = ErrorSet("health")

UnknownBioregion: Final = errors.define(
    0, "UnknownBioregion", rule="H1", doc="no bioregion is registered with this id"
)
BioregionExists: Final = errors.define(
    1, "BioregionExists", rule="H1", doc="a bioregion with this id is already registered"
)
TooManyBioregions: Final = errors.define(
    2, "TooManyBioregions", rule="H1", doc="the registry holds its maximum of bioregions"
)
NotOracle: Final = errors.define(
    3, "NotOracle", rule="H3", doc="the signer is not an authorized oracle of the bioregion"
)
WrongEpoch: Final = errors.define(
    4,
    "WrongEpoch",
    rule="H3",
    doc="an observation is for the current epoch only: stale and future epochs are refused",
)
AlreadyObserved: Final = errors.define(
    5, "AlreadyObserved", rule="H3", doc="one observation per oracle per bioregion per epoch"
)
UnknownFund: Final = errors.define(
    6, "UnknownFund", rule="R2", doc="no fund has this id (fund-to-bioregion assignment)"
)
TooManyFunds: Final = errors.define(
    7, "TooManyFunds", rule="R2", doc="the bioregion holds its maximum of funds"
)
