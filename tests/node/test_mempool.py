"""The mempool: admission codes, nonce order, limits, eviction, re-check, selection."""

from __future__ import annotations

import pytest

from ledger.crypto import Keypair, blake2b256
from node.daemon.mempool import (
    ALREADY_IMPORTED,
    BANNED,
    INVALID,
    POOL_FULL,
    Mempool,
    MempoolError,
    MempoolLimits,
)
from pallets.executive.validate import InvalidExtrinsic
from tests.pallets.helpers import ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE, TestChain


def pool_for(chain: TestChain, **limits: int) -> Mempool:
    return Mempool(chain.runtime.rules, chain.state(), chain.height, MempoolLimits(**limits))


def refused(pool: Mempool, raw: bytes) -> MempoolError:
    with pytest.raises(MempoolError) as info:
        pool.submit(raw)
    return info.value


def commit(chain: TestChain, pool: Mempool, extrinsics: list[bytes]) -> None:
    chain.execute(extrinsics)
    pool.on_block(chain.state(), chain.height, extrinsics)


def test_honest_extrinsics_are_admitted_and_selected_in_nonce_order() -> None:
    chain = TestChain()
    pool = pool_for(chain)
    txs = [chain.transfer(ALICE, BOB.public, n + 1) for n in range(3)]
    for raw in reversed(txs):  # arrival order does not matter
        pool.submit(raw)
    assert len(pool) == 3 and pool.bytes_used == sum(map(len, txs))
    assert pool.select(10, 1 << 20) == txs
    assert pool.next_nonce(ALICE.public) == 3
    assert pool.next_nonce(BOB.public) == 0


def test_refusal_codes() -> None:
    chain = TestChain()
    pool = pool_for(chain)
    good = chain.transfer(ALICE, BOB.public, 1)
    pool.submit(good)
    assert refused(pool, good).code == ALREADY_IMPORTED
    error = refused(pool, chain.transfer(ALICE, BOB.public, 2, nonce=0))
    assert (error.code, error.reason.split(":")[0]) == (POOL_FULL, "priority too low")
    other_chain = TestChain(threads=1)
    other_chain.genesis_hash = bytes(32)
    forged = other_chain.transfer(BOB, ALICE.public, 1)
    error = refused(pool, forged)
    assert (error.code, error.reason) == (INVALID, "bad signature")
    assert refused(pool, forged).code == BANNED  # a bad signature is not checked twice
    expired = chain.transfer(CHARLIE, BOB.public, 1, valid_until=0)
    assert (refused(pool, expired).code, refused(pool, expired).reason.split(":")[0]) == (
        INVALID,
        "expired",
    )
    unknown = chain.sign(CHARLIE, "balances", "steal", {}, nonce=0)
    assert refused(pool, unknown).reason == "unknown call: balances.steal"
    bad_args = chain.sign(CHARLIE, "balances", "transfer", {"dest": b"x", "amount": 1}, nonce=0)
    assert refused(pool, bad_args).reason.startswith("bad arguments: dest:")
    assert refused(pool, b"\xc1").reason.startswith("malformed")
    assert refused(pool, b"\x91" + b"\xcc\x01").reason.startswith("not canonical")
    big = chain.sign(CHARLIE, "system", "remark", {"text": "x" * 1000}, nonce=0) * 20
    assert refused(pool, big).reason.startswith("too large")
    assert len(pool) == 1


def test_nonce_gaps_wait_in_a_bounded_future_queue() -> None:
    chain = TestChain()
    pool = pool_for(chain, max_future_nonce=4, max_future=2)
    gap = [chain.transfer(ALICE, BOB.public, 1, nonce=n) for n in (2, 3)]
    for raw in gap:
        pool.submit(raw)
    assert pool.future_count == 2 and pool.select(10, 1 << 20) == []
    assert pool.next_nonce(ALICE.public) == 0
    third = chain.transfer(BOB, ALICE.public, 1, nonce=1)
    assert refused(pool, third).reason.startswith("pool full: too many extrinsics wait")
    too_far = chain.transfer(CHARLIE, ALICE.public, 1, nonce=5)
    error = refused(pool, too_far)
    assert (error.code, error.reason.split(":")[0]) == (INVALID, "nonce too far ahead")
    first = [chain.transfer(ALICE, BOB.public, 1, nonce=n) for n in (0, 1)]
    for raw in first:
        pool.submit(raw)  # the gap fills: everything is ready
    assert pool.future_count == 0
    assert pool.select(10, 1 << 20) == first + gap
    assert pool.next_nonce(ALICE.public) == 4


def test_stale_nonce_is_refused() -> None:
    chain = TestChain()
    pool = pool_for(chain)
    raw = chain.transfer(ALICE, BOB.public, 1)
    commit(chain, pool, [raw])
    assert refused(pool, raw).code == ALREADY_IMPORTED  # remembered as committed
    again = chain.transfer(ALICE, BOB.public, 2, nonce=0)
    error = refused(pool, again)
    assert (error.code, error.reason.split(":")[0]) == (INVALID, "stale nonce")


