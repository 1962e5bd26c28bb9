"""Property tests of one core under arbitrary well-formed input sequences.

Whatever peers send and whenever timers fire, a core must never raise, never
ask to sign two different votes (or proposals) for one (height, round, step),
never move back in rounds, and a replay of the same inputs must reproduce
exactly the same actions (the WAL's promise).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import (
    BlockValidated,
    Core,
    CoreConfig,
    ProposalReceived,
    ProposalSigned,
    RequestValue,
    SignProposal,
    SignVote,
    StartHeight,
    TimeoutFired,
    TimeoutStep,
    ValueReady,
    VoteReceived,
    VoteSigned,
)
from consensus.actions import Action
from consensus.inputs import Input
from consensus.proposer import proposer_of
from ledger.types import VoteType

from .support import BLOCK_A, BLOCK_B, KEYS, proposal, validator_set, vote

VS = validator_set(4)
ME = 0


def proposer_index(height: int, round_: int) -> int:
    public = proposer_of(VS, height, round_)
    return next(i for i, k in enumerate(KEYS) if k.public == public)


# Biased towards one block so that quorums, locks and decisions actually happen.
VALUES = [BLOCK_A, BLOCK_A, BLOCK_A, BLOCK_B, None]


@st.composite
def events(draw: st.DrawFn) -> list[Input]:
    """Rounds 0..3 in order; within a round, its messages and timers in any order.

    Each round may hold the round's proposal (any block, any pol_round),
    validations of either block, votes of the three peers (biased to one
    block) and the round's three timeouts; a few stray messages of other
    rounds are mixed in.
    """
    script: list[Input] = []
    for r in range(draw(st.integers(1, 4))):
        bag: list[Input] = []
        if draw(st.booleans()):
            block = draw(st.sampled_from([BLOCK_A, BLOCK_A, BLOCK_B]))
            pol = draw(st.integers(-1, r - 1)) if r else -1
            bag.append(ProposalReceived(proposal(proposer_index(1, r), 1, r, block, pol)))
        for block in draw(st.lists(st.sampled_from([BLOCK_A, BLOCK_B]), max_size=2)):
            bag.append(BlockValidated(1, block, draw(st.sampled_from([True, True, False])), 1_000))
        for i in range(1, 4):
            for vote_type in (VoteType.PREVOTE, VoteType.PRECOMMIT):
                if draw(st.integers(0, 3)):
                    value = draw(st.sampled_from(VALUES))
                    bag.append(VoteReceived(vote(i, vote_type, 1, r, value)))
        for step in TimeoutStep:
            if draw(st.booleans()):
                bag.append(TimeoutFired(1, r, step))
        for _ in range(draw(st.integers(0, 2))):
            other = draw(st.integers(0, 5))
            value = draw(st.sampled_from(VALUES))
            bag.append(
                VoteReceived(vote(draw(st.integers(1, 3)), VoteType.PREVOTE, 1, other, value))
            )
        script.extend(draw(st.permutations(bag)))
    return script


def drive(core: Core, script: list[Input]) -> list[tuple[Input, list[Action]]]:
    """Feed ``script``, answering every sign/value request at once (as a node would).

    Also checks, after every step, that the core's round never went back.
    """
    log: list[tuple[Input, list[Action]]] = []
    pending: list[Input] = [StartHeight(1, VS), *script]
    last_round = 0
    while pending:
        inp = pending.pop(0)
        actions = core.step(inp)
        assert core.round >= last_round
        last_round = core.round
        log.append((inp, actions))
        answers: list[Input] = []
        for a in actions:
            if isinstance(a, SignVote):
                answers.append(
                    VoteSigned(vote(ME, a.vote_type, a.height, a.round, a.block_hash, 1_001))
                )
            elif isinstance(a, SignProposal):
                answers.append(
                    ProposalSigned(proposal(ME, a.height, a.round, a.block_hash, a.pol_round))
                )
            elif isinstance(a, RequestValue):
                answers.append(ValueReady(a.height, a.round, BLOCK_A, 1_000))
        pending[:0] = answers
    return log


@settings(max_examples=150, deadline=None)
@given(events())
def test_a_core_never_equivocates_never_goes_back_and_replays_exactly(script: list[Input]) -> None:
    core = Core(CoreConfig(KEYS[ME].public))
    log = drive(core, script)
    signed: dict[tuple[int, int, int], object] = {}
    for _, actions in log:
        for a in actions:
            if isinstance(a, SignVote):
                key = (a.height, a.round, int(a.vote_type))
                assert signed.setdefault(key, a.block_hash) == a.block_hash, (key, a)
            elif isinstance(a, SignProposal):
                key = (a.height, a.round, 0)
                assert signed.setdefault(key, a.block_hash) == a.block_hash, (key, a)
    replayed = Core(CoreConfig(KEYS[ME].public))
    assert [replayed.step(inp) for inp, _ in log] == [actions for _, actions in log]
    assert replayed.state == core.state


@settings(max_examples=60, deadline=None)
@given(events())
def test_a_locked_core_only_prevotes_its_lock_or_a_newer_polka(script: list[Input]) -> None:
    """Lines 22-33: once locked on v at round r, prevote w != v only with a POL round >= r."""
    core = Core(CoreConfig(KEYS[ME].public))
    log = drive(core, script)
    locked: tuple[bytes, int] | None = None
    for _, actions in log:
        for a in actions:
            if isinstance(a, SignVote) and a.vote_type is VoteType.PRECOMMIT and a.block_hash:
                locked = (a.block_hash, a.round)
            elif (
                isinstance(a, SignVote)
                and a.vote_type is VoteType.PREVOTE
                and a.block_hash is not None
                and locked is not None
                and a.block_hash != locked[0]
                and a.round > locked[1]
            ):
                p = core.proposals[a.round]
                assert p.pol_round >= locked[1], (locked, p)
