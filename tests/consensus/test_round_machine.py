"""Table-driven tests of the round machine: (state, event) -> (state, outputs).

Each row names the line of Algorithm 1 it exercises.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from consensus import round_machine as rm
from consensus.round_machine import RoundState
from consensus.types import Step, TimeoutStep
from ledger.types import VoteType

V = b"\x01" * 32
W = b"\x02" * 32
PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT
T_PROPOSE, T_PREVOTE, T_PRECOMMIT = TimeoutStep.PROPOSE, TimeoutStep.PREVOTE, TimeoutStep.PRECOMMIT

FRESH = RoundState(height=5)
PROPOSE = RoundState(height=5, round=2, step=Step.PROPOSE)
PREVOTE = replace(PROPOSE, step=Step.PREVOTE)
PRECOMMIT = replace(PROPOSE, step=Step.PRECOMMIT)
LOCKED_W_1 = replace(PROPOSE, locked_value=W, locked_round=1, valid_value=W, valid_round=1)

TABLE: list[tuple[str, RoundState, rm.RoundEvent, RoundState, tuple[rm.RoundOutput, ...]]] = [
    (
        "L11-21 start round 0, not proposer: timeout propose",
        FRESH,
        rm.StartRound(0, False),
        replace(FRESH, step=Step.PROPOSE),
        (rm.OutTimeout(0, T_PROPOSE),),
    ),
    (
        "L18 start round as proposer without validValue: getValue",
        FRESH,
        rm.StartRound(0, True),
        replace(FRESH, step=Step.PROPOSE),
        (rm.OutGetValue(0), rm.OutTimeout(0, T_PROPOSE)),
    ),
    (
        "L15-16 start round as proposer with validValue: re-propose it with validRound",
        replace(LOCKED_W_1, step=Step.PRECOMMIT),
        rm.StartRound(3, True),
        replace(LOCKED_W_1, round=3, step=Step.PROPOSE),
        (rm.OutPropose(3, W, 1), rm.OutTimeout(3, T_PROPOSE)),
    ),
    (
        "L11 rounds never go back",
        PREVOTE,
        rm.StartRound(1, False),
        PREVOTE,
        (),
    ),
    (
        "L19 getValue answered in the propose step: propose with pol_round -1",
        PROPOSE,
        rm.ProposeValue(2, V),
        PROPOSE,
        (rm.OutPropose(2, V, -1),),
    ),
    (
        "L19 getValue answered too late: nothing",
        PREVOTE,
        rm.ProposeValue(2, V),
        PREVOTE,
        (),
    ),
    (
        "L24 valid proposal, not locked: prevote it",
        PROPOSE,
        rm.ProposalNew(V, True),
        PREVOTE,
        (rm.OutVote(PV, 2, V),),
    ),
    (
        "L24 valid proposal equal to the locked value: prevote it",
        LOCKED_W_1,
        rm.ProposalNew(W, True),
        replace(LOCKED_W_1, step=Step.PREVOTE),
        (rm.OutVote(PV, 2, W),),
    ),
    (
        "L26 valid proposal but locked on another value: prevote nil",
        LOCKED_W_1,
        rm.ProposalNew(V, True),
        replace(LOCKED_W_1, step=Step.PREVOTE),
        (rm.OutVote(PV, 2, None),),
    ),
    (
        "L26 invalid proposal: prevote nil",
        PROPOSE,
        rm.ProposalNew(V, False),
        PREVOTE,
        (rm.OutVote(PV, 2, None),),
    ),
    (
        "L22 proposal outside the propose step: nothing",
        PRECOMMIT,
        rm.ProposalNew(V, True),
        PRECOMMIT,
        (),
    ),
    (
        "L30 proposal with a POL at vr >= lockedRound: prevote it despite the lock",
        LOCKED_W_1,
        rm.ProposalWithPolka(V, True, 1),
        replace(LOCKED_W_1, step=Step.PREVOTE),
        (rm.OutVote(PV, 2, V),),
    ),
    (
        "L32 proposal with a POL older than our lock: prevote nil",
        replace(LOCKED_W_1, locked_round=1, round=3),
        rm.ProposalWithPolka(V, True, 0),
        replace(LOCKED_W_1, locked_round=1, round=3, step=Step.PREVOTE),
        (rm.OutVote(PV, 3, None),),
    ),
    (
        "L32 invalid proposal with POL: prevote nil",
        PROPOSE,
        rm.ProposalWithPolka(V, False, 1),
        PREVOTE,
        (rm.OutVote(PV, 2, None),),
    ),
    (
        "L28 POL round not below the current round: nothing",
        PROPOSE,
        rm.ProposalWithPolka(V, True, 2),
        PROPOSE,
        (),
    ),
    (
        "L34 2f+1 prevotes for anything in the prevote step: timeout prevote",
        PREVOTE,
        rm.PolkaAny(),
        PREVOTE,
        (rm.OutTimeout(2, T_PREVOTE),),
    ),
    (
        "L34 only in the prevote step",
        PRECOMMIT,
        rm.PolkaAny(),
        PRECOMMIT,
        (),
    ),
    (
        "L36-43 polka for the proposal in the prevote step: lock, valid, precommit",
        PREVOTE,
        rm.ProposalAndPolkaCurrent(V),
        replace(
            PREVOTE,
            step=Step.PRECOMMIT,
            locked_value=V,
            locked_round=2,
            valid_value=V,
            valid_round=2,
        ),
        (rm.OutVote(PC, 2, V),),
    ),
    (
        "L42-43 polka for the proposal after precommitting: only validValue/validRound",
        PRECOMMIT,
        rm.ProposalAndPolkaCurrent(V),
        replace(PRECOMMIT, valid_value=V, valid_round=2),
        (),
    ),
    (
        "L36 not before the prevote step",
        PROPOSE,
        rm.ProposalAndPolkaCurrent(V),
        PROPOSE,
        (),
    ),
    (
        "L44-46 2f+1 prevotes for nil: precommit nil",
        PREVOTE,
        rm.PolkaNil(),
        PRECOMMIT,
        (rm.OutVote(PC, 2, None),),
    ),
    (
        "L47-48 2f+1 precommits for anything: timeout precommit (any step)",
        PROPOSE,
        rm.PrecommitAny(),
        PROPOSE,
        (rm.OutTimeout(2, T_PRECOMMIT),),
    ),
    (
        "L49-51 2f+1 precommits for a valid value in some round: decide",
        PREVOTE,
        rm.ProposalAndPrecommitValue(0, V),
        replace(PREVOTE, step=Step.COMMIT, decision=V, decision_round=0),
        (rm.OutDecision(0, V),),
    ),
    (
        "L57-60 timeout propose in the propose step: prevote nil",
        PROPOSE,
        rm.Timeout(2, T_PROPOSE),
        PREVOTE,
        (rm.OutVote(PV, 2, None),),
    ),
    (
        "L58 stale timeout propose (other round): nothing",
        PROPOSE,
        rm.Timeout(1, T_PROPOSE),
        PROPOSE,
        (),
    ),
    (
        "L61-64 timeout prevote in the prevote step: precommit nil",
        PREVOTE,
        rm.Timeout(2, T_PREVOTE),
        PRECOMMIT,
        (rm.OutVote(PC, 2, None),),
    ),
    (
        "L62 timeout prevote after precommitting: nothing",
        PRECOMMIT,
        rm.Timeout(2, T_PREVOTE),
        PRECOMMIT,
        (),
    ),
    (
        "L65-67 timeout precommit: next round",
        PRECOMMIT,
        rm.Timeout(2, T_PRECOMMIT),
        PRECOMMIT,
        (rm.OutNextRound(3),),
    ),
    (
        "L66 stale timeout precommit: nothing",
        PRECOMMIT,
        rm.Timeout(1, T_PRECOMMIT),
        PRECOMMIT,
        (),
    ),
    (
        "decided: nothing moves but a new height",
        replace(PREVOTE, step=Step.COMMIT, decision=V, decision_round=2),
        rm.Timeout(2, T_PRECOMMIT),
        replace(PREVOTE, step=Step.COMMIT, decision=V, decision_round=2),
        (),
    ),
]


@pytest.mark.parametrize(
    ("state", "event", "expected_state", "expected_outputs"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_round_machine_transition(
    state: RoundState,
    event: rm.RoundEvent,
    expected_state: RoundState,
    expected_outputs: tuple[rm.RoundOutput, ...],
) -> None:
    new_state, outputs = rm.apply(state, event)
    assert new_state == expected_state
    assert outputs == expected_outputs


def test_apply_is_pure() -> None:
    before = replace(PREVOTE)
    rm.apply(before, rm.ProposalAndPolkaCurrent(V))
    assert before == PREVOTE
