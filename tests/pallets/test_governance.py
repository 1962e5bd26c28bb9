"""The governance pallet (G2-G6, I4): quadratic votes, tallies, deposits, enactment,
validator changes at H + 2, equivocation.

Everything goes through signed extrinsics on a localnet ``TestChain``: six
dev members in bioregion "localnet", rounds of 20 s, 100 voice credits,
quorum 2000 bps, enactment 5 s after the tally. Invariants (I1-I5 and the
governance books) are checked after every block by ``TestChain``.
"""

from __future__ import annotations

from typing import Any

from genesis.build import parse_genesis
from ledger.crypto import Keypair, blake2b256
from ledger.overlay import StateOverlay
from ledger.types import Evidence, Receipt, Validator, ValidatorSet, Vote, VoteType
from pallets import construct
from pallets.balances.currency import COMMONS, free_balance, module_account
from pallets.governance import api, rounds
from pallets.governance.allowlist import allowed, encode_call
from pallets.governance.hooks import try_state
from pallets.governance.storage import NEXT_ID, SPENT
from pallets.governance.tally import MAX_TALLIES_PER_BLOCK, outcome
from pallets.members import api as members_api
from pallets.support.declare import GOVERNANCE
from pallets.support.params import param
from pallets.system.api import latest_validator_set, validator_set
from tests.pallets.credit_helpers import ok
from tests.pallets.helpers import (
    ALICE,
    BOB,
    CHARLIE,
    DAVE,
    EVE,
    FERDIE,
    GENESIS_TIME,
    TestChain,
    assert_noop,
)
from tests.pallets.helpers import test_doc as make_doc

MEMBERS = (ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE)
DEPOSIT = 10_000
NEWCOMER = Keypair.from_seed(blake2b256(b"governance-test/new-validator"))


# ---------------------------------------------------------------- steps


def propose_raw(chain: TestChain, key: Keypair, pallet: str, function: str, **args: Any) -> bytes:
    return chain.sign(key, "governance", "propose", {"call": encode_call(pallet, function, args)})


def propose(chain: TestChain, key: Keypair, pallet: str, function: str, **args: Any) -> int:
    proposal_id: int = NEXT_ID.get(chain.state())
    (receipt,) = chain.execute([propose_raw(chain, key, pallet, function, **args)]).receipts
    assert receipt.success, receipt.error
    return proposal_id


def proposal(chain: TestChain, proposal_id: int) -> dict[str, Any]:
    record = api.find_proposal(chain.state(), proposal_id)
    assert record is not None
    return record


def now(chain: TestChain) -> int:
    return chain.time_ms // 1000


def enter_round(chain: TestChain, index: int) -> None:
    """Execute blocks until round ``index`` is current (one block per round boundary)."""
    while (current := rounds.current_round(chain.state()))["index"] < index:
        chain.execute([], seconds=current["ends"] - now(chain))


def vote_raw(chain: TestChain, key: Keypair, proposal_id: int, votes: int) -> bytes:
    return chain.sign(key, "governance", "vote", {"proposal": proposal_id, "votes": votes})


def vote(chain: TestChain, key: Keypair, proposal_id: int, votes: int) -> Receipt:
    return ok(chain, key, "governance", "vote", proposal=proposal_id, votes=votes)


def votes_in_one_block(chain: TestChain, ballots: list[tuple[Keypair, int, int]]) -> None:
    result = chain.execute([vote_raw(chain, k, p, v) for k, p, v in ballots])
    assert all(r.success for r in result.receipts), [r.error for r in result.receipts]


def close(chain: TestChain, proposal_id: int) -> None:
    """Run to the end of the proposal's voting round: it is tallied in that block."""
    enter_round(chain, proposal(chain, proposal_id)["round"] + 1)


def spent(chain: TestChain, key: Keypair, round_index: int) -> int:
    return api.spent(chain.state(), round_index, key.public)


