"""The round state machine of Algorithm 1 of "The latest gossip on BFT consensus".

Theory of operation
-------------------
Buchman, Kwon and Milosevic (2018, arXiv:1807.04938) describe one process
as a set of ``upon`` rules over its message log. Following Malachite's
``core-state-machine``, this module keeps only the process's own variables
(``RoundState``: round_p, step_p, lockedValue_p/lockedRound_p,
validValue_p/validRound_p, decision_p) and a pure function

    apply(state, event) -> (new state, outputs)

Each ``RoundEvent`` says that the *condition* of one ``upon`` rule now holds
("a proposal and 2f+1 prevotes for it in this round"); the driver
(``consensus/driver.py``) evaluates those conditions on the vote keeper and
the proposals it holds, and enforces "for the first time". Each match arm
below cites the line(s) of Algorithm 1 it implements. An event whose guard
does not hold (wrong step, stale round) changes nothing and outputs nothing.

Two deliberate departures from the paper, both liveness-only:

* the proposer also schedules ``timeoutPropose`` (as CometBFT and Malachite
  do), so that a node whose block builder never answers still moves on;
* ``StartRound`` is requested by the machine (``OutNextRound``) and applied
  by the driver, which alone knows who proposes the next round.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ledger.types import VoteType

from .types import NIL_ROUND, Step, TimeoutStep, ValueId

# ---------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class RoundState:
    """The variables of Algorithm 1 lines 2-9 for one height."""

    height: int
    round: int = 0
    step: Step = Step.UNSTARTED
    locked_value: ValueId | None = None
    locked_round: int = NIL_ROUND
    valid_value: ValueId | None = None
    valid_round: int = NIL_ROUND
    decision: ValueId | None = None
    decision_round: int = NIL_ROUND


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class StartRound:
    """StartRound(round) of lines 11-21; ``is_proposer`` = proposer(h_p, round) = p."""

    round: int
    is_proposer: bool


@dataclass(frozen=True, slots=True)
class ProposeValue:
    """getValue() (line 18) returned ``value`` for ``round``."""

    round: int
    value: ValueId


@dataclass(frozen=True, slots=True)
class ProposalNew:
    """Line 22: ⟨PROPOSAL, h_p, round_p, v, −1⟩ from the proposer; ``valid`` = valid(v)."""

    value: ValueId
    valid: bool


@dataclass(frozen=True, slots=True)
class ProposalWithPolka:
    """Line 28: ⟨PROPOSAL, h_p, round_p, v, vr⟩ and 2f+1 ⟨PREVOTE, h_p, vr, id(v)⟩, vr < round_p."""

    value: ValueId
    valid: bool
    pol_round: int


@dataclass(frozen=True, slots=True)
class PolkaAny:
    """Line 34: 2f+1 ⟨PREVOTE, h_p, round_p, ∗⟩."""


@dataclass(frozen=True, slots=True)
class ProposalAndPolkaCurrent:
    """Line 36: ⟨PROPOSAL, h_p, round_p, v, ∗⟩, 2f+1 ⟨PREVOTE, h_p, round_p, id(v)⟩, valid(v)."""

    value: ValueId


@dataclass(frozen=True, slots=True)
class PolkaNil:
    """Line 44: 2f+1 ⟨PREVOTE, h_p, round_p, nil⟩."""


@dataclass(frozen=True, slots=True)
class PrecommitAny:
    """Line 47: 2f+1 ⟨PRECOMMIT, h_p, round_p, ∗⟩."""


@dataclass(frozen=True, slots=True)
class ProposalAndPrecommitValue:
    """Line 49: 2f+1 ⟨PRECOMMIT, h_p, r, id(v)⟩ for some round r, and valid(v)."""

    round: int
    value: ValueId


@dataclass(frozen=True, slots=True)
class Timeout:
    """OnTimeoutPropose/Prevote/Precommit(h_p, round) of lines 57, 61, 65."""

    round: int
    step: TimeoutStep


RoundEvent = (
    StartRound
    | ProposeValue
    | ProposalNew
    | ProposalWithPolka
    | PolkaAny
    | ProposalAndPolkaCurrent
    | PolkaNil
    | PrecommitAny
    | ProposalAndPrecommitValue
    | Timeout
)

# ---------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class OutGetValue:
    """Call getValue() (line 18): the driver emits ``RequestValue``."""

    round: int


@dataclass(frozen=True, slots=True)
class OutPropose:
    """broadcast ⟨PROPOSAL, h_p, round_p, value, pol_round⟩ (line 19)."""

    round: int
    value: ValueId
    pol_round: int


@dataclass(frozen=True, slots=True)
class OutVote:
    """broadcast ⟨PREVOTE|PRECOMMIT, h_p, round_p, value|nil⟩."""

    vote_type: VoteType
    round: int
    value: ValueId | None


@dataclass(frozen=True, slots=True)
class OutTimeout:
    """schedule OnTimeout<step>(h_p, round_p)."""

    round: int
    step: TimeoutStep


@dataclass(frozen=True, slots=True)
class OutDecision:
    """decision_p[h_p] = value (line 51), decided from round ``round``'s precommits."""

    round: int
    value: ValueId


