"""Federation hooks: the debt sweep (X3) and the federation invariants.

``on_initialize`` runs ``losses.sweep`` (bounded: MAX_SWEEP_PER_BLOCK
debtor funds, each settling at most MAX_SETTLE debts).

``try_state`` checks, after every block in tests and in replay:

* X1: every agreement is under its sorted pair with valid options, linked
  in both directions with the same options, and every link belongs to an
  agreement; no fund has more than MAX_PARTNERS;
* X3 / I2: for every pair, what was paid never exceeds what was shared, and
  the debt is exactly ``shared - paid``; every fund that owes is queued;
* X3 arithmetic: every stored loss has ``share = missing // (k + 1)`` and
  each part ``paid + owed = share``; per pair, the shares of the stored
  losses sum to the ledger's ``shared``;
* X3 / F3 books: for every fund, what it received plus what is still owed
  to it never exceeds its recorded losses minus what it bears itself
  (``share + remainder`` of each loss): loss sharing moves cash between
  funds' cash accounts (so I1 holds and each size stays cash + outstanding)
  but never makes a fund more than whole;
* X2: split links point both ways.
"""

from __future__ import annotations

from ledger.overlay import StateReader
from pallets.federation import losses
from pallets.federation.storage import (
    AGREEMENT,
    AGREEMENTS,
    ALL_OPTIONS,
    CONSENT,
    CONSENTS,
    DEBTOR_QUEUE,
    DEBTS,
    LINKS,
    LOSS,
    LOSSES_SHARED,
    MAX_PARTNERS,
    QUEUED,
    SHARES,
    SPLIT,
    SPLIT_OF,
    SPLITS,
)
from pallets.funds.api import find_fund
from pallets.support.context import CallContext
from pallets.support.declare import Hooks
from pallets.support.records import u32, u64
from pallets.support.storage import CorruptState


def on_initialize(ctx: CallContext) -> None:
    losses.sweep(ctx)


def _pairs(key: bytes) -> tuple[int, int]:
    return int.from_bytes(key[:4], "big"), int.from_bytes(key[4:], "big")


def _agreement_problems(state: StateReader) -> list[str]:
    problems = []
    links = {_pairs(k): v for k, v in LINKS.items(state)}
    per_fund: dict[int, int] = {}
    for key, raw in AGREEMENTS.items(state):
        low, high = _pairs(key)
        options = AGREEMENT.unwire(raw)["options"]
        if not low < high:
            problems.append(f"X1: agreement {low}/{high} is not under its sorted pair")
        if not 0 < options <= ALL_OPTIONS:
            problems.append(f"X1: agreement {low}/{high} has options {options}")
        if links.pop((low, high), None) != options or links.pop((high, low), None) != options:
            problems.append(f"X1: agreement {low}/{high} is not linked both ways")
        for fund in (low, high):
            per_fund[fund] = per_fund.get(fund, 0) + 1
    problems.extend(f"X1: link {a}->{b} without an agreement" for a, b in sorted(links))
    problems.extend(
        f"X1: fund {fund} has {count} agreements"
        for fund, count in sorted(per_fund.items())
        if count > MAX_PARTNERS
    )
    for key, raw in CONSENTS.items(state):
        if not 0 < CONSENT.unwire(raw)["options"] <= ALL_OPTIONS:
            problems.append(f"X1: consent {_pairs(key)} has invalid options")
    return problems


def _loss_problems(state: StateReader) -> list[str]:
    problems = []
    debts = {_pairs(k): v for k, v in DEBTS.items(state)}
    shared_by_losses: dict[tuple[int, int], int] = {}
    borne: dict[int, int] = {}  # what each losing fund bears itself
    for loan_id, raw in LOSSES_SHARED.items(state):
        loss = LOSS.unwire(raw)
        fund, share, parts = loss["fund"], loss["share"], loss["parts"]
        if share != loss["missing"] // (len(parts) + 1):
            problems.append(f"X3: loss of loan {loan_id}: share is not L // (k + 1)")
        for partner, paid, owed in parts:
            if paid + owed != share:
                problems.append(f"X3: loss of loan {loan_id}: {partner} paid + owed != share")
            owing = (partner, fund)
            shared_by_losses[owing] = shared_by_losses.get(owing, 0) + share
        borne[fund] = borne.get(fund, 0) + loss["missing"] - share * len(parts)
    received: dict[int, int] = {}
    for key, (shared, paid) in SHARES.items(state):
        debtor, creditor = _pairs(key)
        if paid > shared:
            problems.append(f"X3: fund {debtor} paid {creditor} {paid}, more than shared {shared}")
        if debts.pop((debtor, creditor), 0) != shared - paid:
            problems.append(f"X3: debt of {debtor} to {creditor} is not shared - paid")
        if shared_by_losses.pop((debtor, creditor), 0) != shared:
            problems.append(f"X3: shares of {debtor} to {creditor} do not match the losses")
        received[creditor] = received.get(creditor, 0) + shared
        if shared > paid and state.get(QUEUED.key(debtor)) is None:
            problems.append(f"X3: fund {debtor} owes but is not queued for the sweep")
    problems.extend(f"X3: debt {a}->{b} without a share ledger" for a, b in sorted(debts))
    problems.extend(f"X3: loss shares {a}->{b} missing" for a, b in sorted(shared_by_losses))
    for fund, total in sorted(received.items()):
        record = find_fund(state, fund)
        recorded = 0 if record is None else record.losses
        if total + borne.get(fund, 0) > recorded:
            problems.append(f"X3/F3: fund {fund} received more than its losses allow")
    for fund, height in QUEUED.items(state):
        if state.get(DEBTOR_QUEUE.key(u64(height) + u32(fund))) is None:
            problems.append(f"X3: fund {fund} is marked queued but not in the queue")
    return problems


def _split_problems(state: StateReader) -> list[str]:
    problems = []
    for split_id, raw in SPLITS.items(state):
        for request_id in SPLIT.unwire(raw)["requests"]:
            if SPLIT_OF.get(state, request_id) != split_id:
                problems.append(f"X2: request {request_id} does not point to its split")
    for request_id, split_id in SPLIT_OF.items(state):
        raw = SPLITS.get(state, split_id)
        if raw is None or request_id not in SPLIT.unwire(raw)["requests"]:
            problems.append(f"X2: request {request_id} points to a split without it")
    return problems


def try_state(state: StateReader) -> list[str]:
    try:
        return _agreement_problems(state) + _loss_problems(state) + _split_problems(state)
    except CorruptState as exc:  # e.g. a negative amount: reported, not raised
        return [f"I2: a federation record is malformed or negative: {exc}"]


HOOKS = Hooks(on_initialize=on_initialize, try_state=try_state)
