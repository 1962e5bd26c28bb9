"""The driver: scripted single-core exchanges and a small perfect network."""

from __future__ import annotations

import pytest

from consensus import (
    BlockValidated,
    BroadcastProposal,
    BroadcastVote,
    ConflictingProposal,
    ConsensusError,
    Core,
    CoreConfig,
    Decide,
    EvidenceFound,
    ProposalReceived,
    ProposalSigned,
    RequestValidation,
    RequestValue,
    ScheduleTimeout,
    SignProposal,
    SignVote,
    StartHeight,
    Step,
    TimeoutFired,
    TimeoutParams,
    TimeoutStep,
    ValueReady,
    VoteReceived,
    VoteSigned,
    bft_time,
    commit_votes,
    verify_commit,
)
from consensus.proposer import proposer_of
from ledger.types import VoteType

from .support import BLOCK_A, BLOCK_B, GENESIS, KEYS, Net, proposal, validator_set, vote

PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT
VS = validator_set(4)
TIMEOUTS = TimeoutParams(propose_ms=1000, prevote_ms=500, precommit_ms=500, delta_ms=250)


def index_of(public: bytes) -> int:
    return next(i for i, k in enumerate(KEYS) if k.public == public)


PROPOSER_1_0 = index_of(proposer_of(VS, 1, 0))
OTHER = (PROPOSER_1_0 + 1) % 4


def core_for(i: int | None) -> Core:
    return Core(CoreConfig(None if i is None else KEYS[i].public, TIMEOUTS))


def test_proposer_flow_request_value_sign_broadcast_prevote() -> None:
    core = core_for(PROPOSER_1_0)
    assert core.step(StartHeight(1, VS)) == [
        RequestValue(1, 0),
        ScheduleTimeout(1, 0, TimeoutStep.PROPOSE, 1000),
    ]
    assert core.step(ValueReady(1, 0, BLOCK_A, 777, b"blk")) == [SignProposal(1, 0, -1, BLOCK_A)]
    p = proposal(PROPOSER_1_0, 1, 0, BLOCK_A)
    actions = core.step(ProposalSigned(p))
    assert actions == [BroadcastProposal(p, b"blk", ()), SignVote(PV, 1, 0, BLOCK_A, 778)]
    own = vote(PROPOSER_1_0, PV, 1, 0, BLOCK_A, 778)
    assert core.step(VoteSigned(own)) == [BroadcastVote(own)]
    assert core.step(VoteSigned(own)) == []  # a replayed answer is ignored
    assert core.step(ValueReady(1, 0, BLOCK_B, 1, b"")) == []  # late/unsolicited


def test_validator_flow_validation_then_prevote_then_lock_and_decide() -> None:
    core = core_for(OTHER)
    assert core.step(StartHeight(1, VS)) == [ScheduleTimeout(1, 0, TimeoutStep.PROPOSE, 1000)]
    p = proposal(PROPOSER_1_0, 1, 0, BLOCK_A)
    assert core.step(ProposalReceived(p, b"payload")) == [
        RequestValidation(1, 0, BLOCK_A, b"payload")
    ]
    assert core.step(BlockValidated(1, BLOCK_A, True, 500)) == [SignVote(PV, 1, 0, BLOCK_A, 501)]
    core.step(VoteSigned(vote(OTHER, PV, 1, 0, BLOCK_A, 501)))
    others = [i for i in range(4) if i != OTHER]
    core.step(VoteReceived(vote(others[0], PV, 1, 0, BLOCK_A)))
    actions = core.step(VoteReceived(vote(others[1], PV, 1, 0, BLOCK_A)))
    # L34 (polka any) then L36 (lock + precommit)
    assert actions == [
        ScheduleTimeout(1, 0, TimeoutStep.PREVOTE, 500),
        SignVote(PC, 1, 0, BLOCK_A, 501),
    ]
    assert core.state.locked_value == BLOCK_A and core.state.locked_round == 0
    core.step(VoteSigned(vote(OTHER, PC, 1, 0, BLOCK_A, 501)))
    core.step(VoteReceived(vote(others[0], PC, 1, 0, BLOCK_A)))
    actions = core.step(VoteReceived(vote(others[1], PC, 1, 0, BLOCK_A)))
    decide = actions[-1]
    assert isinstance(decide, Decide) and decide.block_hash == BLOCK_A
    assert decide.payload == b"payload"
    verify_commit(decide.commit, VS, GENESIS)
    assert core.current_step is Step.COMMIT


def test_invalid_block_gets_a_nil_prevote() -> None:
    core = core_for(OTHER)
    core.step(StartHeight(1, VS))
    core.step(ProposalReceived(proposal(PROPOSER_1_0, 1, 0, BLOCK_A)))
    assert core.step(BlockValidated(1, BLOCK_A, False)) == [SignVote(PV, 1, 0, None, 0)]


