"""The trust index per (account, fund): T1-T4.

Theory of operation
-------------------
``trust_of`` is what every other pallet reads: the stored index, or T1's
initial value ``trust_initial`` bps of the fund's contribution C when none
is stored, then T2: the larger of that and the account's trust at any
federated fund that recognizes trust. Federation is another pallet (X1);
it plugs in by appending a ``FederationSource`` to ``FEDERATION_SOURCES``
(a function returning the account's recognized trust elsewhere, or 0).
With none registered T2 changes nothing.

``raise_trust`` (T3) and ``lower_trust`` (T4, floored at zero) write the
local index only: recognized trust is never written back to its own fund.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ledger.overlay import StateReader
from pallets.funds.api import find_fund
from pallets.funds.records import u32
from pallets.runtime.context import CallContext
from pallets.runtime.params import param
from pallets.trust.events import TrustChanged
from pallets.trust.storage import TRUST

FederationSource = Callable[[StateReader, int, bytes], int]
FEDERATION_SOURCES: Final[list[FederationSource]] = []
# A fund recognizes the trust of at most MAX_RECOGNIZED federated funds, so
# the T2 lookup reads at most FEDERATED_TRUST_WORK keys (a link and an index
# per partner, plus one): callers' weights count it for every trust read.
MAX_RECOGNIZED: Final = 8
FEDERATED_TRUST_WORK: Final = 2 * MAX_RECOGNIZED + 1


def initial_trust(state: StateReader, fund_id: int) -> int:
    """T1: trust_initial bps of the fund's contribution C (0 for an unknown fund)."""
    fund = find_fund(state, fund_id)
    if fund is None:
        return 0
    share: int = fund["contribution"] * param(state, "trust", "trust_initial") // 10_000
    return share


def local_trust(state: StateReader, fund_id: int, account: bytes) -> int:
    stored = TRUST.get(state, u32(fund_id) + account)
    if stored is None:
        return initial_trust(state, fund_id)
    value: int = stored
    return value


def trust_of(state: StateReader, fund_id: int, account: bytes) -> int:
    """T1 + T2: the account's trust at the fund, recognizing federated trust."""
    local = local_trust(state, fund_id, account)
    for source in FEDERATION_SOURCES:
        local = max(local, source(state, fund_id, account))
    return local


def raise_trust(ctx: CallContext, fund_id: int, account: bytes, amount: int) -> None:
    """T3: add ``amount`` to the local index."""
    old = local_trust(ctx, fund_id, account)
    _set(ctx, fund_id, account, old, old + amount, "T3")


def lower_trust(ctx: CallContext, fund_id: int, account: bytes, amount: int) -> None:
    """T4: subtract ``amount`` from the local index, never below zero."""
    old = local_trust(ctx, fund_id, account)
    _set(ctx, fund_id, account, old, max(0, old - amount), "T4")


def _set(ctx: CallContext, fund_id: int, account: bytes, old: int, new: int, rule: str) -> None:
    TRUST.put(ctx, u32(fund_id) + account, new)
    ctx.emit(TrustChanged, fund=fund_id, account=account, old=old, new=new, rule=rule)