def set_quorum_chain(quorum: int) -> TestChain:
    # the six dev accounts are the members (no extra test persons)
    return TestChain(make_doc(people=False, params={"governance": {"quorum": quorum}}))


# ---------------------------------------------------------------- G3: quadratic cost


def test_a_member_with_100_credits_casts_at_most_10_votes_on_one_proposal() -> None:
    chain = TestChain()
    pid = propose(chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4)
    round_index = proposal(chain, pid)["round"]
    enter_round(chain, round_index)
    raw = vote_raw(chain, BOB, pid, 11)
    receipt = assert_noop(chain, BOB, raw, "OverBudget", "G3")
    assert receipt.error is not None and "11 votes cost 121" in receipt.error.message
    against = vote_raw(chain, BOB, pid, -11)
    assert_noop(chain, BOB, against, "OverBudget", "G3")
    receipt = vote(chain, BOB, pid, 10)
    assert [e.attrs["cost"] for e in receipt.events] == [100]
    assert spent(chain, BOB, round_index) == 100
    assert (proposal(chain, pid)["votes_for"], proposal(chain, pid)["credits"]) == (10, 100)


def test_three_votes_on_several_proposals_cost_nine_each() -> None:
    chain = TestChain()
    proposals = [
        f"weight_{p}"
        for p in (
            "community_infrastructure",
            "ecological_restoration",
            "productive_enterprise",
            "educational_initiative",
            "creative_project",
        )
    ]
    first: int = NEXT_ID.get(chain.state())
    raws = [
        propose_raw(chain, key, "system", "set_param", section="credit", name=name, value=50)
        for key in (ALICE, BOB)
        for name in proposals
    ] + [
        propose_raw(
            chain, CHARLIE, "system", "set_param", section="credit", name="min_reviewers", value=4
        )
    ]
    assert all(r.success for r in chain.execute(raws).receipts)
    ids = list(range(first, first + 11))
    round_index = proposal(chain, ids[0])["round"]
    enter_round(chain, round_index)
    votes_in_one_block(chain, [(DAVE, pid, 3) for pid in ids])
    assert spent(chain, DAVE, round_index) == 11 * 9 == 99
    assert all(proposal(chain, pid)["credits"] == 9 for pid in ids)
    twelfth = propose(
        chain, EVE, "system", "set_param", section="credit", name="min_reviewers", value=5
    )
    assert proposal(chain, twelfth)["round"] == round_index + 1  # made now: voted next round
    enter_round(chain, round_index + 1)
    vote(chain, DAVE, twelfth, 10)  # a fresh budget: the 1 credit left did not carry over
    assert spent(chain, DAVE, round_index + 1) == 100


def test_changing_a_vote_refunds_the_old_cost_first() -> None:
    chain = TestChain()
    pid = propose(chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4)
    other = propose(
        chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=6
    )
    round_index = proposal(chain, pid)["round"]
    enter_round(chain, round_index)
    vote(chain, BOB, pid, 10)
    vote(chain, BOB, pid, -6)  # refund 100, then pay 36
    assert spent(chain, BOB, round_index) == 36
    record = proposal(chain, pid)
    assert (record["votes_for"], record["votes_against"], record["voters"]) == (0, 6, 1)
    vote(chain, BOB, other, 8)  # 36 + 64 = 100: exactly the budget
    raw = vote_raw(chain, BOB, pid, -7)  # refund 36, pay 49: 113 > 100
    receipt = assert_noop(chain, BOB, raw, "OverBudget", "G3")
    assert receipt.error is not None and "after refunding 36" in receipt.error.message
    vote(chain, BOB, pid, 0)  # withdraw: the credits come back
    assert spent(chain, BOB, round_index) == 64
    assert proposal(chain, pid)["voters"] == 0
    assert api.ballot(chain.state(), pid, BOB.public) == 0


