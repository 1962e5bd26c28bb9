"""A request's life after submission: validity, the draw, approval (C2-C9, L1).

Theory of operation
-------------------
* ``become_valid`` (C2 done): the pooled trust (C3) and hard limits (C4) are
  checked again, the score computed (C5), what each borrower brings is put
  in use (T5: ``reserved``), and the draw queued for block
  ``valid_height + DRAW_DELAY``.

Trust here is always what a party *can bring* (T5): its trust at the fund
minus its trust in use elsewhere (``trust_api.available``), plus what it
already has in use for this very request. A request's stakes (``reserved``)
are released when it ends unapproved (declined, expired, withdrawn,
unreviewable) and handed to its loan on approval.
* ``run_draw`` runs in ``on_initialize`` of that (or a later) block with
  the seed ``draw.draw_seed(vrf_output, request_id)``: the block's verified
  VRF output (its proposer's RFC 9381 proof over the chain, height, round
  and the parent's output, checked before any hook runs) hashed with the
  request id, so two requests drawn in one block get independent panels.
  When the request became valid in block H, the output of H+2 chains on
  H+1's, which nobody but H+1's proposer knows when H is finalized, and
  needs H+2's proposer's key; a proposer can withhold its block, not choose
  its output. The seed, the candidates and their trust are stored so anyone
  can re-run the draw (``draw.draw_reviewers``). docs/credit.md §4 gives the
  recipe and the residual bias.
  Candidates are the fund's funders (minus borrowers); if all of them
  together cannot cover the amount (fewer than ``min_reviewers``, or their
  trust sums below it), funders of funds that lend reviewers (X1, C6; found
  through ``api.LENDER_SOURCES``, which the federation pallet connects to) join the
  candidates, each with their trust *at this fund* (T1/T2), up to
  MAX_FUNDERS candidates in all (a seeded choice when more are eligible).
* ``approve`` (every reviewer approved): debts to federated funds (X3) and
  pending exits (F5) are paid first,
  C4 is checked again with the one shared helper, the borrowers' and the
  reviewers' trust must still cover the amount (C3, C6), the approval
  record is written (C9) and the loan disbursed (L1).
"""

from __future__ import annotations

from typing import Any, Final

from ledger.crypto import blake2b256
from pallets.credit import api as credit_api
from pallets.credit import draw, score
from pallets.credit.errors import InsufficientTrust, ReviewerTrustShort
from pallets.credit.events import Resolved, ReviewerReplaced, ReviewersDrawn, Unreviewable
from pallets.credit.storage import (
    APPROVAL,
    APPROVALS,
    DEADLINES,
    DRAW_DUE,
    MAX_DRAWS,
    REQUEST,
    REQUESTS,
)
from pallets.funds import api as funds_api
from pallets.funds.storage import MAX_FUNDERS
from pallets.loans import api as loans_api
from pallets.loans import interest
from pallets.support.context import CallContext
from pallets.support.declare import RuntimeFault
from pallets.support.records import u64
from pallets.trust import api as trust_api

DRAW_DELAY: Final = 2


def load(ctx: CallContext, request_id: int) -> dict[str, Any] | None:
    raw = REQUESTS.get(ctx, request_id)
    return None if raw is None else REQUEST.unwire(raw)


def save(ctx: CallContext, request_id: int, request: dict[str, Any]) -> None:
    REQUESTS.put(ctx, request_id, REQUEST.wire(request))


def own_stake(request: dict[str, Any], account: bytes) -> int:
    return sum(amount for who, amount in request["reserved"] if who == account)


def bringable(ctx: CallContext, request: dict[str, Any], account: bytes) -> int:
    """T5: what ``account`` can bring to this request: available trust plus its stake here."""
    return trust_api.available(ctx, request["fund"], account) + own_stake(request, account)


def check_pooled_trust(ctx: CallContext, request: dict[str, Any]) -> list[int]:
    """C3 with T5: what the borrowers can bring, which must sum to at least the amount."""
    trusts = [bringable(ctx, request, b) for b in request["borrowers"]]
    if sum(trusts) < request["amount"]:
        raise InsufficientTrust(
            f"the borrowers' available trust {sum(trusts)} (trust minus trust in use, T5) "
            f"does not cover the amount {request['amount']}"
        )
    return trusts


def release_all(ctx: CallContext, request: dict[str, Any]) -> None:
    """The request ended unapproved: every stake in it is free again (T5)."""
    trust_api.release_stakes(ctx, request["fund"], request["reserved"])
    request["reserved"] = []


