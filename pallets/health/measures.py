"""On-chain measures published beside the oracle values (H3).

Theory of operation
-------------------
Two of the five components, resource circulation and cooperative
participation, can also be *measured* on chain. They are published beside
the oracles' medians (never mixed into them: the oracles stay the source of
the score, the chain's own figures are there to compare against).

* **Credit velocity** of a bioregion for an epoch: principal disbursed plus
  principal repaid in the epoch by the bioregion's funds, over the sum of
  those funds' sizes (F3) at the epoch's end, in bps, capped at 10 000 (a
  bioregion that turns its whole lending base over in one epoch scores
  full). Interest is left out: it is income, not circulation. The loans
  pallet reports every disbursement and repayment through
  ``loans.api.FLOWS``; ``record_flow`` adds the principal to the
  fund's counter when the fund is in a bioregion (one read otherwise).
* **Participation** of a bioregion for an epoch: the share of its members
  (G1, registered by its registrars) who signed at least one extrinsic
  included in the epoch, in bps. A bioregion without registered members is
  measured over the funders of its funds (each account once) instead.
  "Signed something" is read from the system nonce: the hook remembers each
  measured account's nonce at the epoch end (``nonce_mark``), and a higher
  nonce at the next epoch end means activity.
  An account measured for the first time counts as active if it ever signed
  (it joined a fund by signing). The registered members of a bioregion come
  through the ``REGISTERED_PEOPLE`` hook (the members pallet, which builds on
  this pallet's bioregions, connects to it in pallets/construct.py).

Work is bounded: per bioregion at most the members API's 1 000 members, or
MAX_FUNDS_PER_BIOREGION funds x MAX_FUNDERS funders; each account is read
and marked once per epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.overlay import StateReader
from pallets.funds import api as funds_api
from pallets.health.storage import FLOWS, FUND_BIOREGION, NONCE_MARKS
from pallets.support.context import CallContext
from pallets.support.wiring import Hook, Reader
from pallets.system.api import account_nonce

# (state, bioregion) -> its registered members (G1), at most 1 000, sorted.
PeopleSource = Callable[[Reader, str], list[bytes]]
REGISTERED_PEOPLE: Final = Hook[PeopleSource](
    "health.registered_people",
    "a bioregion's registered members, over whom participation is measured (H3, G1)",
    single=True,
)

BPS_ONE = 10_000
AMOUNT_MAX = 2**64 - 1


@dataclass(frozen=True, slots=True)
class Measures:
    credit_velocity: int  # bps, capped at 10 000
    participation: int  # bps
    funds: int  # funds measured


def record_flow(ctx: CallContext, fund_id: int, kind: str, amount: int) -> None:
    """A loans flow listener: count principal moved by funds that are in a bioregion."""
    if kind not in ("disbursed", "principal") or amount <= 0:
        return
    if FUND_BIOREGION.get(ctx, fund_id) is None:
        return
    FLOWS.put(ctx, fund_id, min(FLOWS.get(ctx, fund_id) + amount, AMOUNT_MAX))


def velocity(state: StateReader, fund_ids: Sequence[int]) -> int:
    """Principal moved in the open epoch over the funds' summed size, bps, capped."""
    moved = 0
    base = 0
    for fund_id in fund_ids:
        fund = funds_api.find_fund(state, fund_id)
        if fund is None:
            continue
        moved += FLOWS.get(state, fund_id)
        base += funds_api.size(state, fund_id, fund)
    if base == 0:
        return 0
    return min(BPS_ONE, moved * BPS_ONE // base)


def participants(state: Reader, region: str, fund_ids: Sequence[int]) -> list[bytes]:
    """The bioregion's members (G1) if it has any, else the funders of its funds; sorted."""
    registered = [
        a for source in state.wiring.get(REGISTERED_PEOPLE) for a in source(state, region)
    ]
    if registered:
        return sorted(registered)
    accounts: set[bytes] = set()
    for fund_id in fund_ids:
        accounts.update(funds_api.funders(state, fund_id))
    return sorted(accounts)


def measure(ctx: CallContext, regions: dict[str, list[int]]) -> dict[str, Measures]:
    """Close the open epoch's measures for every bioregion; reset flows and marks.

    ``regions`` maps each bioregion to its funds. Activity is decided for
    every account first and the marks are written after, so an account that
    funds in two bioregions counts as active in both.
    """
    populations = {region: participants(ctx, region, funds) for region, funds in regions.items()}
    everyone = sorted({account for accounts in populations.values() for account in accounts})
    nonces = {account: account_nonce(ctx, account) for account in everyone}
    marks = {account: NONCE_MARKS.get(ctx, account) for account in everyone}
    active = {a for a in everyone if nonces[a] > marks[a]}
    result: dict[str, Measures] = {}
    for region in sorted(regions):
        funds = regions[region]
        people = populations[region]
        share = sum(1 for a in people if a in active) * BPS_ONE // len(people) if people else 0
        result[region] = Measures(velocity(ctx, funds), share, len(funds))
    for account in everyone:  # only the marks that moved: most accounts are idle
        if nonces[account] != marks[account]:
            NONCE_MARKS.put(ctx, account, nonces[account])
    for region in sorted(regions):
        for fund_id in regions[region]:
            FLOWS.delete(ctx, fund_id)
    return result
