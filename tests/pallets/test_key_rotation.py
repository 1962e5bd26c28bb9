"""G1 key rotation: a person's membership, trust, history and cooldowns follow their new key.

By the old key (``members.rotate_key``), or, when it is lost, by a registrar
(``start_recovery``; after ``recovery_delay`` anyone ``finish_recovery``; the
old key may ``cancel_recovery`` until then). Every chain here checks the
invariants (I1-I6) after every block.
"""

from __future__ import annotations

from ledger.crypto import Keypair, blake2b256
from pallets.balances.currency import module_account
from pallets.credit.storage import COOLDOWNS
from pallets.funds import api as funds_api
from pallets.governance.allowlist import encode_call
from pallets.governance.rounds import current_round
from pallets.loans import api as loans_api
from pallets.members import api as members_api
from pallets.support.records import u32
from pallets.trust import api as trust_api
from tests.pallets.credit_helpers import (
    ANA,
    BEN,
    LUCIA,
    approve,
    fund_zine,
    ok,
    register,
    repay_all,
    request,
    request_args,
    submit_valid,
    wait,
)
from tests.pallets.helpers import ALICE, BOB, FERDIE, TestChain, assert_noop

DELAY = 60  # members.recovery_delay on a localnet (the test genesis)
NEW = Keypair.from_seed(blake2b256(b"key-rotation/new"))
OTHER = Keypair.from_seed(blake2b256(b"key-rotation/other"))


def _settled_chain() -> TestChain:
    """FundZine; Lucía, Ana and Ben borrowed 300 and repaid it: 200 trust each, history 1-0."""
    chain = fund_zine()
    loan = submit_valid(chain, [LUCIA, ANA, BEN])
    approve(chain, loan)
    repay_all(chain, LUCIA, loan)
    wait(chain, DELAY)  # their registration is older than recovery_delay
    return chain


def test_the_old_key_hands_membership_trust_and_history_to_the_new_one() -> None:
    chain = _settled_chain()
    state = chain.state()
    record = members_api.member(state, LUCIA.public)
    assert record is not None and trust_api.trust_of(state, 0, LUCIA.public) == 200
    count = members_api.member_count(state)

    receipt = ok(chain, LUCIA, "members", "rotate_key", new=NEW.public)
    rotated = [e for e in receipt.events if e.name == "KeyRotated"]
    assert [e.attrs for e in rotated] == [
        {"old": LUCIA.public, "new": NEW.public, "by": LUCIA.public}
    ]
    state = chain.state()
    assert members_api.member(state, NEW.public) == record  # same bioregion, attestation
    assert not members_api.is_member(state, LUCIA.public)
    assert members_api.holder_of(state, record["attestation"]) == NEW.public
    assert members_api.member_count(state) == count
    assert NEW.public in members_api.members(state, "localnet")
    assert trust_api.trust_of(state, 0, NEW.public) == 200  # T3's gain followed her
    assert trust_api.trust_of(state, 0, LUCIA.public) == 0  # a bare key has none (T1)
    assert loans_api.history(state, NEW.public) == (1, 0)
    assert loans_api.history(state, LUCIA.public) == (0, 0)

    # The new key borrows on her trust: 200 alone.
    ok(chain, FERDIE, "balances", "transfer", dest=NEW.public, amount=10**6)
    alone = submit_valid(chain, [NEW], 200)
    assert trust_api.in_use(chain.state(), 0, NEW.public) == 200
    approve(chain, alone)


def test_a_funders_seat_follows_the_new_key_but_not_away_from_a_removal_vote() -> None:
    chain = fund_zine()
    wait(chain, DELAY)
    seat = funds_api.funder(chain.state(), 0, BOB.public)
    ok(chain, BOB, "members", "rotate_key", new=NEW.public)
    state = chain.state()
    assert funds_api.funder(state, 0, NEW.public) == seat  # joined, paid: the same seat
    assert not funds_api.is_funder(state, 0, BOB.public)
    assert NEW.public in funds_api.funders(state, 0)
    assert funds_api.get_fund(state, 0).funders == 5

    # A vote to remove ALICE is pending (F6): her seat cannot slip away to a new key.
    ok(chain, NEW, "funds", "vote_removal", fund=0, target=ALICE.public)
    raw = chain.sign(ALICE, "members", "rotate_key", {"new": OTHER.public})
    assert_noop(chain, ALICE, raw, "CannotMove", "G1")