def test_capacity_overall_and_per_sender() -> None:
    chain = TestChain()
    pool = pool_for(chain, max_count=3, max_per_sender=2)
    pool.submit(chain.transfer(ALICE, BOB.public, 1))
    pool.submit(chain.transfer(ALICE, BOB.public, 2))
    error = refused(pool, chain.transfer(ALICE, BOB.public, 3))
    assert error.code == POOL_FULL and "sender has 2" in error.reason
    pool.submit(chain.transfer(BOB, ALICE.public, 1))
    error = refused(pool, chain.transfer(CHARLIE, ALICE.public, 1))
    assert (error.code, error.reason) == (POOL_FULL, "pool full: priority too low")
    one = chain.transfer(DAVE, ALICE.public, 1)
    tight = pool_for(chain, max_bytes=len(one) * 2, max_bytes_per_sender=len(one))
    tight.submit(one)
    error = refused(tight, chain.transfer(DAVE, ALICE.public, 2))
    assert error.code == POOL_FULL and "byte limit" in error.reason


def test_a_ready_extrinsic_evicts_future_ones_when_full() -> None:
    chain = TestChain()
    pool = pool_for(chain, max_count=2)
    early_future = chain.transfer(ALICE, BOB.public, 1, nonce=5)
    late_future = chain.transfer(BOB, ALICE.public, 1, nonce=5)
    pool.submit(early_future)
    pool.submit(late_future)
    assert refused(pool, chain.transfer(CHARLIE, BOB.public, 1, nonce=7)).reason == "pool full"
    ready = chain.transfer(CHARLIE, BOB.public, 1, nonce=0)
    pool.submit(ready)  # evicts the newest future extrinsic
    assert blake2b256(late_future) not in pool
    assert blake2b256(early_future) in pool
    assert pool.select(5, 1 << 20) == [ready]


def test_after_a_block_included_stale_and_expired_leave() -> None:
    chain = TestChain()
    pool = pool_for(chain)
    mine = chain.transfer(ALICE, BOB.public, 1)
    next_mine = chain.transfer(ALICE, BOB.public, 2)
    expiring = chain.transfer(BOB, ALICE.public, 1, valid_until=1)
    pool.submit(mine)
    pool.submit(next_mine)
    pool.submit(expiring)
    # Another node's pool got ALICE's nonce-0 in a different extrinsic: ours goes stale.
    rival = chain.transfer(ALICE, CHARLIE.public, 9, nonce=0)
    chain.execute([rival])
    update = pool.on_block(chain.state(), chain.height, [rival])
    assert update.included == (blake2b256(rival),)
    assert update.stale == (blake2b256(mine),)
    assert update.expired == (blake2b256(expiring),)
    assert pool.select(10, 1 << 20) == [next_mine]  # nonce 1 is now ready
    assert pool.next_nonce(ALICE.public) == 2