def test_credits_are_not_money_and_do_not_carry_over() -> None:
    chain = TestChain()
    balance = free_balance(chain.state(), BOB.public)
    pid = propose(chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4)
    round_index = proposal(chain, pid)["round"]
    enter_round(chain, round_index)
    vote(chain, BOB, pid, 10)
    assert free_balance(chain.state(), BOB.public) == balance  # wealth buys nothing, costs nothing
    governance_calls = sorted(c.name for c in chain.runtime.registry.by_name["governance"].calls)
    assert governance_calls == ["propose", "vote"]  # no call moves credits between members
    nxt = propose(chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=3)
    enter_round(chain, round_index + 1)
    assert rounds.budget(chain.state(), round_index + 1) == 100
    assert spent(chain, BOB, round_index + 1) == 0
    assert_noop(chain, BOB, vote_raw(chain, BOB, nxt, 11), "OverBudget", "G3")
    vote(chain, BOB, nxt, 10)


def test_a_revoked_and_re_registered_member_keeps_the_rounds_spending() -> None:
    """Revocation cannot hand one person a second budget in a round (G1, G2, I4)."""
    chain = TestChain()
    first = propose(
        chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4
    )
    second = propose(
        chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=6
    )
    round_index = proposal(chain, first)["round"]
    enter_round(chain, round_index)
    vote(chain, CHARLIE, first, 10)
    record = members_api.member(chain.state(), CHARLIE.public)
    assert record is not None
    ok(chain, ALICE, "members", "revoke", member=CHARLIE.public)
    newcomer = Keypair.from_seed(blake2b256(b"governance-test/newcomer"))
    args = {
        "member": newcomer.public,
        "bioregion": "localnet",
        "attestation": record["attestation"],
    }
    elsewhere = chain.sign(ALICE, "members", "register", args)
    assert_noop(chain, ALICE, elsewhere, "RevokedThisRound", "G1")
    ok(chain, ALICE, "members", "register", **{**args, "member": CHARLIE.public})
    assert spent(chain, CHARLIE, round_index) == 100
    assert_noop(chain, CHARLIE, vote_raw(chain, CHARLIE, second, 1), "OverBudget", "G3")
    assert proposal(chain, first)["votes_for"] == 10


def test_a_budget_change_applies_from_the_next_round() -> None:
    chain = TestChain()
    pid = propose(
        chain, ALICE, "system", "set_param", section="governance", name="voice_credits", value=400
    )
    round_index = proposal(chain, pid)["round"]
    enter_round(chain, round_index)
    votes_in_one_block(chain, [(ALICE, pid, 10), (BOB, pid, 10)])
    close(chain, pid)
    chain.execute([], seconds=5)
    assert proposal(chain, pid)["status"] == "enacted"
    assert param(chain.state(), "governance", "voice_credits") == 400
    assert rounds.budget(chain.state(), round_index + 1) == 100  # the running round keeps its own
    enter_round(chain, round_index + 2)
    assert rounds.budget(chain.state(), round_index + 2) == 400


# ---------------------------------------------------------------- G4: proposals


def test_voting_opens_the_round_after_the_proposal_and_closes_with_it() -> None:
    chain = TestChain()
    pid = propose(chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4)
    receipt = assert_noop(chain, BOB, vote_raw(chain, BOB, pid, 1), "VotingNotOpen", "G5")
    assert receipt.error is not None and "voted on in round 1" in receipt.error.message
    close(chain, pid)
    receipt = assert_noop(chain, BOB, vote_raw(chain, BOB, pid, 1), "VotingNotOpen", "G5")
    assert receipt.error is not None and "closed with round 1" in receipt.error.message
    assert_noop(chain, BOB, vote_raw(chain, BOB, 99, 1), "UnknownProposal", "G4")


