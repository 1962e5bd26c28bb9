"""Health: the bioregion registry (H1), oracle rounds and medians (H3), the score (H2),
the on-chain measures published beside them. Every block checks I1-I5 (TestChain).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import codec
from pallets.executive.executor import InvalidBlock
from pallets.funds import api as funds_api
from pallets.health import api as health_api
from pallets.health.rounds import component_medians, median, weighted_score
from pallets.health.storage import HISTORY_EPOCHS, OBSERVATIONS
from pallets.members import api as members_api
from tests.pallets.credit_helpers import ANA, BEN, LUCIA, approve, fund_zine, submit_valid
from tests.pallets.health_helpers import (
    chain,
    epoch_now,
    govern,
    govern_ok,
    observe,
    score,
    to_epoch,
)
from tests.pallets.helpers import ALICE, BOB, CHARLIE, DAVE, TestChain, assert_noop
from tests.pallets.helpers import test_doc as make_doc

DEFAULT_WEIGHTS = [2000, 2500, 2000, 2000, 1500]
BIG = 10**11
AMOUNT = 3 * 10**10


# ---------------------------------------------------------------- pure arithmetic


def test_h3_median_of_odd_even_and_single_counts() -> None:
    assert median([7]) == 7
    assert median([3, 1, 2]) == 2
    assert median([1, 2, 3, 4]) == 2  # (2 + 3) // 2: the floor of the middle pair's mean
    assert median([4000, 4001]) == 4000
    assert median([10_000, 0, 10_000, 0]) == 5000
    assert component_medians([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [9, 9, 9, 9, 9]]) == [5, 4, 3, 4, 5]
    with pytest.raises(ValueError):
        median([])


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=16))
def test_h3_median_is_order_free_and_between_the_middle_values(values: list[int]) -> None:
    ordered = sorted(values)
    low, high = ordered[(len(values) - 1) // 2], ordered[len(values) // 2]
    result = median(values)
    assert result == median(list(reversed(values)))
    assert low <= result <= high
    assert result == (low + high) // 2


def test_h2_weighted_score() -> None:
    assert weighted_score([10_000] * 5, DEFAULT_WEIGHTS) == 10_000
    assert weighted_score([0] * 5, DEFAULT_WEIGHTS) == 0
    # 2000*6000 + 2500*4000 + 2000*5000 + 2000*7000 + 1500*3000 = 50 500 000
    assert weighted_score([6000, 4000, 5000, 7000, 3000], DEFAULT_WEIGHTS) == 5050
    assert weighted_score([1, 1, 1, 1, 1], DEFAULT_WEIGHTS) == 1
    assert weighted_score([1, 0, 0, 0, 0], DEFAULT_WEIGHTS) == 0  # rounded down


# ---------------------------------------------------------------- registry (H1)


def test_h1_genesis_registers_the_localnet_bioregion_and_its_oracles() -> None:
    c = chain()
    state = c.state()
    assert health_api.bioregions(state) == ["localnet"]
    assert health_api.bioregion_exists(state, "localnet")
    assert not health_api.bioregion_exists(state, "cascadia")
    assert not health_api.bioregion_exists(state, "Not-An-Id")
    assert health_api.oracles(state, "localnet") == sorted([ALICE.public, BOB.public])
    assert health_api.health_score(state, "localnet") is None


def test_h1_registry_calls_need_the_governance_origin() -> None:
    c = chain()
    args = {"bioregion": "cascadia", "name_hash": None}
    raw = c.sign(ALICE, "health", "register_bioregion", args)
    refused(c, raw, "needs a governance origin")
    govern_ok(c, "health", "register_bioregion", **args)
    assert health_api.bioregions(c.state()) == ["cascadia", "localnet"]
    again = govern(c, "health", "register_bioregion", **args)
    assert again.error is not None and (again.error.code, again.error.rule) == (
        "BioregionExists",
        "H1",
    )
    missing = govern(c, "health", "set_oracles", bioregion="atlantis", oracles=[ALICE.public])
    assert missing.error is not None and missing.error.code == "UnknownBioregion"
    govern_ok(c, "health", "set_oracles", bioregion="cascadia", oracles=[DAVE.public])
    assert health_api.oracles(c.state(), "cascadia") == [DAVE.public]


def test_h1_a_bad_bioregion_id_is_refused_naming_the_argument() -> None:
    c = chain()
    bad = c.sign(
        CHARLIE,
        "health",
        "observe",
        {"bioregion": "Cascadia Bioregion", "epoch": 0, "components": [1] * 5},
    )
    refused(c, bad, "bioregion")


# ---------------------------------------------------------------- observations (H3)


def test_h3_observation_rules_cite_h3() -> None:
    c = chain()
    to_epoch(c, 2)
    now = epoch_now(c)
    raw = c.sign(CHARLIE, "health", "observe", _obs(now))
    assert_noop(c, CHARLIE, raw, "NotOracle", "H3")
    assert_noop(c, ALICE, c.sign(ALICE, "health", "observe", _obs(now - 1)), "WrongEpoch", "H3")
    assert_noop(c, ALICE, c.sign(ALICE, "health", "observe", _obs(now + 1)), "WrongEpoch", "H3")
    unknown = c.sign(ALICE, "health", "observe", {**_obs(now), "bioregion": "atlantis"})
    assert_noop(c, ALICE, unknown, "UnknownBioregion", "H1")
    assert observe(c, ALICE, [5000] * 5).success
    twice = c.sign(ALICE, "health", "observe", _obs(now))
    assert_noop(c, ALICE, twice, "AlreadyObserved", "H3")


def test_h3_a_component_above_10000_never_reaches_the_state() -> None:
    c = chain()
    bad = c.sign(ALICE, "health", "observe", {**_obs(0), "components": [1, 2, 10_001, 4, 5]})
    refused(c, bad, r"components\[2\]: 10001 is outside")
    short = c.sign(ALICE, "health", "observe", {**_obs(0), "components": [1, 2, 3, 4]})
    refused(c, short, "components: 4 items")


def test_h3_medians_of_three_then_two_then_the_last_value_stands() -> None:
    c = chain()
    govern_ok(
        c, "health", "set_oracles", bioregion="localnet",
        oracles=[ALICE.public, BOB.public, CHARLIE.public],
    )  # fmt: skip
    first = epoch_now(c)
    assert observe(c, ALICE, [1000, 2000, 3000, 4000, 5000]).success
    assert observe(c, BOB, [3000, 2000, 1000, 9000, 0]).success
    assert observe(c, CHARLIE, [2000, 8000, 2000, 4000, 10_000]).success
    to_epoch(c, first + 1)
    expected = [2000, 2000, 2000, 4000, 5000]
    value = health_api.current(c.state(), "localnet")
    assert value == {"components": expected, "epoch": first, "observations": 3}
    assert score(c) == weighted_score(expected, DEFAULT_WEIGHTS)

    second = first + 1
    assert observe(c, ALICE, [1000, 1000, 1000, 1000, 1001]).success
    assert observe(c, BOB, [2000, 2001, 1000, 0, 1002]).success
    to_epoch(c, second + 1)
    even = [1500, 1500, 1000, 500, 1001]  # floor of the mean of the two
    assert health_api.current(c.state(), "localnet")["components"] == even  # type: ignore[index]

    to_epoch(c, second + 2)  # nobody observed: the last value stands
    value = health_api.current(c.state(), "localnet")
    assert value is not None and value["components"] == even and value["epoch"] == second
    history = dict(health_api.history(c.state(), "localnet"))
    assert history[first]["components"] == expected and history[first]["observations"] == 3
    assert history[second]["components"] == even and history[second]["observations"] == 2
    assert history[second + 1]["components"] == even and history[second + 1]["observations"] == 0
    assert history[second + 1]["score"] == weighted_score(even, DEFAULT_WEIGHTS)
    assert not list(c.state().iterate(OBSERVATIONS.prefix))  # rounds leave nothing behind


def test_h3_an_oracle_removed_mid_epoch_is_left_out() -> None:
    c = chain()
    first = epoch_now(c)
    assert observe(c, ALICE, [9000] * 5).success
    assert observe(c, BOB, [1000] * 5).success
    govern_ok(c, "health", "set_oracles", bioregion="localnet", oracles=[BOB.public])
    to_epoch(c, first + 1)
    value = health_api.current(c.state(), "localnet")
    assert value is not None and value["components"] == [1000] * 5 and value["observations"] == 1


def test_h3_history_keeps_a_bounded_number_of_epochs() -> None:
    c = chain()
    assert observe(c, ALICE, [4000] * 5).success
    for epoch in range(1, HISTORY_EPOCHS + 6):
        to_epoch(c, epoch)
    history = health_api.history(c.state(), "localnet")
    assert len(history) == HISTORY_EPOCHS
    assert [e for e, _ in history] == list(range(5, HISTORY_EPOCHS + 5))
    assert all(h["components"] == [4000] * 5 for _, h in history)


# ---------------------------------------------------------------- funds and measures


def test_funds_are_placed_in_bioregions_by_governance() -> None:
    c = fund_zine(chain())
    raw = c.sign(ALICE, "health", "set_fund_bioregion", {"fund": 0, "bioregion": "localnet"})
    refused(c, raw, "needs a governance origin")
    missing = govern(c, "health", "set_fund_bioregion", fund=7, bioregion="localnet")
    assert missing.error is not None and missing.error.code == "UnknownFund"
    nowhere = govern(c, "health", "set_fund_bioregion", fund=0, bioregion="atlantis")
    assert nowhere.error is not None and nowhere.error.code == "UnknownBioregion"
    govern_ok(c, "health", "set_fund_bioregion", fund=0, bioregion="localnet")
    assert health_api.funds_in(c.state(), "localnet") == [0]
    assert health_api.fund_bioregion(c.state(), 0) == "localnet"
    govern_ok(c, "health", "register_bioregion", bioregion="cascadia", name_hash=None)
    govern_ok(c, "health", "set_fund_bioregion", fund=0, bioregion="cascadia")
    assert health_api.funds_in(c.state(), "localnet") == []
    assert health_api.funds_in(c.state(), "cascadia") == [0]
    govern_ok(c, "health", "set_fund_bioregion", fund=0, bioregion=None)
    assert health_api.fund_bioregion(c.state(), 0) is None
    assert health_api.funds_in(c.state(), "cascadia") == []


def members_elsewhere() -> dict[str, Any]:
    """Genesis overrides: the test's members, all in a second bioregion "elsewhere"."""
    doc = make_doc().to_json_dict()
    members = [{**m, "bioregion": "elsewhere"} for m in doc["members"]]
    registrars = [{**r, "bioregion": "elsewhere"} for r in doc["registrars"]]
    bioregions = [*doc["bioregions"], {"id": "elsewhere", "oracles": []}]
    return {"members": members, "registrars": registrars, "bioregions": bioregions}


