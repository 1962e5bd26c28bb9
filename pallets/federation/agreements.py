"""Agreements between funds (X1) and what they open: recognized trust (T2), lent reviewers (C6).

Theory of operation
-------------------
Two funds federate when *each* fund's funders consent (F8). A funder opens
a funds consent proposal of kind ``federate`` (``calls.propose``: the
partner fund and the options are kept here, under the proposal id); it passes
like every consent proposal, when ``consent_period`` ends without an
objection, and the funds hook then calls ``carry_out_federate``:

* the fund's consent is recorded (``consent/<fund><partner>``);
* if the partner's consent to this fund is recorded with the *same*
  options, the agreement is in force: written once under the sorted pair,
  linked in both directions (``link/<fund><partner>`` = options), and both
  consents are cleared. With other options nothing forms: one of the funds
  must consent again. A new consent replaces the fund's earlier one.

Changing the options of an agreement in force is the same: both consent to
the new options. Leaving takes only the leaving fund's consent (nobody is
kept in an agreement): an ``unfederate`` proposal, when it passes, ends the
agreement (both links go) and withdraws the fund's pending consent. What
was done under the agreement stays: reviewers already drawn stay on their
panels, split credits stay linked, and loss shares already owed are still
owed and paid (X3); from then on trust is no longer recognized, reviewers
no longer lent and losses no longer shared.

Options are bits: ``TRUST`` (T2), ``REVIEWERS`` (C6), ``LOSSES`` (X3),
independent of each other. A fund has at most ``MAX_PARTNERS`` agreements,
so every walk over a fund's partners is bounded.

T2 (``recognized_trust``, a ``trust.api`` federation source): an account's
trust at F is the larger of its trust at F and its *recorded* trust at each
G that shares trust with F: the index stored at G, earned by credits there
(T3/T4). G's initial trust (T1) is not carried over, since everyone has it.
Recognition is not transitive: only F's own partners count.

C6 (``lending_funds``, a ``credit.lifecycle`` lender source): the funds
whose funders may be drawn when F's own funders cannot cover a request.
"""

from __future__ import annotations

from typing import Any

from ledger import codec
from ledger.codec import CodecError
from ledger.overlay import StateReader
from pallets.federation.events import (
    AgreementEnded,
    AgreementFormed,
    ConsentRecorded,
    ConsentWithdrawn,
)
from pallets.federation.storage import (
    AGREEMENT,
    AGREEMENTS,
    CONSENT,
    CONSENTS,
    LINKS,
    MAX_PARTNERS,
    OPTIONS,
    REVIEWERS,
    TERMS,
    TERMS_OF,
    TRUST,
    pair,
    sorted_pair,
)
from pallets.funds import api as funds_api
from pallets.support.argtypes import ArgError
from pallets.support.context import CallContext
from pallets.support.records import u32
from pallets.support.storage import CorruptState
from pallets.trust.storage import TRUST as TRUST_INDEX


def _decode_options(key: bytes, raw: bytes) -> int:
    try:
        options: int = OPTIONS.check(codec.decode(raw), "federation.link")
    except (CodecError, ArgError) as exc:
        raise CorruptState(f"state key 0x{key.hex()}: {exc}") from exc
    return options


def partners(state: StateReader, fund_id: int) -> list[tuple[int, int]]:
    """The fund's agreements in force as (partner, options), by partner id."""
    prefix = LINKS.prefix + u32(fund_id)
    found: list[tuple[int, int]] = []
    for key, raw in state.iterate(prefix):
        found.append((int.from_bytes(key[-4:], "big"), _decode_options(key, raw)))
        if len(found) >= MAX_PARTNERS:
            break
    return found


def recognized_trust(state: StateReader, fund_id: int, account: bytes) -> int:
    """T2: the account's largest recorded trust at a fund that shares trust with this one."""
    best = 0
    for partner, options in partners(state, fund_id):
        if options & TRUST:
            stored = TRUST_INDEX.get(state, u32(partner) + account)
            if stored is not None and stored > best:
                best = stored
    return best


