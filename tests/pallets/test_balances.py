"""The balances pallet: transfers, failure paths (assert_noop), module accounts, I1/I2."""

from __future__ import annotations

import pytest

from ledger import codec
from ledger.crypto import blake2b256
from ledger.overlay import MemoryState, StateOverlay
from pallets import construct
from pallets.balances import currency
from pallets.balances.hooks import try_state
from pallets.balances.storage import FREE, MODULE_ACCOUNTS, TOTAL_ISSUANCE
from pallets.support.context import BlockInfo, CallContext
from pallets.support.declare import DispatchFailure
from pallets.support.params import param
from pallets.system.storage import NONCE
from tests.pallets.helpers import ALICE, BOB, CHARLIE, TestChain, assert_noop


def test_transfer_moves_the_amount_and_emits_an_event() -> None:
    chain = TestChain()
    state = chain.state()
    alice, bob = FREE.get(state, ALICE.public), FREE.get(state, BOB.public)
    result = chain.execute([chain.transfer(ALICE, BOB.public, 1234)])
    (receipt,) = result.receipts
    assert receipt.success and receipt.error is None
    (event,) = receipt.events
    assert (event.pallet, event.name) == ("balances", "Transferred")
    assert event.attrs == {"sender": ALICE.public, "dest": BOB.public, "amount": 1234}
    state = chain.state()
    assert FREE.get(state, ALICE.public) == alice - 1234
    assert FREE.get(state, BOB.public) == bob + 1234
    assert NONCE.get(state, ALICE.public) == 1


def test_transfer_to_a_new_account_creates_it_and_emptying_one_removes_it() -> None:
    chain = TestChain()
    newcomer = blake2b256(b"newcomer")
    deposit = param(chain.state(), "balances", "existential_deposit")
    chain.execute([chain.transfer(ALICE, newcomer, deposit)])
    assert FREE.get(chain.state(), newcomer) == deposit
    everything = FREE.get(chain.state(), BOB.public)
    chain.execute([chain.transfer(BOB, CHARLIE.public, everything)])
    # A zero balance is stored as absent: the key is gone from the trie.
    assert chain.state().get(FREE.key(BOB.public)) is None


def test_p3_a_transfer_may_not_create_dust_on_either_side() -> None:
    chain = TestChain()
    deposit = param(chain.state(), "balances", "existential_deposit")
    newcomer = blake2b256(b"newcomer")
    receipt = assert_noop(
        chain, ALICE, chain.transfer(ALICE, newcomer, deposit - 1), "BelowExistentialDeposit", "P3"
    )
    assert receipt.error is not None and str(deposit) in receipt.error.message
    balance = FREE.get(chain.state(), BOB.public)
    assert_noop(
        chain, BOB, chain.transfer(BOB, CHARLIE.public, balance - 1), "WouldLeaveDust", "P3"
    )
    # Exactly the deposit on both sides, or all of it, is fine.
    chain.execute([chain.transfer(BOB, CHARLIE.public, balance - deposit)])
    assert FREE.get(chain.state(), BOB.public) == deposit
    chain.execute([chain.transfer(BOB, CHARLIE.public, deposit)])
    assert chain.state().get(FREE.key(BOB.public)) is None


def test_p3_an_existing_account_may_receive_less_than_the_deposit() -> None:
    chain = TestChain()
    before = FREE.get(chain.state(), BOB.public)
    chain.execute([chain.transfer(ALICE, BOB.public, 1)])
    assert FREE.get(chain.state(), BOB.public) == before + 1


def test_self_transfer_keeps_the_balance() -> None:
    chain = TestChain()
    before = FREE.get(chain.state(), ALICE.public)
    result = chain.execute([chain.transfer(ALICE, ALICE.public, 5)])
    assert result.receipts[0].success
    assert FREE.get(chain.state(), ALICE.public) == before


def test_zero_amount_is_a_noop() -> None:
    chain = TestChain()
    assert_noop(chain, ALICE, chain.transfer(ALICE, BOB.public, 0), "ZeroAmount", "B1")


def test_insufficient_balance_is_a_noop() -> None:
    chain = TestChain()
    balance = FREE.get(chain.state(), ALICE.public)
    receipt = assert_noop(
        chain, ALICE, chain.transfer(ALICE, BOB.public, balance + 1), "InsufficientBalance", "I2"
    )
    assert receipt.error is not None and str(balance) in receipt.error.message


def test_an_account_without_balance_cannot_pay() -> None:
    from ledger.crypto import Keypair

    pauper = Keypair.from_seed(blake2b256(b"pauper"))
    chain = TestChain()
    assert_noop(chain, pauper, chain.transfer(pauper, BOB.public, 1), "InsufficientBalance")
    assert NONCE.get(chain.state(), pauper.public) == 1


def _ctx() -> CallContext:
    info = BlockInfo(1, 0, bytes(32), bytes(32), bytes(32), bytes(32), 0)
    return CallContext(StateOverlay(MemoryState()), info, None, None, wiring=construct.WIRING)


def test_mint_and_burn_change_the_supply_by_exactly_the_amount() -> None:
    ctx = _ctx()
    pool = currency.register_module_account(ctx, currency.COMMONS)
    assert pool == blake2b256(b"credichain/module/commons")
    currency.mint(ctx, pool, 500)
    currency.mint(ctx, ALICE.public, 20)
    assert currency.total_issuance(ctx) == 520
    currency.burn(ctx, pool, 100)
    assert currency.total_issuance(ctx) == 420
    assert currency.free_balance(ctx, pool) == 400
    assert try_state(ctx) == []
    with pytest.raises(DispatchFailure, match="SupplyOverflow"):
        currency.mint(ctx, pool, 2**64 - 1)
    with pytest.raises(DispatchFailure, match="InsufficientBalance"):
        currency.burn(ctx, ALICE.public, 21)
    with pytest.raises(DispatchFailure, match="ZeroAmount"):
        currency.mint(ctx, pool, 0)
    assert [e.name for e in ctx.events] == ["Minted", "Minted", "Burned"]


def test_invariants_catch_a_broken_state() -> None:
    state = MemoryState()
    overlay = StateOverlay(state)
    FREE.put(overlay, ALICE.public, 10)
    TOTAL_ISSUANCE.put(overlay, 11)
    MODULE_ACCOUNTS.put(overlay, blake2b256(b"not derived"), "commons")
    # Broken values cannot be written through the typed accessor; forge them below it.
    overlay.put(FREE.key(BOB.public), codec.encode(0))
    overlay.put(FREE.key(CHARLIE.public), codec.encode(-5))
    problems = try_state(overlay)
    assert any(p.startswith("I1:") for p in problems)
    assert any(p.startswith("I2:") and CHARLIE.public.hex() in p for p in problems)
    assert any("zero balance" in p for p in problems)
    assert any("wrong id" in p for p in problems)


def test_genesis_commons_pool_is_a_module_account() -> None:
    chain = TestChain()
    pool = currency.module_account(currency.COMMONS)
    assert FREE.get(chain.state(), pool) == chain.doc.commons_pool
    assert MODULE_ACCOUNTS.get(chain.state(), pool) == "commons"
    supply = sum(b.amount for b in chain.doc.balances) + chain.doc.commons_pool
    assert TOTAL_ISSUANCE.get(chain.state()) == supply
