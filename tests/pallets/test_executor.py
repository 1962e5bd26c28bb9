"""Block execution: receipts, rollback, weights, limits, hooks, epochs, validator sets."""

from __future__ import annotations

import dataclasses

import pytest

from ledger import vrf
from ledger.crypto import Keypair, blake2b256
from ledger.types import (
    GENESIS_VRF_OUTPUT,
    NO_VRF_PROOF,
    Block,
    Call,
    Extrinsic,
    ValidatorSet,
    block_vrf_alpha,
    verify_block_vrf,
)
from pallets import construct
from pallets.executive.executor import BlockEnv, InvalidBlock, InvalidVrf
from pallets.executive.verify import BatchVerifier
from pallets.support.context import SEED_DOMAIN
from pallets.system.api import validator_set
from pallets.system.storage import EPOCH, NONCE, NUMBER, TIME, VALIDATOR_CHANGES
from tests.pallets import probe
from tests.pallets.helpers import ALICE, BOB, CHARLIE, DAVE, VALIDATOR, TestChain, assert_noop


def probe_chain(**kw: object) -> TestChain:
    return TestChain(registry=probe.probe_registry(), **kw)  # type: ignore[arg-type]


def test_a_failed_call_leaves_its_receipt_and_the_nonce_increment_only() -> None:
    chain = probe_chain()
    raw = chain.sign(ALICE, "probe", "count", {"value": 7, "fail": True})
    receipt = assert_noop(chain, ALICE, raw, "Failed", "P1")
    assert receipt.error is not None and receipt.error.pallet == "probe"
    assert receipt.extrinsic_hash == blake2b256(raw)
    assert probe.COUNTER.get(chain.state()) == 0
    assert NONCE.get(chain.state(), ALICE.public) == 1


def test_a_successful_call_keeps_its_writes_and_events() -> None:
    chain = probe_chain()
    result = chain.execute([chain.sign(ALICE, "probe", "count", {"value": 7, "fail": False})])
    assert result.receipts[0].success
    assert [e.name for e in result.receipts[0].events] == ["Counted"]
    assert probe.COUNTER.get(chain.state()) == 7


def test_weight_bounds_the_work_of_a_call() -> None:
    chain = probe_chain()
    assert chain.execute([chain.sign(ALICE, "probe", "hog", {"reads": 3})]).receipts[0].success
    raw = chain.sign(ALICE, "probe", "hog", {"reads": 1000})
    assert_noop(chain, ALICE, raw, "WeightExhausted", "S3")


def test_only_signed_origin_calls_can_be_extrinsics() -> None:
    chain = probe_chain()
    raw = chain.sign(ALICE, "probe", "govern", {})
    with pytest.raises(InvalidBlock, match="bad origin"):
        chain.runtime.execute(chain.root, chain.next_env(), [raw])
    result = chain.runtime.build_block(chain.root, chain.next_env(), [raw])
    assert result.extrinsics == ()
    assert result.rejected[0][1].kind == "bad origin"


def _bad_extrinsics(chain: TestChain) -> dict[str, bytes]:
    good = Extrinsic.create(
        ALICE,
        0,
        10,
        Call("balances", "transfer", {"dest": BOB.public, "amount": 1}),
        chain.genesis_hash,
    )
    encoded = good.encode()
    other_chain = Extrinsic.create(ALICE, 0, 10, good.call, bytes(32)).encode()
    return {
        "bad signature": other_chain,
        "stale nonce": dataclasses.replace(good, nonce=0).encode(),  # run after nonce 0 is used
        "future nonce": chain.transfer(ALICE, BOB.public, 1, nonce=5),
        "expired": chain.transfer(ALICE, BOB.public, 1, valid_until=0),
        "unknown call": chain.sign(ALICE, "balances", "steal", {}),
        "bad arguments": chain.sign(ALICE, "balances", "transfer", {"dest": b"x", "amount": 1}),
        "not canonical": encoded[:-66] + b"\xc5\x00\x40" + encoded[-64:],  # bin16 for 64 bytes
        "malformed": b"\x93\x01\x02\x03",
        "too large": chain.sign(ALICE, "system", "remark", {"text": "x" * 1000}) * 20,
    }


