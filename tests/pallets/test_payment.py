"""The payment pallet: fees (P1), the community allowance (P2), dust reaping (P3).

These run the full runtime (``TestChain(fees=True)``), as a node does; the
invariants (I1: the fees land in the commons pool, the supply is unchanged)
are checked after every block by ``TestChain``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.crypto import Keypair, blake2b256
from pallets import construct
from pallets.balances.currency import COMMONS, module_account
from pallets.balances.storage import FREE, TOTAL_ISSUANCE
from pallets.executive.executor import BlockResult, InvalidBlock
from pallets.executive.validate import InvalidExtrinsic
from pallets.payment import fees
from pallets.payment.storage import ALLOWANCE_USED, DUST_COLLECTED, FEES_COLLECTED
from pallets.support.params import param
from pallets.support.payment import CANNOT_PAY, CannotPay
from pallets.system.storage import NONCE
from tests.pallets.helpers import ALICE, BOB, CHARLIE, DAVE, EVE, TestChain
from tests.pallets.helpers import test_doc as doc_with

POOL = module_account(COMMONS)
RUNTIME = construct.registry()
DECLARE = RUNTIME.call("credit", "declare_conflict")
TRANSFER = RUNTIME.call("balances", "transfer")
REMARK = RUNTIME.call("system", "remark")
assert DECLARE is not None and TRANSFER is not None and REMARK is not None
# Weights in microseconds (runtime/weights.py) from the calls' declared operations.
W_TRANSFER = RUNTIME.weights.weight(TRANSFER, 9)
W_DECLARE = RUNTIME.weights.weight(DECLARE, 12)
W_REMARK = RUNTIME.weights.weight(REMARK, 1)


def expected_fee(chain: TestChain, raw: bytes, weight: int) -> int:
    state = chain.state()
    return (
        param(state, "payment", "base_fee")
        + len(raw) * param(state, "payment", "byte_fee")
        + weight * param(state, "payment", "weight_fee")
    )


def build(chain: TestChain, txs: list[bytes], seconds: int = 1) -> BlockResult:
    """Pack ``txs`` as a proposer does (skipping the ones that cannot pay) and commit."""
    result = chain.runtime.build_block(chain.root, chain.next_env(seconds), txs)
    chain.apply(result)  # checks every invariant
    return result


def conflict(chain: TestChain, key: Keypair) -> bytes:
    """A community call (C7) that fails: there is no request 999."""
    return chain.sign(key, "credit", "declare_conflict", {"request": 999, "reason_hash": bytes(32)})


def test_p1_the_fee_is_base_plus_length_plus_weight_and_goes_to_the_pool() -> None:
    chain = TestChain(fees=True)
    state = chain.state()
    alice, pool, supply = (
        FREE.get(state, ALICE.public),
        FREE.get(state, POOL),
        TOTAL_ISSUANCE.get(state),
    )
    raw = chain.transfer(ALICE, BOB.public, 5_000)
    fee = expected_fee(chain, raw, W_TRANSFER)
    quote = fees.PAYMENT.quote(
        state, chain.time_ms // 1000 + 1, ALICE.public, TRANSFER, W_TRANSFER, len(raw)
    )
    assert quote.due == quote.inclusion_fee == fee > 0 and not quote.free
    (receipt,) = chain.execute([raw]).receipts
    assert receipt.success
    assert [(e.pallet, e.name) for e in receipt.events] == [
        ("payment", "FeePaid"),
        ("balances", "Transferred"),
    ]
    assert receipt.events[0].attrs == {"who": ALICE.public, "fee": fee, "allowance": 0}
    state = chain.state()
    assert FREE.get(state, ALICE.public) == alice - 5_000 - fee
    assert FREE.get(state, POOL) == pool + fee
    assert FEES_COLLECTED.get(state) == fee
    assert TOTAL_ISSUANCE.get(state) == supply


def test_p1_a_failed_call_still_pays_and_moves_the_nonce() -> None:
    chain = TestChain(fees=True)
    alice = FREE.get(chain.state(), ALICE.public)
    raw = chain.transfer(ALICE, BOB.public, alice)  # everything: nothing is left for the fee
    fee = expected_fee(chain, raw, W_TRANSFER)
    (receipt,) = chain.execute([raw]).receipts
    assert not receipt.success and receipt.error is not None
    assert receipt.error.code == "InsufficientBalance"
    assert [e.name for e in receipt.events] == ["FeePaid"]
    state = chain.state()
    assert FREE.get(state, ALICE.public) == alice - fee
    assert NONCE.get(state, ALICE.public) == 1


def test_p1_a_signer_who_cannot_pay_is_never_included() -> None:
    chain = TestChain(fees=True)
    pauper = Keypair.from_seed(blake2b256(b"pauper"))
    raw = chain.transfer(pauper, BOB.public, 1)
    with pytest.raises(InvalidBlock, match="cannot pay fee"):
        chain.runtime.execute(chain.root, chain.next_env(), [raw])
    result = build(chain, [raw, chain.transfer(ALICE, BOB.public, 5_000)])
    assert len(result.extrinsics) == 1
    ((rejected, error),) = result.rejected
    assert rejected == raw and error.kind == CANNOT_PAY and not error.permanent
    # Nothing of the pauper is written: no nonce, no balance.
    assert chain.state().get(NONCE.key(pauper.public)) is None
    assert chain.state().get(FREE.key(pauper.public)) is None


def test_p1_fees_are_governance_parameters() -> None:
    doc = doc_with(params={"payment": {"base_fee": 0, "byte_fee": 0, "weight_fee": 7}})
    chain = TestChain(doc, fees=True)
    alice = FREE.get(chain.state(), ALICE.public)
    chain.execute([chain.transfer(ALICE, BOB.public, 5_000)])
    assert FREE.get(chain.state(), ALICE.public) == alice - 5_000 - 7 * W_TRANSFER


def test_p2_a_member_takes_part_for_free_until_the_allowance_is_spent() -> None:
    allowance = 2 * W_DECLARE + W_DECLARE // 2  # two fit, the third pays
    chain = TestChain(doc_with(params={"payment": {"allowance_weight": allowance}}), fees=True)
    bob = FREE.get(chain.state(), BOB.public)
    first = chain.execute([conflict(chain, BOB)]).receipts[0]
    assert not first.success  # the call fails (no such request) ...
    assert first.events[0].attrs == {
        "who": BOB.public,
        "fee": 0,
        "allowance": W_DECLARE,
    }  # ... for free
    chain.execute([conflict(chain, BOB)])
    assert FREE.get(chain.state(), BOB.public) == bob
    raw = conflict(chain, BOB)
    fee = expected_fee(chain, raw, W_DECLARE)
    third = chain.execute([raw]).receipts[0]
    assert third.events[0].attrs == {"who": BOB.public, "fee": fee, "allowance": 0}
    assert FREE.get(chain.state(), BOB.public) == bob - fee
    assert ALLOWANCE_USED.get(chain.state(), BOB.public)[1] == 2 * W_DECLARE


def test_p2_the_allowance_starts_again_each_epoch() -> None:
    chain = TestChain(doc_with(params={"payment": {"allowance_weight": W_DECLARE}}), fees=True)
    epoch = param(chain.state(), "system", "epoch_length")
    bob = FREE.get(chain.state(), BOB.public)
    chain.execute([conflict(chain, BOB)])
    assert fees.allowance_left(chain.state(), BOB.public, 0) == 0
    chain.execute([conflict(chain, BOB)], seconds=epoch)  # the next epoch: free again
    assert FREE.get(chain.state(), BOB.public) == bob
    usage = ALLOWANCE_USED.get(chain.state(), BOB.public)
    assert usage == [1, W_DECLARE]


def test_p2_only_members_and_only_community_calls_are_free() -> None:
    chain = TestChain(fees=True)
    outsider = Keypair.from_seed(blake2b256(b"outsider"))
    chain.execute([chain.transfer(ALICE, outsider.public, 1_000_000)])
    before = FREE.get(chain.state(), outsider.public)
    raw = conflict(chain, outsider)
    (receipt,) = chain.execute([raw]).receipts
    assert receipt.events[0].attrs["fee"] == expected_fee(chain, raw, W_DECLARE)
    assert FREE.get(chain.state(), outsider.public) < before
    # A member's transfer is not a community call: it pays.
    (receipt,) = chain.execute([chain.transfer(BOB, CHARLIE.public, 5_000)]).receipts
    assert receipt.events[0].attrs["fee"] > 0
    # An unfunded non-member cannot even make a community call.
    pauper = Keypair.from_seed(blake2b256(b"pauper"))
    result = build(chain, [conflict(chain, pauper)])
    assert result.extrinsics == () and result.rejected[0][1].kind == CANNOT_PAY


def test_p3_a_fee_that_leaves_dust_reaps_a_non_member() -> None:
    chain = TestChain(fees=True)
    deposit = param(chain.state(), "balances", "existential_deposit")
    guest = Keypair.from_seed(blake2b256(b"guest"))
    probe = chain.sign(guest, "system", "remark", {"text": "hi"}, nonce=0)
    fee = expected_fee(chain, probe, W_REMARK)
    chain.execute([chain.transfer(ALICE, guest.public, fee + deposit - 1)])
    chain.nonces.clear()
    pool = FREE.get(chain.state(), POOL)
    (receipt,) = chain.execute([probe]).receipts
    assert [e.name for e in receipt.events][:2] == ["FeePaid", "DustReaped"]
    state = chain.state()
    assert state.get(FREE.key(guest.public)) is None  # gone from the state
    assert FREE.get(state, POOL) == pool + fee + deposit - 1
    assert DUST_COLLECTED.get(state) == deposit - 1
    assert NONCE.get(state, guest.public) == 1  # kept: no old extrinsic can be replayed


def test_p3_a_member_below_the_deposit_is_not_reaped() -> None:
    chain = TestChain(fees=True)
    deposit = param(chain.state(), "balances", "existential_deposit")
    dave = FREE.get(chain.state(), DAVE.public)
    remark = chain.sign(DAVE, "system", "remark", {"text": "hi"}, nonce=1)
    keep = expected_fee(chain, remark, W_REMARK) + deposit // 2  # at least the deposit
    # The fee is taken before the call: Dave sends all but ``keep``.
    probe = chain.transfer(DAVE, EVE.public, dave, nonce=0)
    send = chain.transfer(
        DAVE, EVE.public, dave - expected_fee(chain, probe, W_TRANSFER) - keep, nonce=0
    )
    assert len(send) == len(probe)
    assert chain.execute([send]).receipts[0].success
    assert FREE.get(chain.state(), DAVE.public) == keep
    # The remark's fee takes Dave below the deposit: a registered person (G1) stays.
    (receipt,) = chain.execute([remark]).receipts
    assert [e.name for e in receipt.events] == ["FeePaid", "Remarked"]
    assert FREE.get(chain.state(), DAVE.public) == deposit // 2


def test_quote_refuses_a_signer_with_pending_fees_beyond_the_balance() -> None:
    chain = TestChain(fees=True)
    guest = Keypair.from_seed(blake2b256(b"guest"))
    chain.execute([chain.transfer(ALICE, guest.public, 1_000_000)])
    state, now = chain.state(), chain.time_ms // 1000 + 1
    quote = fees.PAYMENT.quote(state, now, guest.public, TRANSFER, W_TRANSFER, 200)
    assert quote.due < 1_000_000
    with pytest.raises(CannotPay, match="pending"):
        fees.PAYMENT.quote(
            state,
            now,
            guest.public,
            TRANSFER,
            W_TRANSFER,
            200,
            reserved_fees=1_000_000 - quote.due + 1,
        )


# -- property: random transfers and community calls with fees keep I1 and I2

KEYS = [ALICE, BOB, CHARLIE, Keypair.from_seed(blake2b256(b"poor"))]
actions = st.lists(
    st.tuples(
        st.integers(0, len(KEYS) - 1),
        st.integers(0, len(KEYS) - 1),
        st.one_of(st.just(0), st.integers(1, 10**6), st.integers(10**12, 2**64 - 1)),
        st.booleans(),  # a community call instead of a transfer
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(actions, min_size=1, max_size=3))
def test_i1_and_i2_hold_with_fees(blocks: list[list[tuple[int, int, int, bool]]]) -> None:
    chain = TestChain(doc_with(params={"payment": {"allowance_weight": 2 * W_DECLARE}}), fees=True)
    supply = TOTAL_ISSUANCE.get(chain.state())
    paid = 0
    for block in blocks:
        txs = [
            conflict(chain, KEYS[s]) if community else chain.transfer(KEYS[s], KEYS[r].public, n)
            for s, r, n, community in block
        ]
        pool = FREE.get(chain.state(), POOL)
        result = build(chain, txs)  # every invariant checked after the block
        fees_in_block = sum(
            e.attrs["fee"] for r in result.receipts for e in r.events if e.name == "FeePaid"
        )
        dust = sum(
            e.attrs["amount"] for r in result.receipts for e in r.events if e.name == "DustReaped"
        )
        assert FREE.get(chain.state(), POOL) == pool + fees_in_block + dust
        assert all(isinstance(err, InvalidExtrinsic) for _, err in result.rejected)
        paid += fees_in_block
    assert TOTAL_ISSUANCE.get(chain.state()) == supply
    assert FEES_COLLECTED.get(chain.state()) == paid