def lending_funds(state: CallContext, fund_id: int) -> list[int]:
    """C6: the funds that lend their funders as reviewers to this one."""
    return [partner for partner, options in partners(state, fund_id) if options & REVIEWERS]


def agreement(state: StateReader, a: int, b: int) -> dict[str, Any] | None:
    raw = AGREEMENTS.get(state, sorted_pair(a, b))
    return None if raw is None else AGREEMENT.unwire(raw)


def consent(state: StateReader, fund_id: int, partner: int) -> dict[str, Any] | None:
    raw = CONSENTS.get(state, pair(fund_id, partner))
    return None if raw is None else CONSENT.unwire(raw)


def terms(state: StateReader, proposal_id: int) -> dict[str, Any] | None:
    raw = TERMS_OF.get(state, proposal_id)
    return None if raw is None else TERMS.unwire(raw)


# ---------------------------------------------------------------- consent decided (F8)


def carry_out_federate(
    ctx: CallContext, proposal_id: int, proposal: funds_api.Proposal
) -> str | None:
    """A passed ``federate`` proposal: record the consent; form the agreement if both agree."""
    found = terms(ctx, proposal_id)
    if found is None:
        return "the proposal has no federation terms"
    fund_id, partner, options = found["fund"], found["partner"], found["options"]
    if funds_api.find_fund(ctx, partner) is None:
        return f"fund {partner} no longer exists"
    current = agreement(ctx, fund_id, partner)
    if current is not None and current["options"] == options:
        return f"the agreement with fund {partner} is already in force with these options"
    theirs = consent(ctx, partner, fund_id)
    if theirs is None or theirs["options"] != options:
        CONSENTS.put(
            ctx,
            pair(fund_id, partner),
            CONSENT.wire({"options": options, "proposal": proposal_id, "passed": ctx.block.time}),
        )
        ctx.emit(
            ConsentRecorded, fund=fund_id, partner=partner, options=options, proposal=proposal_id
        )
        return None
    if current is None:
        for side in (fund_id, partner):
            if len(partners(ctx, side)) >= MAX_PARTNERS:
                return f"fund {side} already has {MAX_PARTNERS} agreements"
    CONSENTS.delete(ctx, pair(partner, fund_id))
    CONSENTS.delete(ctx, pair(fund_id, partner))
    low, high = sorted((fund_id, partner))
    by_fund = {fund_id: proposal_id, partner: theirs["proposal"]}
    record = {
        "options": options,
        "since": ctx.block.time,
        "proposals": [by_fund[low], by_fund[high]],
    }
    AGREEMENTS.put(ctx, sorted_pair(low, high), AGREEMENT.wire(record))
    LINKS.put(ctx, pair(low, high), options)
    LINKS.put(ctx, pair(high, low), options)
    ctx.emit(AgreementFormed, low=low, high=high, options=options)
    return None


def carry_out_unfederate(
    ctx: CallContext, proposal_id: int, proposal: funds_api.Proposal
) -> str | None:
    """A passed ``unfederate`` proposal: end the agreement and withdraw a pending consent."""
    found = terms(ctx, proposal_id)
    if found is None:
        return "the proposal has no federation terms"
    fund_id, partner = found["fund"], found["partner"]
    ended = False
    if CONSENTS.contains(ctx, pair(fund_id, partner)):
        CONSENTS.delete(ctx, pair(fund_id, partner))
        ctx.emit(ConsentWithdrawn, fund=fund_id, partner=partner)
        ended = True
    if AGREEMENTS.contains(ctx, sorted_pair(fund_id, partner)):
        low, high = sorted((fund_id, partner))
        AGREEMENTS.delete(ctx, sorted_pair(low, high))
        LINKS.delete(ctx, pair(low, high))
        LINKS.delete(ctx, pair(high, low))
        ctx.emit(AgreementEnded, low=low, high=high, by=fund_id)
        ended = True
    return None if ended else f"no agreement or pending consent with fund {partner} to end"
