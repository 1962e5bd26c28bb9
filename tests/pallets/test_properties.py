"""Property tests: I1 and I2 under random transfers, determinism, failed-call traces."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.crypto import Keypair, blake2b256
from pallets.balances.storage import FREE, TOTAL_ISSUANCE
from pallets.system.storage import NONCE
from tests.pallets.helpers import ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE, TestChain

KEYS = [ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE, Keypair.from_seed(blake2b256(b"poor"))]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (sender index, receiver index, amount); amounts cover zero, small, and more than anyone has
transfers = st.lists(
    st.tuples(
        st.integers(0, len(KEYS) - 1),
        st.integers(0, len(KEYS) - 1),
        st.one_of(st.just(0), st.integers(1, 10**6), st.integers(10**12, 2**64 - 1)),
    ),
    min_size=1,
    max_size=30,
)


@SETTINGS
@given(blocks=st.lists(transfers, min_size=1, max_size=3))
def test_random_transfers_keep_i1_and_i2(blocks: list[list[tuple[int, int, int]]]) -> None:
    chain = TestChain()
    supply = TOTAL_ISSUANCE.get(chain.state())
    for block in blocks:
        txs = [chain.transfer(KEYS[s], KEYS[r].public, amount) for s, r, amount in block]
        result = chain.execute(txs)  # checks every invariant (I1, I2...) after the block
        assert len(result.receipts) == len(txs)
    state = chain.state()
    assert TOTAL_ISSUANCE.get(state) == supply
    assert (
        sum(FREE.get(state, k.public) for k in KEYS)
        + FREE.get(state, blake2b256(b"credichain/module/commons"))
        == supply
    )
    assert all(FREE.get(state, k.public) >= 0 for k in KEYS)


@SETTINGS
@given(block=transfers)
def test_the_same_block_from_the_same_state_gives_the_same_root(
    block: list[tuple[int, int, int]],
) -> None:
    chain = TestChain()
    txs = [chain.transfer(KEYS[s], KEYS[r].public, amount) for s, r, amount in block]
    env = chain.next_env()
    first = chain.runtime.execute(chain.root, env, txs)
    other = TestChain()  # an independent node from the same genesis
    second = other.runtime.execute(other.root, env, txs)
    assert first.state_root == second.state_root
    assert first.receipts == second.receipts
    assert first.events == second.events


@SETTINGS
@given(block=transfers, failing=st.integers(0, 29))
def test_a_failed_call_leaves_only_its_receipt_and_nonce(
    block: list[tuple[int, int, int]], failing: int
) -> None:
    """Inserting a failing transfer changes nothing but its signer's nonce."""
    chain = TestChain()
    poor = Keypair.from_seed(blake2b256(b"doomed"))  # no balance, not in the block
    txs = [chain.transfer(KEYS[s], KEYS[r].public, amount) for s, r, amount in block]
    env = chain.next_env()
    without = chain.runtime.execute(chain.root, env, txs)
    position = failing % (len(txs) + 1)
    doomed = chain.transfer(poor, ALICE.public, 1)
    with_failure = chain.runtime.execute(
        chain.root, env, [*txs[:position], doomed, *txs[position:]]
    )
    receipt = with_failure.receipts[position]
    assert not receipt.success and receipt.events == ()
    others = [r for i, r in enumerate(with_failure.receipts) if i != position]
    assert [r.success for r in others] == [r.success for r in without.receipts]
    nonce_key = NONCE.key(poor.public)
    expected = dict(without.changes)
    expected[nonce_key] = with_failure.changes[nonce_key]
    assert with_failure.changes == expected
