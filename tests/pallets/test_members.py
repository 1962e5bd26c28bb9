"""The members pallet (G1): registrars set by governance, one person one membership.

Governance-origin calls run through the ``sudo`` stand-in of
tests/pallets/health_helpers.py (the governance pallet's own tests enact
them by vote); every block's invariants are checked by ``TestChain``.
"""

from __future__ import annotations

import pytest

from genesis.build import GenesisError
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.overlay import StateOverlay
from pallets.executive.executor import InvalidBlock
from pallets.governance.rounds import current_round
from pallets.members import api
from pallets.members.hooks import try_state
from pallets.members.storage import COUNT, REVOKED
from tests.pallets.credit_helpers import ok
from tests.pallets.health_helpers import chain as sudo_chain
from tests.pallets.health_helpers import govern, govern_ok
from tests.pallets.helpers import ALICE, BOB, CHARLIE, TestChain, assert_noop
from tests.pallets.helpers import test_doc as make_doc

LUCIA, MARCO = (Keypair.from_seed(blake2b256(b"members-test/" + n)) for n in (b"lucia", b"marco"))
PAPERS = blake2b256(b"lucia's attestation, checked at the assembly")


def _register(chain: TestChain, registrar: Keypair, member: bytes, attestation: bytes) -> bytes:
    args = {"member": member, "bioregion": "localnet", "attestation": attestation}
    return chain.sign(registrar, "members", "register", args)


def test_localnet_genesis_makes_the_dev_accounts_members_and_alice_a_registrar() -> None:
    state = TestChain(make_doc(people=False)).state()
    assert api.member_count(state) == 6
    assert api.is_member(state, BOB.public) and not api.is_member(state, LUCIA.public)
    assert api.member_bioregion(state, CHARLIE.public) == "localnet"
    assert api.member_bioregion(state, LUCIA.public) is None
    assert api.registrars(state) == [("localnet", ALICE.public)]
    assert len(api.members(state, "localnet")) == 6 == len(api.members(state))
    record = api.member(state, ALICE.public)
    assert record is not None and record["registrar"] is None  # listed in genesis


def test_a_registrar_registers_a_member_on_an_attestation_hash() -> None:
    chain = TestChain(make_doc(people=False))
    receipt = ok(
        chain,
        ALICE,
        "members",
        "register",
        member=LUCIA.public,
        bioregion="localnet",
        attestation=PAPERS,
    )
    assert [e.name for e in receipt.events] == ["MemberRegistered"]
    state = chain.state()
    assert api.is_member(state, LUCIA.public) and api.member_count(state) == 7
    assert api.holder_of(state, PAPERS) == LUCIA.public
    record = api.member(state, LUCIA.public)
    assert record == {
        "bioregion": "localnet",
        "attestation": PAPERS,
        "registered": chain.time_ms // 1000,
        "registrar": ALICE.public,
    }


def test_one_membership_per_account_and_per_attestation() -> None:
    chain = TestChain(make_doc(people=False))
    chain.execute([_register(chain, ALICE, LUCIA.public, PAPERS)])
    again = _register(chain, ALICE, LUCIA.public, blake2b256(b"other papers"))
    assert_noop(chain, ALICE, again, "AlreadyMember", "G1")
    same_person = _register(chain, ALICE, MARCO.public, PAPERS)
    assert_noop(chain, ALICE, same_person, "AttestationUsed", "G1")


def test_only_a_registrar_of_a_registered_bioregion_registers() -> None:
    chain = TestChain(make_doc(people=False))
    assert_noop(chain, BOB, _register(chain, BOB, LUCIA.public, PAPERS), "NotRegistrar", "G1")
    args = {"member": LUCIA.public, "bioregion": "atlantis", "attestation": PAPERS}
    raw = chain.sign(ALICE, "members", "register", args)
    assert_noop(chain, ALICE, raw, "UnknownBioregion", "G1")
    bad = chain.sign(ALICE, "members", "register", {**args, "bioregion": "Not An Id"})
    with pytest.raises(InvalidBlock, match="bioregion: 'Not An Id' is not a bioregion id"):
        chain.runtime.execute(chain.root, chain.next_env(), [bad])


def test_revoke_by_a_registrar_of_the_members_bioregion_frees_the_attestation() -> None:
    chain = TestChain(make_doc(people=False))
    chain.execute([_register(chain, ALICE, LUCIA.public, PAPERS)])
    raw = chain.sign(BOB, "members", "revoke", {"member": LUCIA.public})
    assert_noop(chain, BOB, raw, "NotRegistrar", "G1")
    receipt = ok(chain, ALICE, "members", "revoke", member=LUCIA.public)
    assert [e.name for e in receipt.events] == ["MemberRevoked"]
    state = chain.state()
    assert not api.is_member(state, LUCIA.public) and api.member_count(state) == 6
    assert api.holder_of(state, PAPERS) is None
    raw = chain.sign(ALICE, "members", "revoke", {"member": LUCIA.public})
    assert_noop(chain, ALICE, raw, "NotMember", "G1")
    # A revocation by mistake is undone at once, on the same account.
    chain.execute([_register(chain, ALICE, LUCIA.public, PAPERS)])
    assert api.holder_of(chain.state(), PAPERS) == LUCIA.public
    assert REVOKED.get(chain.state(), PAPERS) is None