def test_selection_is_fair_across_senders_and_respects_bytes() -> None:
    chain = TestChain()
    pool = pool_for(chain)
    alice = [chain.transfer(ALICE, BOB.public, n + 1) for n in range(4)]
    bob = [chain.transfer(BOB, ALICE.public, n + 1) for n in range(2)]
    for raw in alice + bob:
        pool.submit(raw)
    assert pool.select(10, 1 << 20) == [alice[0], bob[0], alice[1], bob[1], alice[2], alice[3]]
    assert pool.select(3, 1 << 20) == [alice[0], bob[0], alice[1]]
    size = len(alice[0])
    assert len(pool.select(10, size * 3 + size // 2)) == 3
    assert pool.pending() == alice + bob


def test_the_block_builder_reports_invalid_and_the_pool_bans_them() -> None:
    chain = TestChain()
    pool = pool_for(chain)
    poor = Keypair.from_seed(blake2b256(b"poor"))
    raw = chain.transfer(poor, BOB.public, 1)
    pool.submit(raw)
    pool.report_invalid(raw, InvalidExtrinsic("future nonce"))
    assert raw in pool.pending()  # can still become valid
    pool.report_invalid(raw, InvalidExtrinsic("expired"))
    assert len(pool) == 0 and refused(pool, raw).code == BANNED
    for _ in range(3):
        chain.execute([])
    pool.limits = MempoolLimits(ban_blocks=2)
    pool.on_block(chain.state(), chain.height, [])
    pool.submit(raw)  # the ban expired
    assert len(pool) == 1


def test_full_recheck_after_a_sync_gap() -> None:
    chain = TestChain()
    pool = pool_for(chain)
    raw = chain.transfer(ALICE, BOB.public, 1)
    pool.submit(raw)
    chain.execute([raw])
    update = pool.on_block(chain.state(), chain.height, None)  # included unknown
    assert update.stale == (blake2b256(raw),) and len(pool) == 0


def test_limits_refuse_negative_values() -> None:
    with pytest.raises(ValueError, match="max_count"):
        MempoolLimits(max_count=-1)


# -- fees (P1, P2): the pool runs the chain's own runtime with its payment pallet


def test_a_signer_who_cannot_pay_is_refused_with_1010() -> None:
    chain = TestChain(fees=True)
    pool = pool_for(chain)
    pauper = Keypair.from_seed(blake2b256(b"pauper"))
    error = refused(pool, chain.transfer(pauper, BOB.public, 1))
    assert error.code == INVALID and error.reason.startswith("cannot pay fee: balance 0")
    assert len(pool) == 0


def test_pending_fees_count_against_the_balance() -> None:
    chain = TestChain(fees=True)
    guest = Keypair.from_seed(blake2b256(b"guest"))
    probe = chain.sign(guest, "system", "remark", {"text": "x"}, nonce=0)
    remark = chain.runtime.registry.call("system", "remark")
    assert remark is not None
    fee = _fee(chain, probe, chain.runtime.registry.weights.weight(remark, 1))
    chain.execute([chain.transfer(ALICE, guest.public, 2 * fee + fee // 2)])
    pool = pool_for(chain)
    for nonce in (0, 1):
        pool.submit(chain.sign(guest, "system", "remark", {"text": "x"}, nonce=nonce))
    error = refused(pool, chain.sign(guest, "system", "remark", {"text": "x"}, nonce=2))
    assert error.code == INVALID and "pending" in error.reason


def test_higher_fee_per_weight_goes_first_and_evicts_the_cheapest() -> None:
    chain = TestChain(fees=True)
    probe = pool_for(chain)

    def transfer(key: Keypair) -> bytes:
        return chain.transfer(key, EVE.public, 5_000)

    def remark(key: Keypair) -> bytes:
        return chain.sign(key, "system", "remark", {"text": "x"})

    # Which of the two pays more per unit of weight follows from the weight table.
    kinds = sorted((transfer, remark), key=lambda make: _priority(probe, make(FERDIE)))
    cheaper_kind, dearer_kind = kinds
    assert _priority(probe, cheaper_kind(FERDIE)) < _priority(probe, dearer_kind(FERDIE))
    pool = pool_for(chain, max_count=2)
    cheap, dear = cheaper_kind(ALICE), dearer_kind(BOB)
    pool.submit(cheap)
    pool.submit(dear)
    assert pool.select(10, 1 << 20) == [dear, cheap]
    dearer = dearer_kind(CHARLIE)
    pool.submit(dearer)  # the pool is full: the cheapest tail (ALICE's) leaves
    assert blake2b256(cheap) not in pool and blake2b256(dearer) in pool
    error = refused(pool, cheaper_kind(DAVE))
    assert (error.code, error.reason) == (POOL_FULL, "pool full: priority too low")


def _priority(pool: Mempool, raw: bytes) -> int:
    pool.submit(raw)
    entry = pool._by_hash[blake2b256(raw)]
    return entry.priority


def test_an_entry_whose_signer_can_no_longer_pay_leaves_unbanned() -> None:
    from pallets.executive.validate import CANNOT_PAY

    chain = TestChain(fees=True)
    pool = pool_for(chain)
    raw = chain.transfer(ALICE, BOB.public, 5_000)
    pool.submit(raw)
    pool.report_invalid(raw, InvalidExtrinsic(CANNOT_PAY, "balance 0"))
    assert blake2b256(raw) not in pool
    pool.submit(raw)  # not banned: money may arrive
    assert blake2b256(raw) in pool


def _fee(chain: TestChain, raw: bytes, weight: int) -> int:
    from pallets.support.params import param

    state = chain.state()
    return (
        param(state, "payment", "base_fee")
        + len(raw) * param(state, "payment", "byte_fee")
        + weight * param(state, "payment", "weight_fee")
    )


def test_the_heads_time_and_epoch_are_read_once_per_head() -> None:
    # Every fee quote needs the head's block time and epoch: the pool reads them once
    # per head, and a new head (on_block) makes it read them again.
    from pallets.system.hooks import epoch_at
    from pallets.system.storage import TIME

    chain = TestChain(fees=True)
    pool = pool_for(chain)
    assert pool._head_time is None
    pool.submit(chain.transfer(ALICE, BOB.public, 1))
    time = TIME.get(chain.state())
    assert pool._head_time == (time, epoch_at(chain.state(), time))
    commit(chain, pool, [chain.transfer(CHARLIE, BOB.public, 1)])
    assert pool._head_time is None
    pool.submit(chain.transfer(DAVE, BOB.public, 1))
    later = TIME.get(chain.state())
    assert later > time
    assert pool._head_time == (later, epoch_at(chain.state(), later))
