"""Commons: the pool (R1), redistribution by need with largest remainder (R2), credit
creation within a yearly cap (R3). Every block checks I1-I5 (TestChain).
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pallets.balances import currency
from pallets.commons import api as commons_api
from pallets.commons.redistribution import apportion
from pallets.funds import api as funds_api
from pallets.health import api as health_api
from pallets.support.params import YEAR
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    FUNDERS,
    LUCIA,
    approve,
    create_args,
    fund_zine,
    ok,
    owed_next_block,
    submit_valid,
    wait,
)
from tests.pallets.health_helpers import chain, epoch_now, govern, govern_ok, observe, to_epoch
from tests.pallets.helpers import ALICE, TestChain

REGIONS = ("localnet", "cascadia", "sahel")


# ---------------------------------------------------------------- largest remainder


def test_r2_worked_example_of_docs_health_md() -> None:
    assert apportion(100, [(1, 5000), (2, 3000), (3, 3000)]) == {1: 46, 2: 27, 3: 27}
    assert apportion(10, [(4, 1), (2, 1), (9, 1)]) == {2: 4, 4: 3, 9: 3}  # tie: smaller id
    assert apportion(7, [(1, 0), (2, 0)]) == {1: 0, 2: 0}
    assert apportion(0, [(1, 5)]) == {1: 0}


@given(
    st.integers(0, 2**64 - 1),
    st.lists(st.integers(0, 10_000), min_size=1, max_size=40),
)
@example(2**64 - 1, [10_000, 1, 1])
def test_r2_apportion_conserves_units_and_follows_need(total: int, needs: list[int]) -> None:
    weights = list(enumerate(needs))
    shares = apportion(total, weights)
    whole = sum(needs)
    if whole == 0:
        assert set(shares.values()) == {0}
        return
    assert sum(shares.values()) == total  # exactly what was taken
    for key, need in weights:
        assert total * need // whole <= shares[key] <= total * need // whole + 1
    for i, need_i in weights:
        for j, need_j in weights:
            if need_i > need_j:
                assert shares[i] >= shares[j]  # needier never receives less
            if need_i == need_j and i < j:
                assert shares[j] <= shares[i] <= shares[j] + 1  # ties favour the smaller id


# ---------------------------------------------------------------- redistribution on chain


def three_funds_in_three_bioregions() -> TestChain:
    """Funds 0, 1, 2 active, in localnet, cascadia, sahel; fund 3 forming, in sahel."""
    c = chain()
    for _ in range(3):
        fund_id = _next_fund(c)
        ok(c, ALICE, "funds", "create", **create_args())
        c.execute([c.sign(key, "funds", "join", {"fund": fund_id}) for key in FUNDERS[1:]])
    ok(c, ALICE, "funds", "create", **create_args())  # fund 3 stays forming
    for region in REGIONS[1:]:
        govern_ok(c, "health", "register_bioregion", bioregion=region, name_hash=None)
        govern_ok(c, "health", "set_oracles", bioregion=region, oracles=[ALICE.public])
    for fund_id, region in enumerate((*REGIONS, "sahel")):
        govern_ok(c, "health", "set_fund_bioregion", fund=fund_id, bioregion=region)
    return c


def _next_fund(c: TestChain) -> int:
    from pallets.funds.storage import NEXT_FUND

    value: int = NEXT_FUND.get(c.state())
    return value


def observe_all(c: TestChain, scores: list[int]) -> None:
    """Alice observes every component of bioregion i at ``scores[i]`` (so health = score)."""
    for region, value in zip(REGIONS, scores, strict=True):
        assert observe(c, ALICE, [value] * 5, region=region).success


def cash_of(c: TestChain, fund_ids: range) -> list[int]:
    return [funds_api.cash(c.state(), f) for f in fund_ids]


def test_r2_less_healthy_bioregions_receive_more_and_units_are_conserved() -> None:
    c = three_funds_in_three_bioregions()
    observe_all(c, [9000, 2000, 6000])
    before, pool = cash_of(c, range(4)), commons_api.pool_balance(c.state())
    supply = currency.total_issuance(c.state())
    to_epoch(c, epoch_now(c) + 1)
    assert [health_api.health_score(c.state(), r) for r in REGIONS] == [9000, 2000, 6000]
    grants = [a - b for a, b in zip(cash_of(c, range(4)), before, strict=True)]
    taken = pool * 100 // 10_000  # redistribution_share 100 bps
    assert sum(grants) == taken == pool - commons_api.pool_balance(c.state())
    assert grants[3] == 0  # forming funds take no part
    assert grants[1] > grants[2] > grants[0] > 0  # need 8000 > 4000 > 1000
    assert grants[:3] == list(apportion(taken, [(0, 1000), (1, 8000), (2, 4000)]).values())
    assert currency.total_issuance(c.state()) == supply  # redistribution creates nothing
    (latest,) = commons_api.rounds(c.state(), 1)
    assert latest["taken"] == taken and latest["funds"] == 3
    assert [g["amount"] for g in latest["grants"]] == grants[:3]
    assert commons_api.totals(c.state())["granted"] == taken


def test_r2_random_health_vectors_conserve_units() -> None:
    c = three_funds_in_three_bioregions()  # one chain: each example is one more epoch

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.integers(0, 10_000), min_size=3, max_size=3))
    def check(scores: list[int]) -> None:
        observe_all(c, scores)
        before, pool = cash_of(c, range(3)), commons_api.pool_balance(c.state())
        to_epoch(c, epoch_now(c) + 1)
        grants = [a - b for a, b in zip(cash_of(c, range(3)), before, strict=True)]
        taken = pool - commons_api.pool_balance(c.state())
        assert sum(grants) == taken
        needs = [10_000 - s for s in scores]
        assert taken == (pool * 100 // 10_000 if sum(needs) else 0)
        for i in range(3):
            for j in range(3):
                if needs[i] > needs[j]:
                    assert grants[i] >= grants[j]

    check()


def test_r2_ties_are_broken_by_fund_id() -> None:
    c = three_funds_in_three_bioregions()
    for fund_id in (1, 2):
        govern_ok(c, "health", "set_fund_bioregion", fund=fund_id, bioregion="localnet")
    assert observe(c, ALICE, [5000] * 5).success
    before, pool = cash_of(c, range(3)), commons_api.pool_balance(c.state())
    to_epoch(c, epoch_now(c) + 1)
    grants = [a - b for a, b in zip(cash_of(c, range(3)), before, strict=True)]
    taken = pool * 100 // 10_000
    assert taken % 3 == 1  # one unit left over: it goes to the smallest fund id
    assert grants == [taken // 3 + 1, taken // 3, taken // 3]


def test_r2_no_health_value_or_full_health_takes_nothing() -> None:
    c = three_funds_in_three_bioregions()
    pool = commons_api.pool_balance(c.state())
    to_epoch(c, epoch_now(c) + 1)  # no bioregion has a health value yet
    assert commons_api.pool_balance(c.state()) == pool
    observe_all(c, [10_000, 10_000, 10_000])
    to_epoch(c, epoch_now(c) + 1)  # all healthy: no need anywhere
    assert commons_api.pool_balance(c.state()) == pool
    assert commons_api.rounds(c.state(), 5) == []


# ---------------------------------------------------------------- minting (R3)


def test_r3_mint_grows_total_supply_by_exactly_the_amount() -> None:
    c = fund_zine(chain())
    supply, pool = currency.total_issuance(c.state()), commons_api.pool_balance(c.state())
    govern_ok(c, "commons", "mint", fund=None, amount=123_456)
    assert currency.total_issuance(c.state()) == supply + 123_456
    assert commons_api.pool_balance(c.state()) == pool + 123_456
    fund_cash = funds_api.cash(c.state(), 0)
    govern_ok(c, "commons", "mint", fund=0, amount=1)
    assert funds_api.cash(c.state(), 0) == fund_cash + 1
    assert currency.total_issuance(c.state()) == supply + 123_457
    assert commons_api.totals(c.state())["minted"] == 123_457
    missing = govern(c, "commons", "mint", fund=9, amount=5)
    assert missing.error is not None and (missing.error.code, missing.error.rule) == (
        "UnknownFund",
        "R3",
    )
    zero = govern(c, "commons", "mint", fund=None, amount=0)
    assert zero.error is not None and zero.error.code == "ZeroMint"
    assert currency.total_issuance(c.state()) == supply + 123_457


def test_r3_beyond_the_yearly_cap_is_refused_and_the_next_year_opens_a_new_window() -> None:
    c = chain()
    supply = currency.total_issuance(c.state())
    cap = supply * 200 // 10_000  # issuance.max_issuance 200 bps
    govern_ok(c, "commons", "mint", fund=None, amount=cap - 10)
    over = govern(c, "commons", "mint", fund=None, amount=11)
    assert over.error is not None and (over.error.code, over.error.rule) == (
        "IssuanceCapExceeded",
        "R3",
    )
    govern_ok(c, "commons", "mint", fund=None, amount=10)  # exactly at the cap
    assert currency.total_issuance(c.state()) == supply + cap
    status = commons_api.issuance_status(c.state())
    assert (status["year"], status["minted"], status["cap"], status["remaining"]) == (
        0,
        cap,
        cap,
        0,
    )
    c.execute([], seconds=YEAR)  # block time enters year 1 (365 days from genesis)
    status = commons_api.issuance_status(c.state())
    new_cap = (supply + cap) * 200 // 10_000
    assert (status["year"], status["minted"], status["cap"]) == (1, 0, new_cap)
    govern_ok(c, "commons", "mint", fund=None, amount=new_cap)
    assert currency.total_issuance(c.state()) == supply + cap + new_cap


# ---------------------------------------------------------------- interest share (R1)


def test_r1_a_share_of_fund_interest_goes_to_the_pool() -> None:
    big, amount = 10**11, 3 * 10**10
    c = fund_zine(
        chain(params={"redistribution": {"interest_commons_share": 2500}}),
        rate_bps=10_000,
        contribution=big,
    )
    approve(c, submit_valid(c, [LUCIA, ANA, BEN], amount))
    wait(c, 30)
    interest, principal = owed_next_block(c, 0)
    assert interest > 0
    pool, cash = commons_api.pool_balance(c.state()), funds_api.cash(c.state(), 0)
    ok(c, LUCIA, "loans", "repay", loan=0, amount=interest + principal)
    share = interest * 2500 // 10_000
    assert commons_api.pool_balance(c.state()) == pool + share
    assert funds_api.cash(c.state(), 0) == cash + interest + principal - share
    assert commons_api.totals(c.state())["from_interest"] == share