def test_a_revoked_attestation_backs_another_account_only_from_the_next_round() -> None:
    """One person, one budget per round (G1, G2): votes and spending stay with the old account."""
    chain = TestChain(make_doc(people=False))
    chain.execute([_register(chain, ALICE, LUCIA.public, PAPERS)])
    ok(chain, ALICE, "members", "revoke", member=LUCIA.public)
    this_round = current_round(chain.state())["index"]
    same_person = _register(chain, ALICE, MARCO.public, PAPERS)
    receipt = assert_noop(chain, ALICE, same_person, "RevokedThisRound", "G1")
    assert receipt.error is not None and f"from round {this_round + 1}" in receipt.error.message
    # Once the round is over the attestation backs Marco's account.
    ends = current_round(chain.state())["ends"]
    chain.execute([], seconds=ends - chain.time_ms // 1000)
    assert current_round(chain.state())["index"] == this_round + 1
    ok(
        chain,
        ALICE,
        "members",
        "register",
        member=MARCO.public,
        bioregion="localnet",
        attestation=PAPERS,
    )
    assert api.holder_of(chain.state(), PAPERS) == MARCO.public
    assert REVOKED.get(chain.state(), PAPERS) is None


def test_governance_adds_and_removes_registrars() -> None:
    chain = sudo_chain()
    receipt = govern_ok(
        chain, "members", "add_registrar", bioregion="localnet", registrar=BOB.public
    )
    assert [e.name for e in receipt.events] == ["RegistrarAdded"]
    assert api.registrars(chain.state(), "localnet") == sorted(
        [("localnet", ALICE.public), ("localnet", BOB.public)], key=lambda r: r[1]
    )
    ok(
        chain,
        BOB,
        "members",
        "register",
        member=LUCIA.public,
        bioregion="localnet",
        attestation=PAPERS,
    )
    again = govern(chain, "members", "add_registrar", bioregion="localnet", registrar=BOB.public)
    assert again.error is not None and again.error.code == "AlreadyRegistrar"
    unknown = govern(chain, "members", "add_registrar", bioregion="atlantis", registrar=BOB.public)
    assert unknown.error is not None and (unknown.error.code, unknown.error.rule) == (
        "UnknownBioregion",
        "G1",
    )
    govern_ok(chain, "members", "remove_registrar", bioregion="localnet", registrar=BOB.public)
    assert not api.is_registrar(chain.state(), "localnet", BOB.public)
    assert api.is_member(chain.state(), LUCIA.public)  # members stay when a registrar goes
    gone = govern(chain, "members", "remove_registrar", bioregion="localnet", registrar=BOB.public)
    assert gone.error is not None and gone.error.code == "NotRegistrar"
    raw = chain.sign(
        BOB,
        "members",
        "register",
        {"member": MARCO.public, "bioregion": "localnet", "attestation": blake2b256(b"m")},
    )
    assert_noop(chain, BOB, raw, "NotRegistrar", "G1")


def test_registrar_calls_need_the_governance_origin() -> None:
    chain = TestChain(make_doc(people=False))
    raw = chain.sign(
        BOB, "members", "add_registrar", {"bioregion": "localnet", "registrar": BOB.public}
    )
    with pytest.raises(InvalidBlock, match="bad origin"):
        chain.runtime.execute(chain.root, chain.next_env(), [raw])


def test_genesis_refuses_members_of_unknown_bioregions_and_repeats() -> None:
    base = make_doc().to_json_dict()
    member = base["members"][0]
    with pytest.raises(GenesisError, match=r"members\.0\.bioregion is not in bioregions"):
        make_doc(members=[{**member, "bioregion": "atlantis"}])
    twin = {**base["members"][1], "attestation": member["attestation"]}
    with pytest.raises(GenesisError, match=r"members\.1\.attestation repeats members\.0"):
        make_doc(members=[member, twin])
    with pytest.raises(GenesisError, match=r"registrars\.0\.bioregion is not in bioregions"):
        make_doc(registrars=[{"bioregion": "atlantis", "account": encode_address(BOB.public)}])
    doc = make_doc(members=[], registrars=[])
    assert api.member_count(TestChain(doc).state()) == 0


def test_try_state_reports_a_count_that_disagrees_with_the_records() -> None:
    chain = TestChain(make_doc(people=False))
    assert try_state(chain.state()) == []
    broken = StateOverlay(chain.state())
    COUNT.put(broken, 9)
    problems = try_state(broken)
    assert problems and problems[0].startswith("G1: 9 members counted, 6 records")
