"""Worst-case scenarios of the federation calls (see weights_scenarios)."""

from __future__ import annotations

from collections.abc import Sequence

from pallets.federation.storage import TRUST
from scripts.weights_scenarios import (
    BORROWERS,
    FUNDERS,
    REASON,
    SCENARIOS,
    Prepared,
    new_fund,
    run,
    sign,
    wait,
)
from scripts.weights_scenarios_credit import submit
from tests.pallets.helpers import TestChain

# ---------------------------------------------------------------- federation


def federate(chain: TestChain, pairs: Sequence[tuple[int, int]], options: int = TRUST) -> None:
    """Both funds of each pair propose; the consent periods pass."""
    run(
        chain,
        [
            sign(
                chain,
                FUNDERS[0],
                "federation.propose",
                fund=a,
                partner=b,
                options=options,
                reason_hash=REASON,
            )
            for x, y in pairs
            for a, b in ((x, y), (y, x))
        ],
    )
    wait(chain, 31)
    for _ in range(2 * len(pairs) // 16 + 2):
        wait(chain, 1)


@SCENARIOS.add(
    "federation.propose",
    "fund with 7 agreements in force (partners walked) proposes an 8th to a new fund",
)
def _fed_propose(chain: TestChain, n: int) -> Prepared:
    n = min(n, 8)
    funds = [new_fund(chain) for _ in range(8 + n)]
    federate(chain, [(funds[0], f) for f in funds[1:8]])
    return Prepared(
        [
            sign(
                chain,
                FUNDERS[i],
                "federation.propose",
                fund=funds[0],
                partner=funds[8 + i],
                options=7,
                reason_hash=REASON,
            )
            for i in range(n)
        ]
    )


@SCENARIOS.add(
    "federation.propose_leave", "fund with 8 agreements (MAX_PARTNERS) proposes to leave one"
)
def _fed_leave(chain: TestChain, n: int) -> Prepared:
    n = min(n, 8)
    funds = [new_fund(chain) for _ in range(9)]
    federate(chain, [(funds[0], f) for f in funds[1:]])
    return Prepared(
        [
            sign(
                chain,
                FUNDERS[i],
                "federation.propose_leave",
                fund=funds[0],
                partner=funds[1 + i],
                reason_hash=REASON,
            )
            for i in range(n)
        ]
    )


@SCENARIOS.add("federation.split", "4 parts (MAX_SPLIT_PARTS) in 4 pairwise federated funds")
def _split(chain: TestChain, n: int) -> Prepared:
    funds = [new_fund(chain) for _ in range(4)]
    federate(chain, [(a, b) for i, a in enumerate(funds) for b in funds[i + 1 :]])
    parts = [submit(chain, f, n) for f in funds]
    return Prepared(
        [
            sign(chain, BORROWERS[0], "federation.split", requests=[p[i] for p in parts])
            for i in range(n)
        ]
    )
