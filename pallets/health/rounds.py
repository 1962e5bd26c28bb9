"""Oracle rounds and the health score: pure integer arithmetic (H2, H3).

Theory of operation
-------------------
Each epoch, every authorized oracle of a bioregion may submit one
observation: five components in bps. When the epoch closes, the value of
each component is the **median** of that component's submissions, taken
component by component (so one oracle's outlier in one component moves
nothing). For an odd count the median is the middle value; for an even
count it is the *floor of the mean of the two middle values*,
``(low + high) // 2``: an integer, the same on every node, and never
outside the two middle values. With no submission the last value stands.

The **health score** is the weighted sum of the components with the
``health.weight_*`` parameters (bps summing to 10 000, enforced by
``params.cross_check``): ``sum(weight_i * component_i) // 10 000``, rounded
down, so it is itself in ``[0, 10 000]``. It is computed from the standing
components with the *current* weights whenever it is read, so a governance
change of the weights applies at once and the score never goes stale.

Ecological health is ``10 000 - footprint`` (credit-rules H2): oracles
submit the *health* (higher is better), never the footprint; the feeder's
mapping does the subtraction (docs/health.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ledger.overlay import StateReader
from pallets.health.storage import COMPONENTS
from pallets.support.params import param

BPS_ONE: Final = 10_000


def median(values: Sequence[int]) -> int:
    """The median; for an even count, ``(low + high) // 2`` of the two middle values."""
    if not values:
        raise ValueError("the median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) // 2


def component_medians(observations: Sequence[Sequence[int]]) -> list[int]:
    """Component-wise medians of several five-component observations."""
    if not observations:
        raise ValueError("no observations to aggregate")
    return [median([obs[i] for obs in observations]) for i in range(len(COMPONENTS))]


def weights(state: StateReader) -> list[int]:
    """The five ``health.weight_*`` parameters, in component order (bps)."""
    return [param(state, "health", f"weight_{name}") for name in COMPONENTS]


def weighted_score(components: Sequence[int], component_weights: Sequence[int]) -> int:
    """H2: ``sum(weight_i * component_i) // 10 000`` (in bps when weights sum to 10 000)."""
    if len(components) != len(COMPONENTS) or len(component_weights) != len(COMPONENTS):
        raise ValueError("five components and five weights")
    total = sum(w * c for w, c in zip(component_weights, components, strict=True))
    return total // BPS_ONE
