"""Federation calls: propose an agreement or leaving one (X1, by consent F8), split a credit (X2).

``propose`` and ``propose_leave`` open an ordinary funds consent proposal
(objections go through ``funds.object``) and keep its federation terms here;
``agreements`` carries it out when it passes. ``split`` links open requests
of one submitter in federated funds as the parts of one credit: each part
stays a request of its own fund, under that fund's limits (C3, C4, C6).
"""

from __future__ import annotations

from itertools import combinations
from typing import Final

from ledger.crypto import blake2b256
from pallets.credit.storage import OPEN_STATUSES, REQUEST, REQUESTS
from pallets.federation.agreements import partners
from pallets.federation.errors import (
    AlreadyFederated,
    AlreadySplit,
    BadOptions,
    BadSplit,
    FundNotActive,
    NotFederated,
    NotFederatedSplit,
    SelfAgreement,
    TooManyPartners,
    UnknownPartner,
)
from pallets.federation.events import CreditSplit
from pallets.federation.storage import (
    AGREEMENTS,
    ALL_OPTIONS,
    CONSENTS,
    LINKS,
    MAX_PARTNERS,
    MAX_SPLIT_PARTS,
    OPTIONS,
    SPLIT,
    SPLIT_OF,
    SPLITS,
    TERMS,
    TERMS_OF,
    pair,
    sorted_pair,
)
from pallets.funds import api as funds_api
from pallets.support.argtypes import HASH, U32, U64, List
from pallets.support.context import CallContext
from pallets.support.declare import CallSet
from pallets.support.records import u64

calls = CallSet("federation")

SPLIT_DOMAIN: Final = b"credichain/split-credit/1"
PROPOSE_WORK: Final = MAX_PARTNERS + 24


def _check_partner(ctx: CallContext, fund: int, partner: int) -> funds_api.Fund:
    """The proposing fund's record, once the signer is its funder and the partner exists."""
    record = funds_api.get_fund(ctx, fund)
    funds_api.require_funder(ctx, fund, ctx.signer)
    if partner == fund:
        raise SelfAgreement("a fund federates with another fund, not with itself")
    if funds_api.find_fund(ctx, partner) is None:
        raise UnknownPartner(f"there is no fund {partner}")
    return record


@calls.call(
    0,
    args=(("fund", U32), ("partner", U32), ("options", OPTIONS), ("reason_hash", HASH)),
    weight=PROPOSE_WORK,
)
def propose(ctx: CallContext, fund: int, partner: int, options: int, reason_hash: bytes) -> None:
    """X1/F8: a funder proposes that the fund federate with ``partner`` on ``options``.

    Options are bits: 1 recognize trust (T2), 2 lend reviewers (C6), 4 share
    losses (X3). The agreement is in force once both funds' proposals passed
    with the same options.
    """
    record = _check_partner(ctx, fund, partner)
    if options == 0 or options & ~ALL_OPTIONS:
        raise BadOptions(f"options {options}: a non-empty sum of 1 (trust), 2, 4")
    other = funds_api.get_fund(ctx, partner)
    active = funds_api.FundStatus.ACTIVE
    if record.status != active or other.status != active:
        raise FundNotActive(f"funds {fund} and {partner} must both be active to federate")
    current = LINKS.get(ctx, pair(fund, partner))
    if current == options:
        raise AlreadyFederated(f"funds {fund} and {partner} already agree on options {options}")
    if current == 0 and len(partners(ctx, fund)) >= MAX_PARTNERS:
        raise TooManyPartners(f"fund {fund} already has {MAX_PARTNERS} agreements")
    proposal = funds_api.open_proposal(
        ctx, fund, funds_api.ProposalKind.FEDERATE, reason_hash=reason_hash
    )
    terms = {"fund": fund, "partner": partner, "options": options}
    TERMS_OF.put(ctx, proposal, TERMS.wire(terms))


@calls.call(1, args=(("fund", U32), ("partner", U32), ("reason_hash", HASH)), weight=PROPOSE_WORK)
def propose_leave(ctx: CallContext, fund: int, partner: int, reason_hash: bytes) -> None:
    """X1/F8: a funder proposes that the fund leave its agreement with ``partner``.

    Only this fund's consent is needed; it also withdraws a pending consent.
    """
    _check_partner(ctx, fund, partner)
    federated = AGREEMENTS.contains(ctx, sorted_pair(fund, partner))
    if not federated and not CONSENTS.contains(ctx, pair(fund, partner)):
        raise NotFederated(f"fund {fund} has no agreement or pending consent with fund {partner}")
    proposal = funds_api.open_proposal(
        ctx, fund, funds_api.ProposalKind.UNFEDERATE, reason_hash=reason_hash
    )
    TERMS_OF.put(ctx, proposal, TERMS.wire({"fund": fund, "partner": partner, "options": 0}))


def split_id_of(requests: list[int]) -> bytes:
    """The common id of a split credit: a hash of its request ids in increasing order."""
    return blake2b256(SPLIT_DOMAIN + b"".join(u64(r) for r in sorted(requests)))


@calls.call(
    2,
    args=(("requests", List(U64, MAX_SPLIT_PARTS, min_len=2, unique=True)),),
    weight=MAX_SPLIT_PARTS * 4 + 16,
)
def split(ctx: CallContext, requests: list[int]) -> None:
    """X2: link open requests in federated funds as the parts of one credit.

    The signer submitted every part; the parts are in different funds, every
    two of which have an agreement in force, and name the same borrowers,
    purpose and recipient. Each part is reviewed and approved in its own
    fund, under that fund's limits.
    """
    parts = []
    for request_id in requests:
        raw = REQUESTS.get(ctx, request_id)
        if raw is None:
            raise BadSplit(f"there is no request {request_id}")
        request = REQUEST.unwire(raw)
        if request["submitter"] != ctx.signer:
            raise BadSplit(f"request {request_id} was submitted by another account")
        if request["status"] not in OPEN_STATUSES:
            raise BadSplit(f"request {request_id} is {request['status']}; only open ones split")
        if SPLIT_OF.contains(ctx, request_id):
            raise AlreadySplit(f"request {request_id} is already part of a split credit")
        parts.append(request)
    first = parts[0]
    for request in parts[1:]:
        if (sorted(request["borrowers"]), request["purpose"], request["recipient"]) != (
            sorted(first["borrowers"]),
            first["purpose"],
            first["recipient"],
        ):
            raise BadSplit("the parts of one credit name the same borrowers, purpose, recipient")
    funds = [request["fund"] for request in parts]
    if len(set(funds)) != len(funds):
        raise BadSplit("each part is a request in its own fund")
    for a, b in combinations(funds, 2):
        if not AGREEMENTS.contains(ctx, sorted_pair(a, b)):
            raise NotFederatedSplit(f"funds {a} and {b} have no agreement in force")
    split_id = split_id_of(requests)
    amount = sum(request["amount"] for request in parts)
    record = {
        "submitter": ctx.signer,
        "requests": list(requests),
        "funds": funds,
        "amount": amount,
        "created": ctx.block.time,
    }
    SPLITS.put(ctx, split_id, SPLIT.wire(record))
    for request_id in requests:
        SPLIT_OF.put(ctx, request_id, split_id)
    ctx.emit(CreditSplit, split=split_id, parts=len(requests), amount=amount)