def test_credit_velocity_and_participation_are_published_beside_the_oracles() -> None:
    # "localnet" has no members (they are all registered elsewhere): measured over funders
    c = fund_zine(chain(**members_elsewhere()), rate_bps=500, contribution=BIG)
    govern_ok(c, "health", "set_fund_bioregion", fund=0, bioregion="localnet")
    measured = epoch_now(c) + 1
    to_epoch(c, measured)  # marks every funder's nonce: a clean start
    request_id = submit_valid(c, [LUCIA, ANA, BEN], AMOUNT)
    reviewers = approve(c, request_id)
    assert epoch_now(c, ahead=0) == measured, "the credit must fit in one epoch"
    to_epoch(c, measured + 1)
    published = dict(health_api.history(c.state(), "localnet"))[measured]
    size = funds_api.size(c.state(), 0, funds_api.get_fund(c.state(), 0))
    assert published["credit_velocity"] == AMOUNT * 10_000 // size
    assert members_api.members(c.state(), "localnet") == []
    population = funds_api.funders(c.state(), 0)
    active = {r.public for r in reviewers} & set(population)  # lucia, ana, ben are not funders
    assert active and published["participation"] == len(active) * 10_000 // len(population)
    assert published["funds"] == 1 and published["observations"] == 0

    to_epoch(c, measured + 2)  # nothing happened in this one
    quiet = dict(health_api.history(c.state(), "localnet"))[measured + 1]
    assert quiet["credit_velocity"] == 0 and quiet["participation"] == 0