@dataclass(frozen=True, slots=True)
class OutNextRound:
    """StartRound(round) is due (line 67): the driver applies ``StartRound``."""

    round: int


RoundOutput = OutGetValue | OutPropose | OutVote | OutTimeout | OutDecision | OutNextRound

_NOTHING: tuple[RoundOutput, ...] = ()


def _prevote(state: RoundState, value: ValueId | None) -> tuple[RoundState, tuple[RoundOutput]]:
    return (
        replace(state, step=Step.PREVOTE),
        (OutVote(VoteType.PREVOTE, state.round, value),),
    )


def _precommit_nil(state: RoundState) -> tuple[RoundState, tuple[RoundOutput, ...]]:
    return (
        replace(state, step=Step.PRECOMMIT),
        (OutVote(VoteType.PRECOMMIT, state.round, None),),
    )


def apply(state: RoundState, event: RoundEvent) -> tuple[RoundState, tuple[RoundOutput, ...]]:
    """One transition of Algorithm 1; see the module docstring."""
    if state.step is Step.COMMIT:
        return state, _NOTHING  # decided: only StartHeight (a new state) moves on
    step = state.step
    match event:
        case StartRound(round=r, is_proposer=is_proposer):
            # L11-13: round_p ← round; step_p ← propose. Rounds never go back.
            if step is not Step.UNSTARTED and r <= state.round:
                return state, _NOTHING
            new = replace(state, round=r, step=Step.PROPOSE)
            timeout = OutTimeout(r, TimeoutStep.PROPOSE)
            if not is_proposer:
                return new, (timeout,)  # L21
            if state.valid_value is not None:
                # L15-16, L19: re-propose validValue_p with validRound_p.
                return new, (OutPropose(r, state.valid_value, state.valid_round), timeout)
            return new, (OutGetValue(r), timeout)  # L18

        case ProposeValue(round=r, value=value):
            # L18-19: getValue() answered; propose it if still in that round's propose step
            # and validValue was nil when the round started (else L16 already proposed).
            if r != state.round or step is not Step.PROPOSE or state.valid_value is not None:
                return state, _NOTHING
            return state, (OutPropose(r, value, NIL_ROUND),)

        case ProposalNew(value=value, valid=valid):
            # L22-27
            if step is not Step.PROPOSE:
                return state, _NOTHING
            if valid and (state.locked_round == NIL_ROUND or state.locked_value == value):
                return _prevote(state, value)  # L24
            return _prevote(state, None)  # L26

        case ProposalWithPolka(value=value, valid=valid, pol_round=vr):
            # L28-33
            if step is not Step.PROPOSE or not 0 <= vr < state.round:
                return state, _NOTHING
            if valid and (state.locked_round <= vr or state.locked_value == value):
                return _prevote(state, value)  # L30
            return _prevote(state, None)  # L32

        case PolkaAny():
            # L34-35 (the driver fires it once per round)
            if step is not Step.PREVOTE:
                return state, _NOTHING
            return state, (OutTimeout(state.round, TimeoutStep.PREVOTE),)

        case ProposalAndPolkaCurrent(value=value):
            # L36-43 (valid(v) checked by the driver; fired once per round)
            if step < Step.PREVOTE:
                return state, _NOTHING
            if step is Step.PREVOTE:
                # L37-41: lock and precommit; L42-43: valid value.
                new = replace(
                    state,
                    step=Step.PRECOMMIT,
                    locked_value=value,
                    locked_round=state.round,
                    valid_value=value,
                    valid_round=state.round,
                )
                return new, (OutVote(VoteType.PRECOMMIT, state.round, value),)
            # L42-43 only (already precommitted in this round).
            return replace(state, valid_value=value, valid_round=state.round), _NOTHING

        case PolkaNil():
            # L44-46
            if step is not Step.PREVOTE:
                return state, _NOTHING
            return _precommit_nil(state)

        case PrecommitAny():
            # L47-48 (any step; the driver fires it once per round)
            return state, (OutTimeout(state.round, TimeoutStep.PRECOMMIT),)

        case ProposalAndPrecommitValue(round=r, value=value):
            # L49-54: decide. Resetting the variables and StartRound(0) of the next
            # height (L52-54) are the node's StartHeight, after it stored the block.
            new = replace(state, step=Step.COMMIT, decision=value, decision_round=r)
            return new, (OutDecision(r, value),)

        case Timeout(round=r, step=TimeoutStep.PROPOSE):
            # L57-60
            if r != state.round or step is not Step.PROPOSE:
                return state, _NOTHING
            return _prevote(state, None)

        case Timeout(round=r, step=TimeoutStep.PREVOTE):
            # L61-64
            if r != state.round or step is not Step.PREVOTE:
                return state, _NOTHING
            return _precommit_nil(state)

        case Timeout(round=r, step=TimeoutStep.PRECOMMIT):
            # L65-67 (any step of the round)
            if r != state.round or step is Step.UNSTARTED:
                return state, _NOTHING
            return state, (OutNextRound(r + 1),)

    return state, _NOTHING
