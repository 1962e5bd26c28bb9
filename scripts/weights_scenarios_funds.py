"""Worst-case scenarios of the funds calls (see weights_scenarios); funds.leave, which
needs loans, is in weights_scenarios_credit."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.crypto import Keypair
from pallets.support.params import param
from scripts.weights_scenarios import (
    FUNDERS,
    KEYS,
    OUTSIDERS,
    REASON,
    SCENARIOS,
    Prepared,
    admit,
    big_fund,
    create_args,
    new_fund,
    run,
    run_many,
    sign,
)
from tests.pallets.helpers import TestChain

# ---------------------------------------------------------------- funds


@SCENARIOS.add("funds.create", "longest name and scope, every purpose, a new module account")
def _create(chain: TestChain, n: int) -> Prepared:
    return Prepared(
        [sign(chain, KEYS[i], "funds.create", **create_args(f"Fund{i}")) for i in range(n)]
    )


@SCENARIOS.add("funds.join", "an admitted candidate joins an active fund (F4 growth check)")
def _join(chain: TestChain, n: int) -> Prepared:
    n = min(n, 8)  # 56 funders + 8 admitted = MAX_FUNDERS
    fund = new_fund(chain)
    candidates = OUTSIDERS[:n]
    admit(chain, fund, FUNDERS[0], candidates)
    return Prepared([sign(chain, k, "funds.join", fund=fund) for k in candidates])


@SCENARIOS.add("funds.propose", "a new-funder proposal in a fund of 64 (growth check)")
def _propose(chain: TestChain, n: int) -> Prepared:
    fund = big_fund(chain)
    return Prepared(
        [
            sign(
                chain,
                FUNDERS[i % 64],
                "funds.propose",
                fund=fund,
                kind="new_funder",
                subject=OUTSIDERS[i].public,
                amount=0,
                rate_bps=0,
                apply_to_open=False,
                reason_hash=REASON,
            )
            for i in range(n)
        ]
    )


@SCENARIOS.add("funds.object", "an objection rejecting an open proposal")
def _object(chain: TestChain, n: int) -> Prepared:
    from pallets.funds.storage import NEXT_PROPOSAL

    fund = big_fund(chain)
    first: int = NEXT_PROPOSAL.get(chain.state())
    run(
        chain,
        [
            sign(
                chain,
                FUNDERS[0],
                "funds.propose",
                fund=fund,
                kind="expense",
                subject=OUTSIDERS[0].public,
                amount=1,
                rate_bps=0,
                apply_to_open=False,
                reason_hash=REASON,
            )
            for _ in range(n)
        ],
    )
    return Prepared(
        [
            sign(chain, FUNDERS[1 + i % 63], "funds.object", proposal=first + i, reason_hash=REASON)
            for i in range(n)
        ]
    )


def removal_votes(
    chain: TestChain, fund: int, targets: Sequence[Keypair], missing: int
) -> list[Keypair]:
    """Vote to remove each target with all the votes needed but ``missing``; the last voters.

    The voters are the fund's first funders in FUNDERS that are not targets.
    """
    from pallets.funds import api

    record = api.get_fund(chain.state(), fund)
    others = record.funders - 1
    needed = -(-param(chain.state(), "funds", "removal_threshold") * others // 10_000)
    members = [k for k in FUNDERS if api.is_funder(chain.state(), fund, k.public)]
    txs, last = [], []
    for target in targets:
        voters = [k for k in members if k not in targets][:needed]
        assert len(voters) == needed
        txs += [
            sign(chain, k, "funds.vote_removal", fund=fund, target=target.public)
            for k in voters[: needed - missing]
        ]
        last.append(voters[needed - 1])
    run_many(chain, txs)
    return last


@SCENARIOS.add(
    "funds.vote_removal",
    "the vote reaching the threshold in a fund of 64: 48 votes walked "
    "and deleted, the target enters the exit queue",
)
def _vote_removal(chain: TestChain, n: int) -> Prepared:
    n = min(n, 16)
    fund = big_fund(chain)
    targets = FUNDERS[64 - n :]
    last = removal_votes(chain, fund, targets, 1)
    return Prepared(
        [
            sign(chain, voter, "funds.vote_removal", fund=fund, target=target.public)
            for voter, target in zip(last, targets, strict=True)
        ]
    )