def test_timeouts_walk_a_silent_round_to_the_next() -> None:
    core = core_for(OTHER)
    core.step(StartHeight(1, VS))
    assert core.step(TimeoutFired(1, 0, TimeoutStep.PROPOSE)) == [SignVote(PV, 1, 0, None, 0)]
    assert core.step(TimeoutFired(1, 0, TimeoutStep.PROPOSE)) == []  # stale
    assert core.step(TimeoutFired(1, 0, TimeoutStep.PREVOTE)) == [SignVote(PC, 1, 0, None, 0)]
    actions = core.step(TimeoutFired(1, 0, TimeoutStep.PRECOMMIT))
    assert core.round == 1
    assert (
        ScheduleTimeout(1, 1, TimeoutStep.PROPOSE, 1250) in actions or RequestValue(1, 1) in actions
    )


def test_f_plus_one_votes_from_a_higher_round_skip_to_it() -> None:
    core = core_for(OTHER)
    core.step(StartHeight(1, VS))
    others = [i for i in range(4) if i != OTHER]
    assert core.step(VoteReceived(vote(others[0], PV, 1, 5, None))) == []
    actions = core.step(VoteReceived(vote(others[1], PC, 1, 5, None)))
    assert core.round == 5
    assert any(isinstance(a, (ScheduleTimeout, RequestValue)) and a.round == 5 for a in actions)


def test_equivocation_becomes_evidence_and_conflicting_proposals_are_reported() -> None:
    core = core_for(OTHER)
    core.step(StartHeight(1, VS))
    bad = (OTHER + 2) % 4
    core.step(VoteReceived(vote(bad, PV, 1, 0, BLOCK_A)))
    actions = core.step(VoteReceived(vote(bad, PV, 1, 0, BLOCK_B)))
    assert len(actions) == 1 and isinstance(actions[0], EvidenceFound)
    ev = actions[0].evidence
    assert {ev.vote_a.block_hash, ev.vote_b.block_hash} == {BLOCK_A, BLOCK_B}
    first = proposal(PROPOSER_1_0, 1, 0, BLOCK_A)
    second = proposal(PROPOSER_1_0, 1, 0, BLOCK_B)
    core.step(ProposalReceived(first))
    assert core.step(ProposalReceived(second)) == [ConflictingProposal(first, second)]
    assert core.step(ProposalReceived(second)) == []  # reported once per round


def test_proposals_from_the_wrong_proposer_or_height_are_dropped() -> None:
    core = core_for(OTHER)
    core.step(StartHeight(1, VS))
    assert core.step(ProposalReceived(proposal(OTHER, 1, 0, BLOCK_A))) == []
    assert core.step(ProposalReceived(proposal(PROPOSER_1_0, 2, 0, BLOCK_A))) == []
    assert core.step(VoteReceived(vote(0, PV, 2, 0, BLOCK_A))) == []
    assert core.proposals == {}


def test_catch_up_from_a_commit_decides_without_a_proposal() -> None:
    net = Net(4)
    net.start()
    commit = net.decided[1][0].commit
    late = core_for(OTHER)
    late.step(StartHeight(1, VS))
    actions = []
    for v in commit_votes(commit):
        actions += late.step(VoteReceived(v))
    assert RequestValidation(1, commit.round, commit.block_hash, b"") in actions
    decided = late.step(BlockValidated(1, commit.block_hash, True, 5))
    assert isinstance(decided[-1], Decide) and decided[-1].commit == commit


def test_an_observer_follows_but_never_signs() -> None:
    core = core_for(None)
    core.step(StartHeight(1, VS))
    core.step(ProposalReceived(proposal(PROPOSER_1_0, 1, 0, BLOCK_A)))
    actions = core.step(BlockValidated(1, BLOCK_A, True, 5))
    for i in range(3):
        actions += core.step(VoteReceived(vote(i, PV, 1, 0, BLOCK_A)))
        actions += core.step(VoteReceived(vote(i, PC, 1, 0, BLOCK_A)))
    assert not any(isinstance(a, (SignVote, SignProposal)) for a in actions)
    assert isinstance(actions[-1], Decide)


def test_misuse_fails_loudly() -> None:
    core = core_for(OTHER)
    with pytest.raises(ConsensusError, match="no height started"):
        core.proposer(1, 0)
    core.step(StartHeight(1, VS))
    with pytest.raises(ConsensusError, match="already started"):
        core.step(StartHeight(1, VS))
    with pytest.raises(ConsensusError, match="did not request"):
        core.step(VoteSigned(vote(OTHER, PC, 1, 0, BLOCK_A)))
    with pytest.raises(ConsensusError, match="not signed with our validator key"):
        core.step(VoteSigned(vote((OTHER + 1) % 4, PV, 1, 0, None)))
    with pytest.raises(ConsensusError, match="not a consensus input"):
        core.step("hello")  # type: ignore[arg-type]
    with pytest.raises(ConsensusError, match="non-empty ValidatorSet"):
        core_for(0).step(StartHeight(1, validator_set(0)))


def test_four_cores_decide_one_block_per_height_with_bft_time() -> None:
    net = Net(4)
    for height in (1, 2, 3):
        net.start(height)
        decisions = net.decided[height]
        assert len(decisions) == 4
        assert len({d.block_hash for d in decisions.values()}) == 1
        for d in decisions.values():
            verify_commit(d.commit, net.vs, GENESIS)
            assert bft_time(d.commit, net.vs) > 1_700_000_000_000  # precommits >= block time+1
