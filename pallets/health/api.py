"""What other pallets, RPC queries and the wallet use of the health pallet.

Theory of operation
-------------------
Reads only (plus the small write helpers the calls and hooks share): the
bioregion registry (H1), the standing health score of a bioregion (H2) and
the fund-to-bioregion map. A score is in bps; ``None`` means no oracle round
has ever produced a value for the bioregion (callers decide what that means:
the commons pallet treats it as full need, ``10 000``).
"""

from __future__ import annotations

from typing import Any

from ledger.overlay import StateReader
from pallets.health.rounds import weighted_score, weights
from pallets.health.storage import (
    BIOREGION_RE,
    BIOREGIONS,
    CURRENT,
    CURRENT_VALUE,
    FUND_BIOREGION,
    HISTORY,
    MAX_BIOREGIONS,
    MAX_FUNDS_PER_BIOREGION,
    PUBLISHED,
    REGION,
    REGION_FUNDS,
    pad,
)


def is_bioregion_id(value: object) -> bool:
    """Whether ``value`` has the form of a bioregion id (registered or not)."""
    return isinstance(value, str) and BIOREGION_RE.match(value) is not None


def bioregion_exists(state: StateReader, bioregion: str) -> bool:
    """H1: whether ``bioregion`` is registered."""
    return is_bioregion_id(bioregion) and BIOREGIONS.contains(state, bioregion)


def bioregions(state: StateReader) -> list[str]:
    """Every registered bioregion id, sorted (at most MAX_BIOREGIONS)."""
    return [region for region, _ in BIOREGIONS.items(state)][:MAX_BIOREGIONS]


def bioregion(state: StateReader, bioregion_id: str) -> dict[str, Any] | None:
    """The registry record ``{name_hash, registered, oracles}``, or None."""
    if not is_bioregion_id(bioregion_id):
        return None
    raw = BIOREGIONS.get(state, bioregion_id)
    return None if raw is None else REGION.unwire(raw)


def oracles(state: StateReader, bioregion_id: str) -> list[bytes]:
    """The accounts authorized to observe ``bioregion_id`` (H1); [] if unknown."""
    record = bioregion(state, bioregion_id)
    return [] if record is None else list(record["oracles"])


def is_oracle(state: StateReader, bioregion_id: str, account: bytes) -> bool:
    return account in oracles(state, bioregion_id)


def current(state: StateReader, bioregion_id: str) -> dict[str, Any] | None:
    """The standing ``{components, epoch, observations}`` of a bioregion, or None."""
    if not is_bioregion_id(bioregion_id):
        return None
    raw = CURRENT_VALUE.get(state, bioregion_id)
    return None if raw is None else CURRENT.unwire(raw)


def health_score(state: StateReader, bioregion_id: str) -> int | None:
    """H2: the bioregion's health in bps, or None when no round produced one yet."""
    value = current(state, bioregion_id)
    return None if value is None else weighted_score(value["components"], weights(state))


def fund_bioregion(state: StateReader, fund_id: int) -> str | None:
    """The bioregion a fund belongs to, or None."""
    region: str | None = FUND_BIOREGION.get(state, fund_id)
    return region


def funds_in(state: StateReader, bioregion_id: str) -> list[int]:
    """The funds placed in ``bioregion_id``, by id (at most MAX_FUNDS_PER_BIOREGION)."""
    if not is_bioregion_id(bioregion_id):
        return []
    prefix = REGION_FUNDS.prefix + pad(bioregion_id)
    return [int.from_bytes(key[-4:], "big") for key, _ in state.iterate(prefix)][
        :MAX_FUNDS_PER_BIOREGION
    ]


def history(state: StateReader, bioregion_id: str) -> list[tuple[int, dict[str, Any]]]:
    """``(epoch, published)`` of the kept closed epochs, oldest first."""
    if not is_bioregion_id(bioregion_id):
        return []
    cut = len(HISTORY.prefix)
    out = []
    for key, _ in state.iterate(HISTORY.prefix + pad(bioregion_id)):
        value = HISTORY.get(state, key[cut:])
        if value is not None:
            out.append((int.from_bytes(key[-8:], "big"), PUBLISHED.unwire(value)))
    return out
