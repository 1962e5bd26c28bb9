"""The trust index per (account, fund): T1-T4.

Theory of operation
-------------------
``trust_of`` is what every other pallet reads: the stored index, or T1's
initial value ``trust_initial`` bps of the fund's contribution C when none
is stored and the account is a registered person (a bare key has no
initial trust: the ``PERSONS`` hook, which pallets/construct.py connects to
the members pallet, G1, answers; with nothing connected every account
counts as a person), then T2: the larger of that and the account's trust at any
federated fund that recognizes trust. Federation is another pallet (X1);
it connects a ``FederationSource`` to the ``FEDERATION_SOURCES`` hook (a
function returning the account's recognized trust elsewhere, or 0) in
pallets/construct.py. With none connected T2 changes nothing.

``raise_trust`` (T3) and ``lower_trust`` (T4, floored at zero) write the
local index only: recognized trust is never written back to its own fund.

T5, exposure: ``in_use`` is the trust an account has at stake at a fund;
``available`` (trust minus in use, never below zero) is all it may bring to a
new request, as borrower or reviewer. ``reserve`` and ``release`` move it;
the credit pallet reserves what each party brings when a request becomes
valid and when reviewers are drawn, the loans pallet releases it as the
outstanding principal falls (``exposure``), and entirely when the loan is
repaid or written off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ledger.overlay import StateReader
from pallets.funds.api import find_fund
from pallets.support.context import CallContext
from pallets.support.declare import RuntimeFault
from pallets.support.params import param
from pallets.support.records import u32
from pallets.support.wiring import Hook, Reader
from pallets.trust.events import TrustChanged
from pallets.trust.storage import FUNDS_OF, IN_USE, MAX_FUNDS_MOVED, NAMED, TRUST

FederationSource = Callable[[StateReader, int, bytes], int]
PersonCheck = Callable[[StateReader, bytes], bool]  # (state, account) -> a registered person?
PERSONS: Final = Hook[PersonCheck](
    "trust.persons",
    "whether an account is a registered person, who alone has initial trust (T1)",
    single=True,
)
FEDERATION_SOURCES: Final = Hook[FederationSource](
    "trust.federation_sources", "an account's trust recognized from federated funds (T2)"
)
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
    share: int = fund.contribution * param(state, "trust", "trust_initial") // 10_000
    return share


def is_person(state: Reader, account: bytes) -> bool:
    """T1, G1: whether the account is a registered person's (every account when unwired)."""
    checks = state.wiring.get(PERSONS)
    return checks[0](state, account) if checks else True


def local_trust(state: Reader, fund_id: int, account: bytes) -> int:
    """The stored index, else T1's initial trust for a registered person, else 0."""
    stored = TRUST.get(state, u32(fund_id) + account)
    if stored is None:
        return initial_trust(state, fund_id) if is_person(state, account) else 0
    value: int = stored
    return value


def trust_of(state: Reader, fund_id: int, account: bytes) -> int:
    """T1 + T2: the account's trust at the fund, recognizing federated trust."""
    local = local_trust(state, fund_id, account)
    for source in state.wiring.get(FEDERATION_SOURCES):
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
    FUNDS_OF.put(ctx, account + u32(fund_id), True)
    ctx.emit(TrustChanged, fund=fund_id, account=account, old=old, new=new, rule=rule)


# ---------------------------------------------------------------- T5, exposure


def in_use(state: StateReader, fund_id: int, account: bytes) -> int:
    value: int = IN_USE.get(state, u32(fund_id) + account)
    return value


def available(state: Reader, fund_id: int, account: bytes) -> int:
    """T5: what the account may still bring to a new request at the fund."""
    return max(0, trust_of(state, fund_id, account) - in_use(state, fund_id, account))


def reserve(ctx: CallContext, fund_id: int, account: bytes, amount: int) -> None:
    """Put ``amount`` of the account's trust in use; callers check ``available`` first."""
    if amount <= 0:
        return
    if amount > available(ctx, fund_id, account):
        raise RuntimeFault(f"T5: reserving {amount} beyond the available trust")
    IN_USE.put(ctx, u32(fund_id) + account, in_use(ctx, fund_id, account) + amount)
    FUNDS_OF.put(ctx, account + u32(fund_id), True)