def _set_stakes(
    ctx: CallContext, request: dict[str, Any], accounts: list[bytes], trusts: list[int]
) -> None:
    """Reserve what each of ``accounts`` brings (same percentage, C3/C6) beside the others."""
    stakes = [[a, b] for a, b in zip(accounts, draw.shares(trusts, request["amount"]), strict=True)]
    trust_api.reserve_stakes(ctx, request["fund"], stakes)
    request["reserved"] = request["reserved"] + stakes


def become_valid(ctx: CallContext, request_id: int, request: dict[str, Any]) -> None:
    trusts = check_pooled_trust(ctx, request)
    funds_api.check_hard_limits(ctx, request["fund"], request["amount"])
    _set_stakes(ctx, request, list(request["borrowers"]), trusts)
    request["status"] = "awaiting_draw"
    request["valid_at"] = ctx.block.time
    request["valid_height"] = ctx.block.height
    request["score"] = score.score_at_validity(ctx, request_id, request)
    queue_draw(ctx, request_id)
    queue_deadline(ctx, request_id, request)


def queue_draw(ctx: CallContext, request_id: int) -> int:
    height = ctx.block.height + DRAW_DELAY
    DRAW_DUE.put(ctx, u64(height) + u64(request_id), 1)
    return height


def deadline_of(ctx: CallContext, request: dict[str, Any]) -> int:
    deadline: int = request["valid_at"] + ctx.param("credit", "review_max")
    return deadline


def queue_deadline(ctx: CallContext, request_id: int, request: dict[str, Any]) -> None:
    DEADLINES.put(ctx, u64(deadline_of(ctx, request)) + u64(request_id), 1)


def run_draw(ctx: CallContext, request_id: int) -> None:
    """C6 in a hook: draw (or complete) the panel with this block's seed."""
    request = load(ctx, request_id)
    if request is None or request["status"] != "awaiting_draw":
        return
    seed = draw.draw_seed(ctx.block.vrf_output, request_id)
    minimum = ctx.param("credit", "min_reviewers")
    # The reviewers' stakes of an earlier draw are given back; every draw sees
    # what each candidate can bring now (T5) and stores it with the draw.
    borrowers = set(request["borrowers"])
    reviewer_stakes = [s for s in request["reserved"] if s[0] not in borrowers]
    trust_api.release_stakes(ctx, request["fund"], reviewer_stakes)
    request["reserved"] = [s for s in request["reserved"] if s[0] in borrowers]
    request["candidates"] = candidates(ctx, request, seed, minimum)
    excluded = list(request["excluded"])
    eligible = [(a, t) for a, t in request["candidates"] if a not in excluded]
    keep = list(request["reviewers"])
    panel = draw.draw_reviewers(seed, eligible, request["amount"], minimum, keep)
    snapshot = [[a, t] for a, t in eligible]
    request["draws"].append(
        [ctx.block.height, seed, keep, excluded, [] if panel is None else panel, snapshot]
    )
    if panel is None:
        request["status"] = "unreviewable"
        release_all(ctx, request)
        save(ctx, request_id, request)
        ctx.emit(Unreviewable, request=request_id)
        ctx.emit(Resolved, request=request_id, outcome="unreviewable")
        return
    request["reviewers"] = panel
    trust = dict(eligible)
    _set_stakes(ctx, request, panel, [trust[a] for a in panel])
    request["status"] = "in_review"
    save(ctx, request_id, request)
    ctx.emit(ReviewersDrawn, request=request_id, seed=seed, reviewers=len(panel))


def replace_reviewer(
    ctx: CallContext, request_id: int, request: dict[str, Any], reviewer: bytes
) -> None:
    """C7: ``reviewer`` leaves the panel (refused, silent others, or recused) for a new draw.

    A request drawn MAX_DRAWS times already cannot be drawn again: it ends as
    unreviewable rather than stall (silence never blocks a request).
    """
    if reviewer in request["conflicts"]:
        request["conflicts"].remove(reviewer)
    request["reviewers"].remove(reviewer)
    request["excluded"] = sorted(request["excluded"] + [reviewer])
    request["acceptances"] = [a for a in request["acceptances"] if reviewer not in a]
    request["verdicts"] = [v for v in request["verdicts"] if v[0] != reviewer]
    ctx.emit(ReviewerReplaced, request=request_id, reviewer=reviewer)
    if len(request["draws"]) >= MAX_DRAWS:
        request["status"] = "unreviewable"
        release_all(ctx, request)
        save(ctx, request_id, request)
        ctx.emit(Unreviewable, request=request_id)
        ctx.emit(Resolved, request=request_id, outcome="unreviewable")
        return
    request["status"] = "awaiting_draw"
    queue_draw(ctx, request_id)
    save(ctx, request_id, request)


