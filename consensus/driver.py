"""The driver: ``Core.step(input) -> list[action]``.

Theory of operation
-------------------
The core holds, for the current height: the round state (``RoundState``),
the vote keeper, the first proposal of each round from that round's
proposer, what the node said about each block (valid or not, and its BFT
time), the opaque payloads, and the sign requests it is waiting on.

``step`` records what the input says and then *evaluates the upon-rules*
of Algorithm 1 until none fires: each rule is a condition on the message log
(vote keeper + proposals + validity) and the round state; when one holds the
driver applies the matching ``RoundEvent`` to the pure round machine
(``round_machine.apply``) and turns the machine's outputs into actions.
"For the first time" (lines 34, 36, 47) is a set of (round, rule) already
fired. Evaluation order gives decisions priority (line 49), then round
skipping (line 55), then the current round's rules in the paper's order.

A proposal becomes usable once the node has validated its block
(``BlockValidated``) — the paper's ``valid(v)``. Until then the core waits;
``timeoutPropose`` bounds the wait. The core's own value (``ValueReady``) is
valid by construction.

Votes and proposals of other heights are ignored: the node holds those of
height+1 (``consensus.buffer.NextHeightBuffer``) and feeds them after
``StartHeight``, so that they go through the WAL. Everything the core does
is deterministic: no clock, no randomness, sorted iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.types import Proposal, ValidatorSet, Vote, VoteType

from . import round_machine as rm
from .actions import (
    Action,
    BroadcastProposal,
    BroadcastVote,
    ConflictingProposal,
    Decide,
    EvidenceFound,
    RequestValidation,
    RequestValue,
    ScheduleTimeout,
    SignProposal,
    SignVote,
)
from .commit import build_commit
from .inputs import (
    BlockValidated,
    Input,
    ProposalReceived,
    ProposalSigned,
    StartHeight,
    TimeoutFired,
    ValueReady,
    VoteReceived,
    VoteSigned,
)
from .proposer import ProposerSelector
from .types import (
    MAX_ROUND_LOOKAHEAD,
    NIL_ROUND,
    ConsensusError,
    Step,
    TimeoutParams,
    ValueId,
)
from .vote_keeper import AddResult, VoteKeeper

_POLKA_ANY = 0  # line 34
_POLKA_VALUE = 1  # line 36
_PRECOMMIT_ANY = 2  # line 47


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """``address``: our validator key (None = observer: never proposes or votes)."""

    address: bytes | None
    timeouts: TimeoutParams = field(default_factory=TimeoutParams)


@dataclass(frozen=True, slots=True)
class BlockInfo:
    valid: bool
    block_time_ms: int


class Core:
    """One validator's consensus state machine; see ``consensus/__init__.py``."""

    def __init__(self, config: CoreConfig) -> None:
        self.config = config
        self.address = config.address
        self.height = 0
        self.state = rm.RoundState(height=0)
        self.validator_set = ValidatorSet(())
        self.keeper = VoteKeeper(0, self.validator_set)
        self._selector: ProposerSelector | None = None
        self._reset_height_data()
        self._handlers: dict[type[Any], Callable[[Any, list[Action]], None]] = {
            StartHeight: self._on_start_height,
            ProposalReceived: self._on_proposal,
            VoteReceived: self._on_vote,
            ValueReady: self._on_value_ready,
            BlockValidated: self._on_block_validated,
            VoteSigned: self._on_vote_signed,
            ProposalSigned: self._on_proposal_signed,
            TimeoutFired: self._on_timeout,
        }

    def _reset_height_data(self) -> None:
        self.proposals: dict[int, Proposal] = {}
        self.blocks: dict[ValueId, BlockInfo] = {}
        self.payloads: dict[ValueId, bytes] = {}
        self._validation_requested: set[ValueId] = set()
        self._fired: set[tuple[int, int]] = set()
        self._conflicts_reported: set[int] = set()
        self._pending_votes: set[tuple[VoteType, int, ValueId | None]] = set()
        self._pending_proposals: set[tuple[int, int, ValueId]] = set()
        self._values_ready: set[int] = set()

    # ------------------------------------------------------------ public

    @property
    def round(self) -> int:
        return self.state.round

    @property
    def current_step(self) -> Step:
        return self.state.step

    def proposer(self, height: int, round_: int) -> bytes:
        """The proposer of ``round_`` at the current height's validator set."""
        if self._selector is None:
            raise ConsensusError("no height started yet: send StartHeight first")
        return self._selector.proposer(height, round_)

    def step(self, inp: Input) -> list[Action]:
        """Process one input; return the actions to carry out, in order."""
        handler = self._handlers.get(type(inp))
        if handler is None:
            raise ConsensusError(f"not a consensus input: {type(inp).__name__}")
        out: list[Action] = []
        handler(inp, out)
        return out

    # ------------------------------------------------------------ inputs

    def _on_start_height(self, inp: StartHeight, out: list[Action]) -> None:
        height, validator_set = inp.height, inp.validator_set
        if isinstance(height, bool) or not isinstance(height, int) or height < 1:
            raise ConsensusError(f"StartHeight: height must be an integer >= 1, got {height!r}")
        if height <= self.height:
            raise ConsensusError(f"StartHeight({height}) but height {self.height} already started")
        if not isinstance(validator_set, ValidatorSet) or not validator_set.validators:
            raise ConsensusError("StartHeight: a non-empty ValidatorSet is required")
        self.height = height
        if self._selector is None or self._selector.validator_set != validator_set:
            self._selector = ProposerSelector(validator_set)
        self.validator_set = validator_set
        self.keeper = VoteKeeper(height, validator_set)
        self.state = rm.RoundState(height=height)
        self._reset_height_data()
        self._start_round(0, out)
        self._evaluate(out)

    def _on_proposal(self, inp: ProposalReceived, out: list[Action]) -> None:
        p = inp.proposal
        if p.height != self.height or self.height == 0:
            return  # another height: the node holds height+1 (NextHeightBuffer)
        r = p.round
        if r < 0 or r > self.state.round + MAX_ROUND_LOOKAHEAD:
            return
        if not NIL_ROUND <= p.pol_round < r:
            return
        if self.proposer(self.height, r) != p.proposer:
            return  # not this round's proposer: a peer fault, dropped
        first = self.proposals.get(r)
        if first is not None:
            conflicting = first.block_hash != p.block_hash or first.pol_round != p.pol_round
            if conflicting and r not in self._conflicts_reported:
                self._conflicts_reported.add(r)
                out.append(ConflictingProposal(first, p))
            return
        self.proposals[r] = p
        self.payloads.setdefault(p.block_hash, inp.payload)
        self._need_block(r, p.block_hash, out)
        self._evaluate(out)

    def _on_vote(self, inp: VoteReceived, out: list[Action]) -> None:
        vote = inp.vote
        if vote.height != self.height or self.height == 0:
            return  # another height: the node holds height+1 (NextHeightBuffer)
        result, evidence = self.keeper.add(vote, self.state.round)
        if evidence is not None:
            out.append(EvidenceFound(evidence))
        if result is AddResult.ADDED or result is AddResult.CONFLICT:
            self._evaluate(out)

    def _on_value_ready(self, inp: ValueReady, out: list[Action]) -> None:
        st = self.state
        if (
            inp.height != self.height
            or inp.round != st.round
            or st.step is not Step.PROPOSE
            or inp.round in self._values_ready
            or self.proposer(self.height, inp.round) != self.address
        ):
            return  # late or unsolicited: the round moved on
        if len(inp.block_hash) != 32:
            raise ConsensusError("ValueReady: block_hash must be 32 bytes")
        self._values_ready.add(inp.round)
        self.blocks[inp.block_hash] = BlockInfo(True, inp.block_time_ms)
        self.payloads[inp.block_hash] = inp.payload
        self._apply(rm.ProposeValue(inp.round, inp.block_hash), out)
        self._evaluate(out)

    def _on_block_validated(self, inp: BlockValidated, out: list[Action]) -> None:
        if inp.height != self.height or inp.block_hash in self.blocks:
            return  # the first answer about a block stands
        self.blocks[inp.block_hash] = BlockInfo(inp.valid, inp.block_time_ms)
        self._evaluate(out)

    def _on_vote_signed(self, inp: VoteSigned, out: list[Action]) -> None:
        vote = inp.vote
        if vote.height != self.height:
            return  # answer to a request of a height already left
        if vote.validator != self.address:
            raise ConsensusError("VoteSigned: the vote is not signed with our validator key")
        if (vote.vote_type, vote.round, vote.block_hash) not in self._pending_votes:
            raise ConsensusError(f"VoteSigned for a vote the core did not request: {vote!r}")
        result, evidence = self.keeper.add(vote, self.state.round)
        if evidence is not None:
            # Our own key signed something else for this step: another instance runs
            # with our key. Report it; the node should alarm.
            out.append(EvidenceFound(evidence))
        if result is not AddResult.DUPLICATE:
            out.append(BroadcastVote(vote))
            self._evaluate(out)

    def _on_proposal_signed(self, inp: ProposalSigned, out: list[Action]) -> None:
        p = inp.proposal
        if p.height != self.height:
            return
        if p.proposer != self.address:
            raise ConsensusError("ProposalSigned: not signed with our validator key")
        if (p.round, p.pol_round, p.block_hash) not in self._pending_proposals:
            raise ConsensusError(f"ProposalSigned for a proposal not requested: {p!r}")
        first = self.proposals.get(p.round)
        if first == p:
            return  # already have it (a replayed answer)
        if first is None:
            self.proposals[p.round] = p
        elif p.round not in self._conflicts_reported:
            # Another process with our key proposed something else: report it, as
            # with our own conflicting votes; the node should alarm.
            self._conflicts_reported.add(p.round)
            out.append(ConflictingProposal(first, p))
        pol_votes: tuple[Vote, ...] = ()
        if p.pol_round >= 0:
            pol_votes = self.keeper.quorum_votes(p.pol_round, VoteType.PREVOTE, p.block_hash)
        out.append(BroadcastProposal(p, self.payloads.get(p.block_hash, b""), pol_votes))
        self._evaluate(out)

    def _on_timeout(self, inp: TimeoutFired, out: list[Action]) -> None:
        if inp.height != self.height:
            return
        self._apply(rm.Timeout(inp.round, inp.step), out)
        self._evaluate(out)

    # ------------------------------------------------------------ rules

    def _need_block(self, round_: int, block_hash: ValueId, out: list[Action]) -> None:
        if block_hash in self.blocks or block_hash in self._validation_requested:
            return
        self._validation_requested.add(block_hash)
        payload = self.payloads.get(block_hash, b"")
        out.append(RequestValidation(self.height, round_, block_hash, payload))

    def _evaluate(self, out: list[Action]) -> None:
        """Fire the upon-rules of Algorithm 1 until none holds (see module docstring)."""
        keeper = self.keeper
        blocks = self.blocks
        fired = self._fired
        while True:
            st = self.state
            step = st.step
            if step is Step.COMMIT or step is Step.UNSTARTED:
                return
            # L49: 2f+1 precommits for id(v) in any round r, and valid(v).
            for r, value in keeper.precommit_quorums:
                info = blocks.get(value)
                if info is None:
                    self._need_block(r, value, out)
                elif info.valid:
                    self._apply(rm.ProposalAndPrecommitValue(r, value), out)
                    return
            # L55: f+1 messages from a higher round.
            skip = keeper.skip_round(st.round)
            if skip is not None:
                self._start_round(skip, out)
                continue
            r = st.round
            proposal = self.proposals.get(r)
            info = None if proposal is None else blocks.get(proposal.block_hash)
            if step is Step.PROPOSE and proposal is not None and info is not None:
                value = proposal.block_hash
                if proposal.pol_round == NIL_ROUND:
                    self._apply(rm.ProposalNew(value, info.valid), out)  # L22
                    continue
                if keeper.has_quorum_for(proposal.pol_round, VoteType.PREVOTE, value):
                    event = rm.ProposalWithPolka(value, info.valid, proposal.pol_round)
                    self._apply(event, out)  # L28
                    continue
            if step is Step.PREVOTE:
                key = (r, _POLKA_ANY)
                if key not in fired and keeper.has_quorum_any(r, VoteType.PREVOTE):
                    fired.add(key)
                    self._apply(rm.PolkaAny(), out)  # L34
                    continue
            if step >= Step.PREVOTE and proposal is not None and info is not None and info.valid:
                key = (r, _POLKA_VALUE)
                if key not in fired and keeper.has_quorum_for(
                    r, VoteType.PREVOTE, proposal.block_hash
                ):
                    fired.add(key)
                    self._apply(rm.ProposalAndPolkaCurrent(proposal.block_hash), out)  # L36
                    continue
            if step is Step.PREVOTE and keeper.has_quorum_for(r, VoteType.PREVOTE, None):
                self._apply(rm.PolkaNil(), out)  # L44
                continue
            key = (r, _PRECOMMIT_ANY)
            if key not in fired and keeper.has_quorum_any(r, VoteType.PRECOMMIT):
                fired.add(key)
                self._apply(rm.PrecommitAny(), out)  # L47
                continue
            return

    def _start_round(self, round_: int, out: list[Action]) -> None:
        is_proposer = self.address is not None and self.proposer(self.height, round_) == (
            self.address
        )
        self._apply(rm.StartRound(round_, is_proposer), out)

    def _apply(self, event: rm.RoundEvent, out: list[Action]) -> None:
        self.state, outputs = rm.apply(self.state, event)
        height = self.height
        for o in outputs:
            if isinstance(o, rm.OutVote):
                if self.address not in self.keeper.powers:
                    continue  # an observer (or not in this height's set) never votes
                min_ts = 0
                if o.value is not None:
                    min_ts = self.blocks[o.value].block_time_ms + 1
                self._pending_votes.add((o.vote_type, o.round, o.value))
                out.append(SignVote(o.vote_type, height, o.round, o.value, min_ts))
            elif isinstance(o, rm.OutTimeout):
                duration = self.config.timeouts.duration_ms(o.step, o.round)
                out.append(ScheduleTimeout(height, o.round, o.step, duration))
            elif isinstance(o, rm.OutPropose):
                self._pending_proposals.add((o.round, o.pol_round, o.value))
                out.append(SignProposal(height, o.round, o.pol_round, o.value))
            elif isinstance(o, rm.OutGetValue):
                out.append(RequestValue(height, o.round))
            elif isinstance(o, rm.OutDecision):
                votes = self.keeper.quorum_votes(o.round, VoteType.PRECOMMIT, o.value)
                commit = build_commit(height, o.round, o.value, votes)
                payload = self.payloads.get(o.value, b"")
                out.append(Decide(height, o.round, o.value, commit, payload))
            else:  # rm.OutNextRound
                self._start_round(o.round, out)
