"""Shared fixtures for the consensus tests: keys, validator sets, signed votes."""

from __future__ import annotations

from ledger.crypto import Keypair, blake2b256
from ledger.types import Proposal, Validator, ValidatorSet, Vote, VoteType

GENESIS = blake2b256(b"consensus-tests/genesis")
KEYS = sorted((Keypair.dev(f"consensus-test-{i}") for i in range(10)), key=lambda k: k.public)
BLOCK_A = blake2b256(b"block A")
BLOCK_B = blake2b256(b"block B")


def validator_set(n: int, powers: list[int] | None = None) -> ValidatorSet:
    powers = powers or [1] * n
    return ValidatorSet.of([Validator(KEYS[i].public, powers[i]) for i in range(n)])


def vote(
    i: int,
    vote_type: VoteType,
    height: int,
    round_: int,
    block_hash: bytes | None,
    timestamp_ms: int = 1_000,
) -> Vote:
    return Vote.create(KEYS[i], GENESIS, vote_type, height, round_, block_hash, timestamp_ms)


def proposal(i: int, height: int, round_: int, block_hash: bytes, pol_round: int = -1) -> Proposal:
    sig = KEYS[i].sign(Proposal.sign_bytes_of(GENESIS, height, round_, pol_round, block_hash))
    return Proposal(height, round_, pol_round, block_hash, KEYS[i].public, sig)


# ---------------------------------------------------------------- a perfect network

from collections import deque  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from consensus import (  # noqa: E402
    BlockValidated,
    BroadcastProposal,
    BroadcastVote,
    Core,
    CoreConfig,
    Decide,
    ProposalReceived,
    ProposalSigned,
    RequestValidation,
    RequestValue,
    SignProposal,
    SignVote,
    StartHeight,
    ValueReady,
    VoteReceived,
    VoteSigned,
)
from consensus.actions import Action  # noqa: E402
from consensus.inputs import Input  # noqa: E402

BLOCK_TIME = 1_700_000_000_000


@dataclass
class Net:
    """n cores, instant FIFO delivery, no faults; blocks named by (height, round, proposer)."""

    n: int
    cores: list[Core] = field(default_factory=list)
    log: list[list[tuple[Input, list[Action]]]] = field(default_factory=list)
    decided: dict[int, dict[int, Decide]] = field(default_factory=dict)
    queue: deque[tuple[int, Input]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.vs = validator_set(self.n)
        self.cores = [Core(CoreConfig(KEYS[i].public)) for i in range(self.n)]
        self.log = [[] for _ in range(self.n)]

    def feed(self, i: int, inp: Input) -> None:
        self.queue.append((i, inp))
        self.drain()

    def drain(self) -> None:
        while self.queue:
            j, item = self.queue.popleft()
            actions = self.cores[j].step(item)
            self.log[j].append((item, actions))
            for action in actions:
                self._do(j, action)

    def _do(self, i: int, action: Action) -> None:
        if isinstance(action, SignVote):
            v = vote(i, action.vote_type, action.height, action.round, action.block_hash,
                     max(BLOCK_TIME + 10, action.min_timestamp_ms))  # fmt: skip
            self.queue.append((i, VoteSigned(v)))
        elif isinstance(action, SignProposal):
            p = proposal(i, action.height, action.round, action.block_hash, action.pol_round)
            self.queue.append((i, ProposalSigned(p)))
        elif isinstance(action, RequestValue):
            h = blake2b256(b"%d/%d/%d" % (action.height, action.round, i))
            ready = ValueReady(action.height, action.round, h, BLOCK_TIME, b"block")
            self.queue.append((i, ready))
        elif isinstance(action, RequestValidation):
            valid = BlockValidated(action.height, action.block_hash, True, BLOCK_TIME)
            self.queue.append((i, valid))
        elif isinstance(action, BroadcastVote):
            for j in range(self.n):
                if j != i:
                    self.queue.append((j, VoteReceived(action.vote)))
        elif isinstance(action, BroadcastProposal):
            for j in range(self.n):
                if j != i:
                    for pv in action.pol_votes:
                        self.queue.append((j, VoteReceived(pv)))
                    self.queue.append((j, ProposalReceived(action.proposal, action.payload)))
        elif isinstance(action, Decide):
            self.decided.setdefault(action.height, {})[i] = action

    def start(self, height: int = 1) -> None:
        """Every core starts ``height`` (messages to a core not started yet would be lost)."""
        for i in range(self.n):
            start = StartHeight(height, self.vs)
            actions = self.cores[i].step(start)
            self.log[i].append((start, actions))
            for action in actions:
                self._do(i, action)
        self.drain()