def test_only_members_propose_and_vote() -> None:
    chain = TestChain()
    chain.execute([chain.transfer(ALICE, NEWCOMER.public, 10**9)])
    raw = propose_raw(
        chain, NEWCOMER, "system", "set_param", section="funds", name="min_funders", value=4
    )
    assert_noop(chain, NEWCOMER, raw, "NotMember", "G1")
    pid = propose(chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4)
    enter_round(chain, proposal(chain, pid)["round"])
    assert_noop(chain, NEWCOMER, vote_raw(chain, NEWCOMER, pid, 1), "NotMember", "G1")


def test_a_bad_proposal_is_refused_at_once_naming_what_is_wrong() -> None:
    chain = TestChain()
    quorum = {"section": "governance", "name": "quorum"}
    cases: list[tuple[bytes, str, str]] = [
        (
            encode_call("balances", "transfer", {"dest": BOB.public, "amount": 1}),
            "CallNotAllowed",
            "balances.transfer is not on the governance list",
        ),
        (
            encode_call("system", "set_param", {**quorum, "value": 10_001}),
            "BadCallArguments",
            "governance.quorum=10001 is outside [0, 10000]",
        ),
        (
            encode_call("system", "set_param", {**quorum, "name": "nope", "value": 1}),
            "BadCallArguments",
            "no parameter governance.nope",
        ),
        (
            encode_call("system", "set_param", quorum),
            "BadCallArguments",
            "system.set_param: value: missing argument",
        ),
        (
            encode_call("system", "add_validator", {"validator": bytes(32), "power": 1}),
            "BadCallArguments",
            "not a valid Ed25519 public key",
        ),
        (
            encode_call("members", "add_registrar", {"bioregion": "localnet", "registrar": b"x"}),
            "BadCallArguments",
            "registrar: account must be 32 bytes",
        ),
        (b"\xc1", "BadCall", "call:"),
    ]
    for call, code, text in cases:
        raw = chain.sign(ALICE, "governance", "propose", {"call": call})
        receipt = assert_noop(chain, ALICE, raw, code, "G4")
        assert receipt.error is not None and text in receipt.error.message, receipt.error


def test_deposits_are_held_then_refunded_at_quorum_or_forfeited_without() -> None:
    chain = TestChain()
    alice_before = free_balance(chain.state(), ALICE.public)
    commons_before = free_balance(chain.state(), module_account(COMMONS))
    passes = propose(
        chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4
    )
    loses = propose(
        chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=3
    )
    ignored = propose(
        chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=2
    )
    assert free_balance(chain.state(), ALICE.public) == alice_before - 3 * DEPOSIT
    assert free_balance(chain.state(), api.deposit_account()) == 3 * DEPOSIT
    enter_round(chain, proposal(chain, passes)["round"])
    votes_in_one_block(
        chain,
        [
            (BOB, passes, 2),
            (CHARLIE, passes, 1),
            (BOB, loses, -2),
            (CHARLIE, loses, 1),
            (DAVE, ignored, 1),
        ],
    )
    close(chain, passes)
    outcomes = {pid: proposal(chain, pid) for pid in (passes, loses, ignored)}
    assert [(r["status"], r["deposit_state"]) for r in outcomes.values()] == [
        ("passed", "refunded"),
        ("rejected", "refunded"),
        ("no_quorum", "forfeited"),
    ]
    assert free_balance(chain.state(), ALICE.public) == alice_before - DEPOSIT
    assert free_balance(chain.state(), module_account(COMMONS)) == commons_before + DEPOSIT
    assert free_balance(chain.state(), api.deposit_account()) == 0


def test_a_member_who_cannot_pay_the_deposit_cannot_propose() -> None:
    chain = TestChain()
    ok(
        chain,
        ALICE,
        "members",
        "register",
        member=NEWCOMER.public,
        bioregion="localnet",
        attestation=blake2b256(b"newcomer"),
    )
    chain.execute([chain.transfer(ALICE, NEWCOMER.public, DEPOSIT - 1)])
    raw = propose_raw(
        chain, NEWCOMER, "system", "set_param", section="funds", name="min_funders", value=4
    )
    assert_noop(chain, NEWCOMER, raw, "InsufficientBalance")


