"""The block VRF (issue 18, C6) at the node: validators, block sync and replay refuse a block
whose proof is wrong, missing, or for another height, round, parent or proposer; the header's
``proposal_round`` names the proposer and may not be later than the round of the proposal or
commit the block arrives with."""

from __future__ import annotations

import dataclasses

import pytest

from consensus import proposer_of
from ledger import vrf
from ledger.kv import MemoryKV
from ledger.types import GENESIS_VRF_OUTPUT, NO_VRF_PROOF, Block, block_vrf_alpha
from node.audit.replay import BlockRecord, ReplayDivergence, Replayer
from node.daemon.chain import Chain, ChainError
from node.testing.replay_fixture import ChainBuilder
from pallets.executive.executor import InvalidBlock, InvalidVrf
from pallets.executive.verify import BatchVerifier
from tests.node.replay_helpers import records_of


def _setup() -> tuple[ChainBuilder, Chain]:
    """A builder one block ahead of a validator's chain (same genesis)."""
    builder = ChainBuilder()
    builder.add_block(builder.transfers(2))
    validator = Chain(MemoryKV(), builder.genesis, verifier=BatchVerifier(1))
    validator.commit_block(builder.built[0].block, builder.built[0].commit)
    return builder, validator


def _proposal(builder: ChainBuilder, round_: int) -> Block:
    """What the proposer of (height 2, ``round_``) builds, as ``Chain.build_block`` does."""
    chain = builder.chain
    proposer = proposer_of(chain.validators_for(2), 2, round_)
    return chain.build_block(
        proposer=builder.keys[proposer],
        round_=round_,
        last_commit=builder.last_commit,
        candidates=builder.transfers(1),
    ).block


def _with(block: Block, **fields: object) -> Block:
    return dataclasses.replace(block, header=dataclasses.replace(block.header, **fields))


def test_an_honest_proposal_carries_a_proof_over_chain_height_round_and_parent() -> None:
    builder, validator = _setup()
    block = _proposal(builder, 0)
    header = block.header
    parent_output = vrf.proof_to_hash(builder.built[0].block.header.vrf_proof)
    alpha = block_vrf_alpha(validator.genesis_hash, 2, 0, parent_output)
    beta = vrf.verify(header.proposer, header.vrf_proof, alpha)
    assert beta is not None
    executed = validator.validate_block(block, round_=0)
    assert executed.result.vrf_output == beta
    # block 1 chained on the genesis stand-in (64 zero bytes)
    first = builder.built[0].block.header
    alpha_1 = block_vrf_alpha(validator.genesis_hash, 1, 0, GENESIS_VRF_OUTPUT)
    assert vrf.verify(first.proposer, first.vrf_proof, alpha_1) == parent_output


@pytest.mark.parametrize("what", ["missing", "another height", "another round", "another parent"])
def test_a_validator_refuses_a_proposal_whose_vrf_proof_is_not_for_it(what: str) -> None:
    builder, validator = _setup()
    block = _proposal(builder, 0)
    key = builder.keys[block.header.proposer]
    parent = vrf.proof_to_hash(builder.built[0].block.header.vrf_proof)
    genesis = validator.genesis_hash
    proof = {
        "missing": NO_VRF_PROOF,
        "another height": vrf.prove(key, block_vrf_alpha(genesis, 3, 0, parent)),
        "another round": vrf.prove(key, block_vrf_alpha(genesis, 2, 1, parent)),
        "another parent": vrf.prove(key, block_vrf_alpha(genesis, 2, 0, GENESIS_VRF_OUTPUT)),
    }[what]
    forged = _with(block, vrf_proof=proof)
    with pytest.raises(InvalidVrf, match="vrf_proof does not verify"):
        validator.validate_block(forged, round_=0)
    assert validator.validate_block(block, round_=0)  # the honest one passes


def test_proposal_round_names_the_proposer_and_is_not_later_than_the_round() -> None:
    builder, validator = _setup()
    block = _proposal(builder, 1)  # built by the proposer of round 1
    assert block.header.proposal_round == 1
    with pytest.raises(InvalidBlock, match="proposal_round 1 is later than round 0"):
        validator.validate_block(block, round_=0)
    # a re-proposal of the valid value in a later round, or a commit in a later round
    assert validator.validate_block(block, round_=3)
    # the round-0 proposer's key claiming round 1 (with a valid proof for round 1)
    round_0 = _proposal(builder, 0)
    key = builder.keys[round_0.header.proposer]
    parent = vrf.proof_to_hash(builder.built[0].block.header.vrf_proof)
    proof = vrf.prove(key, block_vrf_alpha(validator.genesis_hash, 2, 1, parent))
    claims = _with(round_0, proposal_round=1, vrf_proof=proof)
    with pytest.raises(InvalidBlock, match="proposer is not the proposer of round 1"):
        validator.validate_block(claims, round_=1)


def test_block_sync_checks_the_commit_round_against_proposal_round() -> None:
    builder, validator = _setup()
    block = _proposal(builder, 1)
    commit = builder.sign_commit(block, round_=0)  # "committed" before it was proposed
    with pytest.raises(InvalidBlock, match="later than round 0"):
        validator.validate_block(block, round_=commit.round)
    with pytest.raises((InvalidBlock, ChainError)):
        validator.commit_block(block, commit)


def test_replay_names_a_bad_vrf_proof() -> None:
    builder = ChainBuilder()
    for _ in range(3):
        builder.add_block(builder.transfers(2))
    records = records_of(builder)
    second = records[1].block
    forged = _with(second, vrf_proof=records[2].block.header.vrf_proof)  # block 3's proof
    records[1] = BlockRecord(2, forged, builder.sign_commit(forged))
    with pytest.raises(ReplayDivergence, match=r"height 2: vrf_proof"):
        Replayer(builder.genesis, threads=1).run(records)
    # a header claiming a round its proposer does not hold is named too
    records = records_of(builder)
    claims = _with(second, proposal_round=1)
    records[1] = BlockRecord(2, claims, builder.sign_commit(claims, round_=1))
    with pytest.raises(ReplayDivergence, match=r"height 2: proposer"):
        Replayer(builder.genesis, threads=1).run(records)