def test_participation_counts_the_bioregions_members_when_it_has_some() -> None:
    c = chain(people=False)  # the localnet genesis registers the six dev accounts (G1)
    members = members_api.members(c.state(), "localnet")
    assert len(members) == 6
    measured = epoch_now(c) + 1
    to_epoch(c, measured)  # marks every member's nonce
    c.execute([c.transfer(CHARLIE, BOB.public, 1), c.transfer(DAVE, BOB.public, 1)])
    to_epoch(c, measured + 1)
    published = dict(health_api.history(c.state(), "localnet"))[measured]
    assert published["participation"] == 2 * 10_000 // 6  # two of six members acted


def test_events_of_a_round_are_public() -> None:
    c = chain()
    first = epoch_now(c)
    assert observe(c, ALICE, [6000, 4000, 5000, 7000, 3000]).success
    result = c.execute([], seconds=60)
    published = [e for e in result.events if e.name == "HealthPublished"]
    assert len(published) == 1
    attrs = published[0].attrs
    assert attrs["epoch"] == first and attrs["score"] == 5050 and attrs["observations"] == 1
    codec.encode(attrs)  # events are canonical MessagePack


def refused(c: TestChain, raw: bytes, match: str) -> None:
    """The extrinsic may not be included at all (invalid): the reason matches."""
    with pytest.raises(InvalidBlock, match=match):
        c.runtime.execute(c.root, c.next_env(), [raw])
    c.nonces.clear()


def _obs(epoch: int) -> dict[str, object]:
    return {"bioregion": "localnet", "epoch": epoch, "components": [5000] * 5}
