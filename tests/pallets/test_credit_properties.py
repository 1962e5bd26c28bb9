"""Property tests: random fund, credit and loan operations, and key changes (G1),
keep I1, I2, I3, I5 and I6 (no one's trust in use above their trust, and in
use = their stakes, T5); interest accrued in any number of steps equals
interest accrued in one.

``TestChain`` checks every pallet's ``try_state`` (I1, I2 in balances and
trust, I3 in loans and credit, I5 in credit) after every block, so a
sequence of operations that broke an invariant fails inside ``execute``.
Example counts are modest to keep the suite fast.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.crypto import Keypair, blake2b256
from pallets.credit.draw import draw_reviewers, shares
from pallets.credit.storage import NEXT_REQUEST
from pallets.loans import interest
from pallets.loans.api import find_loan
from pallets.trust import api as trust_api
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    CONCLUSIONS,
    FUNDERS,
    LUCIA,
    fund_zine,
    request,
    request_args,
)
from tests.pallets.helpers import FERDIE, TestChain

PEOPLE = (LUCIA, ANA, BEN, FERDIE, *FUNDERS)

OPERATION = st.one_of(
    st.tuples(st.just("wait"), st.integers(1, 40)),
    st.tuples(
        st.just("submit"),
        st.lists(st.integers(0, len(PEOPLE) - 1), min_size=1, max_size=4, unique=True),
        st.integers(1, 300),
        st.integers(1, 3),
    ),
    st.tuples(st.just("sign"), st.integers(0, 5), st.integers(0, len(PEOPLE) - 1)),
    st.tuples(st.just("review"), st.integers(0, 5), st.sampled_from(["approve", "improve"])),
    st.tuples(st.just("repay"), st.integers(0, 5), st.integers(1, 100)),
    st.tuples(st.just("writeoff"), st.integers(0, 5)),
    st.tuples(st.just("leave"), st.integers(0, 4)),
    st.tuples(st.just("withdraw"), st.integers(0, 5)),
    st.tuples(st.just("rotate"), st.integers(0, len(PEOPLE) - 1)),
)


class Cast:
    """Who is who in one example: each person's current key, and every key ever used."""

    def __init__(self) -> None:
        self.people = list(PEOPLE)
        self.keys = {k.public: k for k in PEOPLE}
        self.rotations = 0

    def new_key(self) -> Keypair:
        self.rotations += 1
        key = Keypair.from_seed(blake2b256(b"property/new-key/" + bytes([self.rotations])))
        self.keys[key.public] = key
        return key


def _apply(chain: TestChain, cast: Cast, op: tuple[Any, ...]) -> None:
    kind = op[0]
    people = cast.people
    raw: list[bytes] = []
    if kind == "wait":
        chain.execute([], seconds=op[1])
        return
    requests: int = NEXT_REQUEST.get(chain.state())
    if kind == "submit":
        borrowers = [people[i] for i in op[1]]
        args = request_args(borrowers, op[2], installments=op[3], term=60)
        raw.append(chain.sign(borrowers[0], "credit", "submit", args))
        raw.extend(chain.sign(co, "credit", "sign", {"request": requests}) for co in borrowers[1:])
        chain.execute(raw)
        chain.execute([])  # the reviewer draw runs two blocks after validity
        raw = []
    elif kind == "sign" and op[1] < requests:
        raw.append(chain.sign(people[op[2]], "credit", "sign", {"request": op[1]}))
    elif kind == "review" and op[1] < requests:
        args = {"request": op[1], "verdict": op[2], "conclusions_hash": CONCLUSIONS}
        opens = request(chain, op[1])["valid_at"] + 20
        if chain.time_ms // 1000 < opens:  # wait for review_min
            chain.execute([], seconds=opens - chain.time_ms // 1000)
        raw.extend(
            chain.sign(cast.keys[r], "credit", "review", args)
            for r in request(chain, op[1])["reviewers"]
        )
    elif kind == "repay" and find_loan(chain.state(), op[1]) is not None:
        loan = find_loan(chain.state(), op[1])
        assert loan is not None
        owed = loan["outstanding"] + loan["interest_due"]
        amount = max(1, owed * op[2] // 100)
        raw.append(chain.sign(FERDIE, "loans", "repay", {"loan": op[1], "amount": amount}))
    elif kind == "writeoff" and find_loan(chain.state(), op[1]) is not None:
        voters = people[len(PEOPLE) - len(FUNDERS) :]
        raw.extend(chain.sign(key, "loans", "vote_writeoff", {"loan": op[1]}) for key in voters)
    elif kind == "leave":
        funder = people[len(PEOPLE) - len(FUNDERS) + op[1]]
        raw.append(chain.sign(funder, "funds", "leave", {"fund": 0}))
    elif kind == "withdraw" and op[1] < requests:
        submitter = cast.keys[request(chain, op[1])["submitter"]]
        raw.append(chain.sign(submitter, "credit", "withdraw", {"request": op[1]}))
    elif kind == "rotate":  # often refused (too soon, stakes in use): that is fine too
        old, new = people[op[1]], cast.new_key()
        result = chain.execute([chain.sign(old, "members", "rotate_key", {"new": new.public})])
        if result.receipts[0].success:
            people[op[1]] = new
        return
    chain.execute(raw)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(OPERATION, min_size=4, max_size=14))
def test_random_operations_keep_the_invariants(ops: list[tuple[Any, ...]]) -> None:
    chain = fund_zine()
    cast = Cast()
    for op in ops:
        _apply(chain, cast, op)  # TestChain.execute asserts check_invariants() == [] each block
    assert chain.runtime.check_invariants(chain.root) == []
    state = chain.state()
    for person in cast.keys.values():  # T5: no one's exposure exceeds their trust
        assert trust_api.in_use(state, 0, person.public) <= trust_api.trust_of(
            state, 0, person.public
        )


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**64 - 1),
    st.integers(0, 10_000),
    st.lists(st.integers(0, 10**7), min_size=1, max_size=20),
)
def test_interest_in_steps_equals_interest_in_one(
    principal: int, rate: int, steps: list[int]
) -> None:
    units, remainder = 0, 0
    for seconds in steps:
        got, remainder = interest.accrue(principal, rate, seconds, remainder)
        units += got
    assert (units, remainder) == interest.accrue(principal, rate, sum(steps), 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=8), st.integers(0, 10**12))
def test_shares_are_same_percentage_and_sum_exactly(trusts: list[int], amount: int) -> None:
    if sum(trusts) < amount or sum(trusts) == 0:
        return
    brought = shares(trusts, amount)
    assert sum(brought) == amount
    assert all(0 <= b <= t for b, t in zip(brought, trusts, strict=True))


@settings(max_examples=100, deadline=None)
@given(
    st.binary(min_size=32, max_size=32),
    st.lists(st.integers(0, 300), min_size=3, max_size=12),
    st.integers(1, 900),
)
def test_a_draw_covers_and_never_repeats(seed: bytes, trusts: list[int], amount: int) -> None:
    candidates = [(bytes([i]) * 32, t) for i, t in enumerate(trusts)]
    panel = draw_reviewers(seed, candidates, amount, 3)
    if panel is None:
        assert sum(trusts) < amount or len(trusts) < 3
        return
    assert len(set(panel)) == len(panel) >= 3
    assert sum(dict(candidates)[a] for a in panel) >= amount
    assert draw_reviewers(seed, candidates, amount, 3) == panel