# ---------------------------------------------------------------- G5: tally and enactment


def test_quorum_exactly_at_the_threshold_passes() -> None:
    for voters, expected in ((3, "passed"), (2, "no_quorum")):
        chain = set_quorum_chain(5000)  # 6 members: 3 voters x 10 000 = 5 000 x 6 exactly
        pid = propose(
            chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4
        )
        enter_round(chain, proposal(chain, pid)["round"])
        votes_in_one_block(chain, [(key, pid, 1) for key in MEMBERS[:voters]])
        close(chain, pid)
        record = proposal(chain, pid)
        assert (record["status"], record["voters"], record["members"]) == (expected, voters, 6)


def test_outcome_rules_at_the_thresholds() -> None:
    def record(kind: str, votes_for: int, against: int, voters: int) -> dict[str, Any]:
        return {"kind": kind, "votes_for": votes_for, "votes_against": against, "voters": voters}

    assert outcome(record("parameter", 6, 5, 2), 10, 2000, 2) == "passed"
    assert outcome(record("parameter", 5, 5, 2), 10, 2000, 2) == "rejected"  # a tie fails
    assert outcome(record("parameter", 6, 5, 1), 10, 2000, 2) == "no_quorum"
    assert outcome(record("validator", 10, 5, 2), 10, 2000, 2) == "passed"  # exactly twice
    assert outcome(record("validator", 9, 5, 2), 10, 2000, 2) == "rejected"
    assert outcome(record("validator", 0, 0, 2), 10, 2000, 2) == "rejected"  # for > against


def test_a_validator_change_needs_twice_as_many_for_as_against_on_chain() -> None:
    for votes_for, expected in ((10, "passed"), (9, "rejected")):
        chain = TestChain()
        pid = propose(chain, ALICE, "system", "add_validator", validator=NEWCOMER.public, power=10)
        ordinary = propose(
            chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4
        )
        enter_round(chain, proposal(chain, pid)["round"])
        votes_in_one_block(
            chain,
            [(BOB, pid, votes_for), (CHARLIE, pid, -5), (DAVE, ordinary, 9), (EVE, ordinary, -5)],
        )
        close(chain, pid)
        assert proposal(chain, pid)["status"] == expected
        assert proposal(chain, ordinary)["status"] == "passed"  # simple majority suffices


def test_a_passed_proposal_is_enacted_after_the_delay() -> None:
    chain = TestChain()
    pid = propose(chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4)
    enter_round(chain, proposal(chain, pid)["round"])
    votes_in_one_block(chain, [(BOB, pid, 3), (CHARLIE, pid, 3)])
    close(chain, pid)
    record = proposal(chain, pid)
    assert record["status"] == "passed" and record["enact_at"] == record["decided"] + 5
    assert param(chain.state(), "funds", "min_funders") == 5
    chain.execute([], seconds=4)
    assert param(chain.state(), "funds", "min_funders") == 5
    result = chain.execute([], seconds=1)
    assert param(chain.state(), "funds", "min_funders") == 4
    assert [(e.pallet, e.name) for e in result.events if e.name != "EpochStarted"] == [
        ("system", "ParamChanged"),
        ("governance", "Enacted"),
    ]
    record = proposal(chain, pid)
    assert record["status"] == "enacted" and record["enacted"] == chain.height