@pytest.mark.parametrize(
    "reason",
    [
        "bad signature",
        "stale nonce",
        "future nonce",
        "expired",
        "unknown call",
        "bad arguments",
        "not canonical",
        "malformed",
        "too large",
    ],
)
def test_an_invalid_extrinsic_makes_the_block_invalid(reason: str) -> None:
    chain = TestChain()
    if reason == "stale nonce":
        chain.execute([chain.transfer(ALICE, BOB.public, 1)])
    raw = _bad_extrinsics(chain)[reason]
    with pytest.raises(InvalidBlock, match=f"extrinsic 0: {reason}"):
        chain.runtime.execute(chain.root, chain.next_env(), [raw])
    built = chain.runtime.build_block(chain.root, chain.next_env(), [raw])
    assert built.extrinsics == ()
    assert [error.kind for _, error in built.rejected] == [reason]


def test_build_block_packs_the_valid_and_execute_block_agrees() -> None:
    chain = TestChain()
    good = [chain.transfer(ALICE, BOB.public, 5), chain.transfer(ALICE, BOB.public, 6)]
    bad = chain.transfer(CHARLIE, BOB.public, 1, valid_until=0)
    later = chain.transfer(DAVE, BOB.public, 10**30 // 10**12)  # fails at dispatch
    env = chain.next_env()
    built = chain.runtime.build_block(chain.root, env, [good[0], bad, good[1], later])
    assert built.extrinsics == (good[0], good[1], later)
    assert [r.success for r in built.receipts] == [True, True, False]
    vs = chain.doc.validator_set().hash
    header = built.header(validators_hash=vs, next_validators_hash=vs)
    block = Block(header, built.extrinsics, None, ())
    again = chain.runtime.execute_block(chain.root, block, chain.vrf_output)
    assert again.state_root == built.state_root
    assert again.receipts == built.receipts
    forged = Block(dataclasses.replace(header, state_root=bytes(32)), block.extrinsics, None)
    with pytest.raises(InvalidBlock, match="state_root"):
        chain.runtime.execute_block(chain.root, forged, chain.vrf_output)
    reordered = Block(header, (good[1], good[0], later), None, ())
    with pytest.raises(InvalidBlock, match="future nonce"):
        chain.runtime.execute_block(chain.root, reordered, chain.vrf_output)


def test_block_limits_in_count_and_weight() -> None:
    from tests.pallets.helpers import test_doc

    params = test_doc().param_values()
    params["system"]["max_block_extrinsics"] = 2
    transfer = construct.registry().call("balances", "transfer")
    assert transfer is not None
    weight = construct.registry().weights.weight(transfer, 9)  # microseconds
    params["system"]["max_block_weight"] = 2 * weight + weight // 2
    chain = TestChain(test_doc(params=params))
    three = [chain.transfer(ALICE, BOB.public, n) for n in (1, 2, 3)]
    with pytest.raises(InvalidBlock, match="3 extrinsics, the limit is 2"):
        chain.runtime.execute(chain.root, chain.next_env(), three)
    built = chain.runtime.build_block(chain.root, chain.next_env(), three)
    assert len(built.extrinsics) == 2 and built.weight == 2 * weight
    params["system"]["max_block_extrinsics"] = 5
    chain = TestChain(test_doc(params=params))
    three = [chain.transfer(ALICE, BOB.public, n) for n in (1, 2, 3)]
    with pytest.raises(InvalidBlock, match=f"weight limit {2 * weight + weight // 2}"):
        chain.runtime.execute(chain.root, chain.next_env(), three)
    built = chain.runtime.build_block(chain.root, chain.next_env(), three, max_count=1)
    assert len(built.extrinsics) == 1


def test_a_block_must_follow_its_parent() -> None:
    chain = TestChain()
    env = chain.next_env()
    with pytest.raises(InvalidBlock, match="does not follow"):
        chain.runtime.execute(chain.root, dataclasses.replace(env, height=5), [])
    chain.execute([], seconds=10)
    back = dataclasses.replace(chain.next_env(), timestamp_ms=chain.time_ms - 2000)
    with pytest.raises(InvalidBlock, match="goes back"):
        chain.runtime.execute(chain.root, back, [])


def test_system_records_height_and_time_and_remarks() -> None:
    chain = TestChain()
    result = chain.execute([chain.sign(BOB, "system", "remark", {"text": "hello"})], seconds=7)
    state = chain.state()
    assert NUMBER.get(state) == 1
    assert TIME.get(state) == chain.doc.genesis_time + 7
    (event,) = result.receipts[0].events
    assert event.name == "Remarked" and event.attrs["hash"] == blake2b256(b"hello")


def test_epoch_hooks_run_when_block_time_enters_a_new_epoch() -> None:
    chain = probe_chain()  # localnet: epoch_length 60 s
    assert chain.execute([], seconds=59).events == ()
    result = chain.execute([], seconds=1)
    assert [(e.pallet, e.name, e.attrs) for e in result.events] == [
        ("system", "EpochStarted", {"epoch": 1}),
        ("probe", "EpochSeen", {"epoch": 1}),
    ]
    assert probe.EPOCHS.get(chain.state(), 1) == 2
    result = chain.execute([], seconds=60 * 5)  # a halted chain: one start, the new index
    assert [e.attrs["epoch"] for e in result.events if e.name == "EpochSeen"] == [6]
    assert EPOCH.get(chain.state()) == 6


def test_validator_set_change_takes_effect_at_h_plus_2() -> None:
    chain = probe_chain()
    new_keys = sorted([CHARLIE.public, DAVE.public])
    result = chain.execute([chain.sign(ALICE, "probe", "set_validators", {"keys": new_keys})])
    change = result.validator_change
    assert change is not None and change.apply_at == 3
    assert [v.public for v in change.validators.validators] == new_keys
    assert validator_set(chain.state()) == chain.doc.validator_set()
    assert chain.execute([]).validator_change is None
    assert validator_set(chain.state()) == chain.doc.validator_set()
    applied = chain.execute([])
    assert validator_set(chain.state()) == change.validators
    assert [e.name for e in applied.events] == ["ValidatorSetApplied"]
    assert list(VALIDATOR_CHANGES.items(chain.state())) == []


def test_the_block_seed_comes_from_parent_hash_and_last_commit() -> None:
    chain = probe_chain()
    env = chain.next_env()
    chain.execute([])
    assert probe.SEED.get(chain.state()) == blake2b256(
        SEED_DOMAIN + env.parent_hash + env.last_commit_hash
    )


def test_same_block_twice_gives_the_same_result() -> None:
    chain = TestChain()
    txs = [
        chain.transfer(ALICE, BOB.public, 3),
        chain.transfer(BOB, CHARLIE.public, 10**40 // 10**30),
    ]
    env = chain.next_env()
    first = chain.runtime.execute(chain.root, env, txs)
    second = chain.runtime.execute(chain.root, env, txs)
    assert first.state_root == second.state_root
    assert first.receipts == second.receipts
    assert first.changes == second.changes


def test_two_verifier_threads_give_the_same_chain() -> None:
    roots = []
    for threads in (1, 2):
        chain = TestChain(threads=threads)
        txs = [chain.transfer(ALICE, BOB.public, n + 1) for n in range(40)]
        txs.append(_bad_extrinsics(chain)["bad signature"])
        built = chain.runtime.build_block(chain.root, chain.next_env(), txs)
        assert len(built.extrinsics) == 40 and len(built.rejected) == 1
        chain.apply(built)
        roots.append(chain.root)
        chain.runtime.verifier.close()
    assert roots[0] == roots[1]


def test_batch_verifier_keeps_order() -> None:
    key = Keypair.from_seed(blake2b256(b"k"))
    items = []
    for n in range(50):
        message = n.to_bytes(2, "big")
        signature = key.sign(message)
        items.append((key.public, message, signature if n % 7 else bytes(64)))
    with BatchVerifier(2, min_batch=4) as verifier:
        assert verifier.verify_many(items) == [n % 7 != 0 for n in range(50)]
    with pytest.raises(ValueError, match="at least 1"):
        BatchVerifier(0)


def test_block_env_from_header_and_genesis_set() -> None:
    chain = TestChain()
    result = chain.runtime.execute(chain.root, chain.next_env(), [])
    vs = ValidatorSet.of(list(chain.doc.validator_set().validators)).hash
    header = result.header(validators_hash=vs, next_validators_hash=vs)
    assert BlockEnv.from_header(header, chain.vrf_output) == chain.next_env()
    assert header.proposer == VALIDATOR.public


def test_dispatch_on_behalf_of_another_origin() -> None:
    chain = probe_chain()
    result = chain.execute(
        [chain.sign(ALICE, "probe", "relay", {"as_governance": True, "fail": False})]
    )
    assert result.receipts[0].success
    assert probe.RELAYED.get(chain.state()) == "ok"
    assert probe.COUNTER.get(chain.state()) == 9
    assert [e.name for e in result.receipts[0].events] == ["Counted"]
    # a signed origin may not run a governance call; a failing inner call leaves no trace
    result = chain.execute(
        [chain.sign(ALICE, "probe", "relay", {"as_governance": False, "fail": True})]
    )
    assert result.receipts[0].success and result.receipts[0].events == ()
    assert probe.RELAYED.get(chain.state()) == "Failed"
    assert probe.COUNTER.get(chain.state()) == 9
    chain.execute([chain.sign(ALICE, "probe", "relay", {"as_governance": False, "fail": False})])
    assert probe.RELAYED.get(chain.state()) == "BadOrigin"


def test_dispatch_checks_arguments_and_charges_the_weight() -> None:
    from ledger.overlay import MemoryState, StateOverlay
    from pallets.support.context import BlockInfo, CallContext
    from pallets.support.declare import DispatchFailure, Origin

    count = next(c for c in probe.PALLET.calls if c.name == "count")
    info = BlockInfo(1, 0, bytes(32), bytes(32), bytes(32), bytes(32), 0)
    ctx = CallContext(
        StateOverlay(MemoryState()), info, Origin.signed(ALICE.public), 3, wiring=construct.WIRING
    )
    error = ctx.dispatch(count, {"value": -1, "fail": False}, Origin.signed(ALICE.public))
    assert error is not None and error.code == "BadArguments" and "value" in error.message
    assert ctx.dispatch(count, {"value": 1, "fail": False}, Origin.signed(ALICE.public)) is None
    assert ctx.used == 2
    with pytest.raises(DispatchFailure, match="WeightExhausted"):
        ctx.dispatch(count, {"value": 2, "fail": False}, Origin.signed(ALICE.public))


# ---------------------------------------------------------------- the block VRF (C6)


def _env_with_proof(chain: TestChain, alpha: bytes, key: Keypair = VALIDATOR) -> BlockEnv:
    return dataclasses.replace(chain.next_env(), vrf_proof=vrf.prove(key, alpha))


def test_the_block_vrf_output_is_the_verified_output_of_the_proposers_proof() -> None:
    chain = TestChain()
    for _ in range(3):
        env = chain.next_env()
        alpha = block_vrf_alpha(chain.genesis_hash, env.height, 0, chain.vrf_output)
        result = chain.execute([])
        assert result.vrf_output == vrf.verify(VALIDATOR.public, env.vrf_proof, alpha)
        assert result.header(validators_hash=bytes(32), next_validators_hash=bytes(32)).vrf_proof
    # each block's input chains on its parent's output: outputs differ block to block
    assert chain.vrf_output != GENESIS_VRF_OUTPUT


@pytest.mark.parametrize(
    "what",
    [
        "missing",
        "garbage",
        "another height",
        "another round",
        "another parent output",
        "another chain",
        "another key",
        "claims another round",
    ],
)
def test_a_block_whose_vrf_proof_is_not_for_it_is_refused(what: str) -> None:
    chain = TestChain()
    chain.execute([])  # block 1, so that block 2 chains on a real output
    env = chain.next_env()
    h, parent = env.height, chain.vrf_output
    genesis = chain.genesis_hash
    bad: BlockEnv
    if what == "missing":
        bad = dataclasses.replace(env, vrf_proof=NO_VRF_PROOF)
    elif what == "garbage":
        bad = dataclasses.replace(env, vrf_proof=bytes(range(80)))
    elif what == "another height":
        bad = _env_with_proof(chain, block_vrf_alpha(genesis, h + 1, 0, parent))
    elif what == "another round":
        bad = _env_with_proof(chain, block_vrf_alpha(genesis, h, 1, parent))
    elif what == "another parent output":
        bad = _env_with_proof(chain, block_vrf_alpha(genesis, h, 0, GENESIS_VRF_OUTPUT))
    elif what == "another chain":
        bad = _env_with_proof(chain, block_vrf_alpha(bytes(32), h, 0, parent))
    elif what == "another key":
        bad = _env_with_proof(chain, block_vrf_alpha(genesis, h, 0, parent), ALICE)
    else:  # the proof is round 0's, the env (header) says round 1
        bad = dataclasses.replace(env, proposal_round=1)
    with pytest.raises(InvalidVrf, match="vrf_proof does not verify"):
        chain.runtime.execute(chain.root, bad, [])
    with pytest.raises(InvalidVrf):
        chain.runtime.build_block(chain.root, bad, [])
    vs = chain.doc.validator_set().hash
    header = chain.runtime.execute(chain.root, env, []).header(
        validators_hash=vs, next_validators_hash=vs
    )
    forged = dataclasses.replace(header, proposal_round=bad.proposal_round, vrf_proof=bad.vrf_proof)
    with pytest.raises(InvalidVrf):
        chain.runtime.execute_block(chain.root, Block(forged, (), None, ()), parent)
    # the honest block passes
    assert chain.runtime.execute_block(chain.root, Block(header, (), None, ()), parent)


def test_verify_block_vrf_takes_exactly_the_documented_alpha() -> None:
    genesis, parent = bytes([0x11]) * 32, bytes([0x33]) * 64
    alpha = block_vrf_alpha(genesis, 7, 2, parent)
    assert (
        alpha == b"CREDICHAIN/BLOCK-VRF/1" + genesis + bytes(7) + b"\x07" + b"\0\0\0\x02" + parent
    )
    assert len(alpha) == 130
    proof = vrf.prove(VALIDATOR, alpha)
    beta = verify_block_vrf(genesis, 7, 2, VALIDATOR.public, proof, parent)
    assert beta is not None and beta == vrf.proof_to_hash(proof)
    assert verify_block_vrf(genesis, 7, 3, VALIDATOR.public, proof, parent) is None
    assert verify_block_vrf(genesis, 8, 2, VALIDATOR.public, proof, parent) is None
    assert verify_block_vrf(genesis, 7, 2, ALICE.public, proof, parent) is None
    assert verify_block_vrf(genesis, 7, 2**32, VALIDATOR.public, proof, parent) is None
    with pytest.raises(ValueError, match="u32"):
        block_vrf_alpha(genesis, 7, 2**32, parent)
