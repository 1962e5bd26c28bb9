"""From source values to the five components, in integer bps (H2).

Theory of operation
-------------------
Each component is mapped from one field of one source by a linear scale:
the operator says which reading means 0 bps (``min``) and which means
10 000 bps (``max``)::

    bps = floor((value - min) * 10 000 / (max - min)),  clamped to [0, 10 000]

computed with exact fractions (no binary floats), so two feeders reading
the same data send the same numbers. ``min`` may exceed ``max`` for a
reading where less is better. With ``invert = true`` the result is
``10 000 - bps``: this is how **ecological health** is fed, since the
chain's component is ``10 000 - footprint`` (credit-rules H2) and sources
publish the footprint. A reading outside ``[min, max]`` is clamped and
logged, never refused: the scale says what "all" and "nothing" are.

Suggested scales (deploy/oracle/README.md): economic diversity from a
normalised Shannon index (0..1); resource circulation from local-spend
share (0..1); cooperative participation from the share of residents in
cooperatives (0..1 or 0..100 %); ecological footprint in global hectares
per person with ``min`` = the regional biocapacity and ``max`` = five times
it, inverted; knowledge sharing from open courses or commons-licensed works
per 1 000 residents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from node.oracle.config import ComponentMap

BPS_ONE: Final = 10_000


@dataclass(frozen=True, slots=True)
class Mapped:
    bps: int
    clamped: bool


def to_bps(value: Decimal, mapping: ComponentMap) -> Mapped:
    """Scale ``value`` to bps by ``mapping`` (exact, floored, clamped, maybe inverted)."""
    low, high = Fraction(mapping.min), Fraction(mapping.max)
    position = (Fraction(value) - low) * BPS_ONE / (high - low)
    raw = position.numerator // position.denominator
    bps = min(BPS_ONE, max(0, raw))
    clamped = bps != raw
    if mapping.invert:
        bps = BPS_ONE - bps
    return Mapped(bps, clamped)