def test_an_enactment_that_fails_is_recorded_and_changes_nothing() -> None:
    chain = TestChain()
    # passes the proposal-time checks, but breaks "score weights sum to 10000" when enacted
    pid = propose(
        chain,
        ALICE,
        "system",
        "set_param",
        section="credit",
        name="score_weight_purpose",
        value=5000,
    )
    fixed = propose(
        chain,
        ALICE,
        "system",
        "set_params",
        changes=[
            ["credit", "score_weight_purpose", 5000],
            ["credit", "score_weight_history", 2000],
        ],
    )
    enter_round(chain, proposal(chain, pid)["round"])
    votes_in_one_block(
        chain, [(BOB, pid, 1), (CHARLIE, pid, 1), (BOB, fixed, 1), (CHARLIE, fixed, 1)]
    )
    close(chain, pid)
    chain.execute([], seconds=5)
    failed, enacted = proposal(chain, pid), proposal(chain, fixed)
    assert failed["status"] == "failed" and failed["error"] is not None
    assert failed["error"].startswith("system.ParamsInconsistent [G4]: credit score weights")
    assert enacted["status"] == "enacted"
    assert param(chain.state(), "credit", "score_weight_purpose") == 5000
    assert param(chain.state(), "credit", "score_weight_history") == 2000


def test_tallies_are_bounded_per_block_and_all_happen() -> None:
    chain = TestChain()
    count = MAX_TALLIES_PER_BLOCK + 4
    raws = [
        propose_raw(chain, key, "system", "set_param", section="funds", name="min_funders", value=4)
        for key in MEMBERS
        for _ in range(4)
    ][:count]
    assert all(r.success for r in chain.execute(raws).receipts)
    first = proposal(chain, 0)["round"]
    enter_round(chain, first + 1)
    statuses = [proposal(chain, pid)["status"] for pid in range(count)]
    assert statuses.count("no_quorum") == MAX_TALLIES_PER_BLOCK
    chain.execute([])
    assert all(proposal(chain, pid)["status"] == "no_quorum" for pid in range(count))


# ---------------------------------------------------------------- G6: validators


def four_validator_chain() -> tuple[TestChain, list[Keypair]]:
    keys = [Keypair.from_seed(blake2b256(b"gov-validator/" + bytes([i]))) for i in range(4)]
    doc = make_doc().to_json_dict()
    doc["validators"] = [
        {
            "name": f"v{i}",
            "public_key": k.public.hex(),
            "address": f"127.0.0.1:{40000 + i}",
            "power": 10,
        }
        for i, k in enumerate(keys)
    ]
    return TestChain(parse_genesis(doc)), keys


def test_validators_added_and_removed_by_governance_count_from_h_plus_2() -> None:
    chain, keys = four_validator_chain()
    add = propose(chain, ALICE, "system", "add_validator", validator=NEWCOMER.public, power=7)
    remove = propose(chain, BOB, "system", "remove_validator", validator=keys[3].public)
    enter_round(chain, proposal(chain, add)["round"])
    votes_in_one_block(chain, [(k, pid, 2) for k in MEMBERS[:3] for pid in (add, remove)])
    close(chain, add)
    before = validator_set(chain.state())
    result = chain.execute([], seconds=5)  # the enactment block, H
    height = chain.height
    change = result.validator_change
    assert change is not None and change.apply_at == height + 2
    expected = ValidatorSet.of(
        [Validator(k.public, 10) for k in keys[:3]] + [Validator(NEWCOMER.public, 7)]
    )
    assert change.validators == expected  # both changes compose in one block
    assert proposal(chain, add)["status"] == proposal(chain, remove)["status"] == "enacted"
    assert validator_set(chain.state()) == before
    chain.execute([])  # H + 1: still the old set
    assert validator_set(chain.state()) == before
    chain.execute([])  # H + 2
    assert validator_set(chain.state()) == expected