def test_a_key_changes_at_most_once_per_recovery_delay() -> None:
    chain = fund_zine()  # Lucía was registered at genesis, moments ago
    raw = chain.sign(LUCIA, "members", "rotate_key", {"new": NEW.public})
    assert_noop(chain, LUCIA, raw, "TooSoon", "G1")
    wait(chain, DELAY)
    ok(chain, LUCIA, "members", "rotate_key", new=NEW.public)
    ok(chain, FERDIE, "balances", "transfer", dest=NEW.public, amount=10**6)
    again = chain.sign(NEW, "members", "rotate_key", {"new": OTHER.public})
    assert_noop(chain, NEW, again, "TooSoon", "G1")
    wait(chain, DELAY)
    ok(chain, NEW, "members", "rotate_key", new=OTHER.public)
    assert members_api.is_member(chain.state(), OTHER.public)


def test_refused_while_trust_is_in_use_and_for_a_taken_or_same_key() -> None:
    chain = fund_zine()
    wait(chain, DELAY)
    loan = submit_valid(chain, [LUCIA, ANA, BEN])
    raw = chain.sign(LUCIA, "members", "rotate_key", {"new": NEW.public})
    assert_noop(chain, LUCIA, raw, "CannotMove", "G1")  # her stake is in the request (T5)
    approve(chain, loan)
    raw = chain.sign(LUCIA, "members", "rotate_key", {"new": NEW.public})
    assert_noop(chain, LUCIA, raw, "CannotMove", "G1")  # and then in the loan
    repay_all(chain, LUCIA, loan)
    taken = chain.sign(LUCIA, "members", "rotate_key", {"new": ANA.public})
    assert_noop(chain, LUCIA, taken, "KeyTaken", "G1")
    same = chain.sign(LUCIA, "members", "rotate_key", {"new": LUCIA.public})
    assert_noop(chain, LUCIA, same, "SameKey", "G1")
    ok(chain, LUCIA, "members", "rotate_key", new=NEW.public)


def test_a_bare_key_cannot_rotate() -> None:
    chain = TestChain()
    ok(chain, FERDIE, "balances", "transfer", dest=NEW.public, amount=10**6)
    raw = chain.sign(NEW, "members", "rotate_key", {"new": OTHER.public})
    assert_noop(chain, NEW, raw, "NotMember", "G1")


def test_refused_in_a_round_the_member_voted_in() -> None:
    chain = TestChain()
    wait(chain, DELAY)
    call = encode_call(
        "system", "set_param", {"section": "funds", "name": "min_funders", "value": 4}
    )
    ok(chain, ALICE, "governance", "propose", call=call)
    voting = current_round(chain.state())["index"] + 1
    while current_round(chain.state())["index"] < voting:
        wait(chain, 5)
    ok(chain, BOB, "governance", "vote", proposal=0, votes=2)
    raw = chain.sign(BOB, "members", "rotate_key", {"new": NEW.public})
    assert_noop(chain, BOB, raw, "CannotMove", "G1")
    while current_round(chain.state())["index"] == voting:
        wait(chain, 5)
    ok(chain, BOB, "members", "rotate_key", new=NEW.public)


def test_a_registrar_recovers_a_lost_key_unless_the_key_cancels() -> None:
    chain = _settled_chain()
    raw = chain.sign(BOB, "members", "start_recovery", {"member": LUCIA.public, "new": NEW.public})
    assert_noop(chain, BOB, raw, "NotRegistrar", "G1")
    receipt = ok(chain, ALICE, "members", "start_recovery", member=LUCIA.public, new=NEW.public)
    (started,) = [e for e in receipt.events if e.name == "RecoveryStarted"]
    assert started.attrs["completes"] == chain.time_ms // 1000 + DELAY
    # The key was not lost: Lucía cancels; nothing can be finished.
    pending = chain.sign(LUCIA, "members", "rotate_key", {"new": OTHER.public})
    assert_noop(chain, LUCIA, pending, "RecoveryPending", "G1")
    ok(chain, LUCIA, "members", "cancel_recovery")
    finish = chain.sign(FERDIE, "members", "finish_recovery", {"member": LUCIA.public})
    assert_noop(chain, FERDIE, finish, "NoRecovery", "G1")

    # Lost for real this time: after recovery_delay anyone completes it.
    ok(chain, ALICE, "members", "start_recovery", member=LUCIA.public, new=NEW.public)
    early = chain.sign(FERDIE, "members", "finish_recovery", {"member": LUCIA.public})
    assert_noop(chain, FERDIE, early, "TooSoon", "G1")
    wait(chain, DELAY)
    receipt = ok(chain, FERDIE, "members", "finish_recovery", member=LUCIA.public)
    (rotated,) = [e for e in receipt.events if e.name == "KeyRotated"]
    assert rotated.attrs == {"old": LUCIA.public, "new": NEW.public, "by": ALICE.public}
    state = chain.state()
    assert members_api.is_member(state, NEW.public)
    assert trust_api.trust_of(state, 0, NEW.public) == 200
    assert loans_api.history(state, NEW.public) == (1, 0)