def candidates(
    ctx: CallContext, request: dict[str, Any], seed: bytes, minimum: int
) -> list[list[Any]]:
    """C6: the fund's funders, plus lent funders of federated funds if they cannot cover.

    Each with the trust it can bring (T5); one with nothing to bring is no candidate.
    """
    fund_id, borrowers = request["fund"], request["borrowers"]
    own: list[list[Any]] = [
        [account, trust]
        for account in funds_api.funders(ctx, fund_id)
        if account not in borrowers and (trust := bringable(ctx, request, account)) > 0
    ]
    if len(own) >= minimum and sum(t for _, t in own) >= request["amount"]:
        return own
    taken = {account for account, _ in own}
    lendable: set[bytes] = set()
    for source in ctx.wiring.get(credit_api.LENDER_SOURCES):
        for lender in sorted(source(ctx, fund_id)):
            lendable.update(a for a in funds_api.funders(ctx, lender) if a not in borrowers)
    room = MAX_FUNDERS - len(own)
    chosen = draw.shuffled(seed, sorted(lendable - taken))[:room]
    lent: list[list[Any]] = [
        [account, trust]
        for account in sorted(chosen)
        if (trust := bringable(ctx, request, account)) > 0
    ]
    return own + lent


def approve(ctx: CallContext, request_id: int, request: dict[str, Any]) -> None:
    """C8 approved -> F5 exits first, C4 again, C3/C6/T5 cover, C9 record, L1 disburse.

    The stakes reserved at validity and at the draw pass to the loan (T5).
    """
    fund_id, amount = request["fund"], request["amount"]
    funds_api.require_no_pending_exits(ctx, fund_id)
    funds_api.check_hard_limits(ctx, fund_id, amount)
    check_pooled_trust(ctx, request)
    reviewer_trust = [bringable(ctx, request, r) for r in request["reviewers"]]
    if sum(reviewer_trust) < amount:
        raise ReviewerTrustShort(
            f"the reviewers' available trust {sum(reviewer_trust)} no longer covers "
            f"the amount {amount}"
        )
    stakes = {account: stake for account, stake in request["reserved"]}
    for party in (*request["borrowers"], *request["reviewers"]):
        if party not in stakes:  # pragma: no cover - every party got a stake
            raise RuntimeFault("T5: a party of an approved request has no stake")
    fund = funds_api.get_fund(ctx, fund_id)
    size = funds_api.size(ctx, fund_id, fund)
    now = ctx.block.time
    rows = interest.schedule(amount, fund.rate_bps, now, request["term"], request["installments"])
    conclusions = b"".join(
        reviewer + verdict_hash
        for reviewer, _, verdict_hash in sorted(request["verdicts"], key=lambda v: v[0])
    )
    record = {
        "fund": fund_id,
        "amount": amount,
        "start": now,
        "end": now + request["term"],
        "rate_bps": fund.rate_bps,
        "estimated_interest": sum(row[2] for row in rows),
        "schedule": [list(row) for row in rows],
        "borrowers": _parties(ctx, fund_id, request["borrowers"], stakes),
        "reviewers": _parties(ctx, fund_id, request["reviewers"], stakes),
        "conclusions_hash": blake2b256(conclusions),
        "min_reviewers": ctx.param("credit", "min_reviewers"),
        "size": size,
        "outstanding_after": fund.outstanding + amount,
        "max_credit_bps": ctx.param("credit", "max_credit"),
        "max_utilization_bps": ctx.param("credit", "max_utilization"),
        "recipient": request["recipient"],
        "purpose": request["purpose"],
    }
    APPROVALS.put(ctx, request_id, APPROVAL.wire(record))
    request["status"] = "approved"
    loan_stakes = request["reserved"]
    request["reserved"] = []  # handed to the loan, not released
    save(ctx, request_id, request)
    ctx.emit(Resolved, request=request_id, outcome="approved")
    loans_api.open_loan(
        ctx,
        request_id,
        fund_id,
        recipient=request["recipient"],
        borrowers=list(request["borrowers"]),
        reviewers=list(request["reviewers"]),
        purpose=request["purpose"],
        amount=amount,
        rate_bps=fund.rate_bps,
        term=request["term"],
        installments=request["installments"],
        stakes=loan_stakes,
    )


def _parties(
    ctx: CallContext, fund_id: int, accounts: list[bytes], stakes: dict[bytes, int]
) -> list[list[Any]]:
    """C9: each party with its trust at the fund and the stake it brought."""
    return [[a, trust_api.trust_of(ctx, fund_id, a), stakes[a]] for a in accounts]