def test_removing_a_non_validator_or_the_last_fails_at_enactment() -> None:
    chain = TestChain()  # one validator
    (only,) = validator_set(chain.state()).validators
    last = propose(chain, ALICE, "system", "remove_validator", validator=only.public)
    stranger = propose(chain, ALICE, "system", "remove_validator", validator=NEWCOMER.public)
    enter_round(chain, proposal(chain, last)["round"])
    votes_in_one_block(chain, [(k, pid, 1) for k in MEMBERS[:2] for pid in (last, stranger)])
    close(chain, last)
    chain.execute([], seconds=5)
    assert proposal(chain, last)["error"] == (
        "system.EmptyValidatorSet [G6]: the last validator cannot be removed"
    )
    error = proposal(chain, stranger)["error"]
    assert error is not None and error.startswith("system.NotValidator [G6]")
    assert validator_set(chain.state()).validators == (only,)


def equivocation(chain: TestChain, key: Keypair, height: int) -> Evidence:
    votes = [
        Vote.create(key, chain.genesis_hash, VoteType.PRECOMMIT, height, 0, blake2b256(x), 1)
        for x in (b"one block", b"another block")
    ]
    return Evidence(votes[0], votes[1])


def test_equivocation_evidence_removes_the_validator_at_h_plus_2_once() -> None:
    chain, keys = four_validator_chain()
    chain.execute([])
    proof = equivocation(chain, keys[1], chain.height)
    result = chain.runtime.execute(chain.root, chain.next_env(), [], [proof])
    chain.apply(result)
    removed = [e for e in result.events if e.name == "EquivocationRemoved"]
    assert removed and removed[0].attrs["validator"] == keys[1].public
    change = result.validator_change
    assert change is not None and change.apply_at == chain.height + 2
    assert keys[1].public not in [v.public for v in change.validators.validators]
    assert len(change.validators.validators) == 3
    again = chain.runtime.execute(chain.root, chain.next_env(), [], [proof])
    assert again.validator_change is None  # the same proof acts once
    chain.apply(again)
    chain.execute([])
    assert latest_validator_set(chain.state()) == validator_set(chain.state())
    assert validator_set(chain.state()).power_of(keys[1].public) == 0


def test_equivocation_never_removes_the_last_validator() -> None:
    chain = TestChain()
    only = Keypair.from_seed(blake2b256(b"test-validator"))  # tests/pallets/helpers.VALIDATOR
    result = chain.runtime.execute(chain.root, chain.next_env(), [], [equivocation(chain, only, 1)])
    chain.apply(result)
    assert result.validator_change is None
    kept = [e for e in result.events if e.name == "EquivocationKept"]
    assert kept and "last validator" in kept[0].attrs["reason"]


# ---------------------------------------------------------------- I4


def test_try_state_reports_credits_spent_beyond_the_budget() -> None:
    chain = TestChain()
    pid = propose(chain, ALICE, "system", "set_param", section="funds", name="min_funders", value=4)
    enter_round(chain, proposal(chain, pid)["round"])
    vote(chain, BOB, pid, 10)
    assert try_state(chain.state()) == []
    broken = StateOverlay(chain.state())
    SPENT.put(broken, api.account_key(1, BOB.public), 101)
    problems = try_state(broken)
    assert any(p.startswith("I4: 0x") and "spent 101" in p for p in problems), problems


def test_round_zero_starts_at_genesis() -> None:
    chain = TestChain()
    assert rounds.current_round(chain.state()) == {
        "index": 0,
        "start": GENESIS_TIME,
        "ends": GENESIS_TIME + 20,
    }
    chain.execute([], seconds=75)  # a halted chain skips ahead: the next round starts now
    assert rounds.current_round(chain.state())["start"] == GENESIS_TIME + 75


def test_the_governance_list_is_exactly_the_runtimes_governance_origin_calls() -> None:
    declared = {
        (p.name, c.name)
        for p in construct.registry().pallets
        for c in p.calls
        if c.origin == GOVERNANCE
    }
    listed = {name: kind for name, (_, kind, _) in allowed(construct.WIRING).items()}
    assert declared == set(listed)
    assert listed[("system", "add_validator")] == listed[("system", "remove_validator")]
    assert listed[("system", "add_validator")] == "validator"