def test_a_withdrawn_draw_is_not_rerolled_with_a_new_key() -> None:
    chain = fund_zine()
    wait(chain, DELAY)
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])  # its reviewers are drawn
    ok(chain, LUCIA, "credit", "withdraw", request=request_id)
    until: int = COOLDOWNS.get(chain.state(), LUCIA.public + u32(0))
    assert until > chain.time_ms // 1000
    ok(chain, LUCIA, "members", "rotate_key", new=NEW.public)
    assert COOLDOWNS.get(chain.state(), NEW.public + u32(0)) == until  # C6 follows her
    ok(chain, FERDIE, "balances", "transfer", dest=NEW.public, amount=10**6)
    raw = chain.sign(NEW, "credit", "submit", request_args([NEW, ANA, BEN]))
    assert_noop(chain, NEW, raw, "ResubmitCooldown", "C6")


def test_the_funds_of_index_check_catches_a_missing_entry() -> None:
    from ledger.overlay import MemoryState, StateOverlay
    from pallets import construct
    from pallets.trust.hooks import try_state
    from pallets.trust.storage import TRUST

    state = StateOverlay(MemoryState())
    TRUST.put(state, u32(0) + LUCIA.public, 5)
    problems = try_state(construct.reader(state))
    assert any(p.startswith("G1:") and "funds_of" in p for p in problems), problems


def test_a_party_with_a_stake_of_nothing_cannot_slip_a_write_off() -> None:
    """Review finding: a stake of 0 still names its key; the key waits until the credit ends."""
    chain = fund_zine()
    wait(chain, DELAY)
    loan = submit_valid(chain, [LUCIA, ANA, BEN], 1)  # shares of 1: two borrowers bring 0
    stakes = dict((a, s) for a, s in request(chain, loan)["reserved"])
    zero = next(k for k in (LUCIA, ANA, BEN) if stakes[k.public] == 0)
    assert trust_api.named(chain.state(), zero.public) == 1
    raw = chain.sign(zero, "members", "rotate_key", {"new": NEW.public})
    assert_noop(chain, zero, raw, "CannotMove", "G1")
    approve(chain, loan)  # the loan names it now
    raw = chain.sign(zero, "members", "rotate_key", {"new": NEW.public})
    assert_noop(chain, zero, raw, "CannotMove", "G1")
    repay_all(chain, LUCIA, loan)
    assert trust_api.named(chain.state(), zero.public) == 0
    ok(chain, zero, "members", "rotate_key", new=NEW.public)


def test_a_member_named_in_open_credit_is_revoked_only_when_it_ends() -> None:
    """Review finding: revoking would take away the initial trust that covers the stakes (I6)."""
    chain = fund_zine()
    request_id = submit_valid(chain, [LUCIA, ANA, BEN])
    raw = chain.sign(ALICE, "members", "revoke", {"member": LUCIA.public})
    assert_noop(chain, ALICE, raw, "CannotMove", "G1")
    ok(chain, LUCIA, "credit", "withdraw", request=request_id)
    ok(chain, ALICE, "members", "revoke", member=LUCIA.public)
    assert trust_api.trust_of(chain.state(), 0, LUCIA.public) == 0  # a bare key now (T1)


def test_a_new_recovery_replaces_a_pending_one_and_module_accounts_are_refused() -> None:
    chain = _settled_chain()
    ok(chain, ALICE, "members", "start_recovery", member=LUCIA.public, new=NEW.public)
    ok(chain, FERDIE, "balances", "transfer", dest=NEW.public, amount=10**6)
    register(chain, NEW)  # the pending recovery's key became someone's membership
    ok(chain, ALICE, "members", "start_recovery", member=LUCIA.public, new=OTHER.public)
    wait(chain, DELAY)
    ok(chain, FERDIE, "members", "finish_recovery", member=LUCIA.public)
    assert members_api.is_member(chain.state(), OTHER.public)
    wait(chain, DELAY)
    pool = module_account("commons")
    ok(chain, FERDIE, "balances", "transfer", dest=OTHER.public, amount=10**6)
    raw = chain.sign(OTHER, "members", "rotate_key", {"new": pool})
    assert_noop(chain, OTHER, raw, "KeyTaken", "G1")