def release(ctx: CallContext, fund_id: int, account: bytes, amount: int) -> None:
    """Give back ``amount`` of the account's trust in use (a stake that ended or shrank)."""
    if amount <= 0:
        return
    held = in_use(ctx, fund_id, account)
    if amount > held:
        raise RuntimeFault(f"T5: releasing {amount} of {held} in use")
    IN_USE.put(ctx, u32(fund_id) + account, held - amount)


def reserve_stakes(ctx: CallContext, fund_id: int, stakes: list[list[Any]]) -> None:
    """Reserve every ``[account, amount]`` stake; each names its account (``NAMED``)."""
    for account, amount in stakes:
        reserve(ctx, fund_id, account, amount)
        _name(ctx, account, +1)


def release_stakes(ctx: CallContext, fund_id: int, stakes: list[list[Any]]) -> None:
    """Release every ``[account, amount]`` stake: the request ended or dropped them."""
    for account, amount in stakes:
        release(ctx, fund_id, account, amount)
        _name(ctx, account, -1)


def end_stakes(ctx: CallContext, stakes: list[list[Any]]) -> None:
    """A loan closed: its stakes (already released with its principal) name no one now."""
    for account, _ in stakes:
        _name(ctx, account, -1)


def named(state: StateReader, account: bytes) -> int:
    """How many open requests and loans name the account as a party (T5, G1)."""
    value: int = NAMED.get(state, account)
    return value


def _name(ctx: CallContext, account: bytes, step: int) -> None:
    count = named(ctx, account) + step
    if count < 0:
        raise RuntimeFault("T5: a stake ended that was never counted")
    NAMED.put(ctx, account, count)


# ---------------------------------------------------------------- G1, a person's new key


def funds_of(state: StateReader, account: bytes) -> list[int]:
    """The funds where the account has a stored index or trust in use, at most 65."""
    prefix = FUNDS_OF.prefix + account
    found = []
    for key, _ in state.iterate(prefix):
        found.append(int.from_bytes(key[-4:], "big"))
        if len(found) > MAX_FUNDS_MOVED:
            break
    return found


def revocation_blocker(state: Reader, account: bytes) -> str | None:
    """Why the account cannot stop being a person now (G1, T1), or None.

    Its initial trust may be what covers its stakes (I6): it stays a person
    until no open request or loan names it.
    """
    count = named(state, account)
    if count:
        return f"{count} open credit requests or loans name it (T5): revoke once they end"
    return None


def rotation_blocker(state: Reader, old: bytes, new: bytes) -> str | None:
    """Why ``old``'s trust cannot move to ``new`` now (G1), or None.

    Open requests and loans name the keys of their parties (a stake of 0
    included: a write-off's penalty and the history go to the key named), so
    a key named there keeps everything until they end; one key change moves
    at most MAX_FUNDS_MOVED funds' trust, and the new key brings at most as
    many funds of its own (each is looked at).
    """
    for key, label in ((old, "the key"), (new, "the new key")):
        count = named(state, key)
        if count:
            return f"{label} is named in {count} open credit requests or loans (T5)"
        if len(funds_of(state, key)) > MAX_FUNDS_MOVED:
            return f"{label} has trust recorded at more than {MAX_FUNDS_MOVED} funds"
    return None


def move_trust(ctx: CallContext, old: bytes, new: bytes) -> None:
    """G1: the person's recorded trust at every fund follows them from ``old`` to ``new``.

    Called after ``rotation_blocker`` said yes: nothing is in use. An index
    ``new`` already had (a bare key earned nothing it could keep) is replaced.
    """
    for fund_id in funds_of(ctx, old):
        stored = TRUST.get(ctx, u32(fund_id) + old)
        TRUST.delete(ctx, u32(fund_id) + old)
        FUNDS_OF.delete(ctx, old + u32(fund_id))
        if stored is not None:
            TRUST.put(ctx, u32(fund_id) + new, stored)
            FUNDS_OF.put(ctx, new + u32(fund_id), True)


def exposure(brought: int, principal: int, outstanding: int) -> int:
    """A stake's share of a loan's outstanding principal: ``brought`` pro rata, rounded up."""
    if principal <= 0:
        return 0
    return -(-brought * outstanding // principal)
