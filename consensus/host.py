"""The consensus host: the one place that drives ``Core`` by the integration contract.

Theory of operation
-------------------
``Core`` is pure: ``step(input) -> list[action]``. Everything around it that
must happen in a fixed order — the contract of ``consensus/__init__.py`` —
lives here, once, synchronously, with every piece of I/O injected:

* **WAL first.** Every input goes ``wal.append(input)`` before
  ``core.step(input)``; ``StartHeight`` goes ``wal.start_height(input)``
  (the log is replaced: older heights are in the block store). Answers the
  host obtains itself (``ValueReady``, ``BlockValidated``, ``VoteSigned``,
  ``ProposalSigned``) are inputs like any other: logged, stepped, and their
  actions carried out before the next action of the step that asked.
* **Sync, then sign.** On ``SignVote``/``SignProposal`` the host calls
  ``wal.sync()`` — everything that led the core to sign, its lock included,
  is durable — and only then asks the ``Signer``. The signer is a guard over
  persisted signer state: it re-signs identical bytes, refuses (returns None)
  anything that conflicts with, or comes before, what it already signed. A
  refusal is dropped (counted in ``refusals``): the core simply does not get
  that vote, which is always safe.
* **Hold the next height.** The core takes messages of its own height only.
  ``deliver`` holds those of ``height + 1`` in a ``NextHeightBuffer`` and
  ``start_height`` releases them, right after ``StartHeight``, as ordinary
  (logged) inputs.
* **Decide, store, start.** On ``Decide`` the host asks ``Blocks.store`` to
  commit the block; if the block is stored (now, or already before — a
  replay) and the core is still at that height, it asks the outbox to
  schedule the next height; the adapter calls ``start_next`` when the block
  interval has passed.
* **Blocks only when there is work.** When the pause after a decision is
  over and the adapter has nothing to propose (an empty pool), it may call
  ``wait_for_work(height)`` instead of ``start_next``: the host stays before
  ``height`` — no ``StartHeight``, so no propose timer that would time out a
  proposer waiting for transactions — until the adapter starts it (work
  arrived: ``wake``; the heartbeat interval passed: ``start_next``) or a
  peer's message of ``height`` arrives (``deliver``, ``wake``): a peer
  started the height, and the node joins at once, so that a proposal made
  during the wait is taken without delay. Only when a height starts changes;
  what the core does once started does not, so safety is untouched.
* **Restart.** ``restart(inputs, store_height)`` steps the WAL's records
  into the fresh core without logging them again, then carries out every
  action they produced, in order (each is idempotent: see
  ``consensus/actions.py``), then starts the height after the store if the
  WAL did not get there. A record the core refuses (``ConsensusError``: a
  WAL written by another key or version) is skipped and reported; anything
  else is a bug and propagates.

The host owns no clock: every entry point takes ``now_ms``, the adapter's
time, used only to stamp our votes (``max(now_ms, min_timestamp_ms)``). It
owns no timers, sockets or threads: timeouts, broadcasts and the pause
between heights go to the ``Outbox``, whose owner feeds ``TimeoutFired``
back through ``feed`` and calls ``start_next``. Two adapters drive it: the
trio node (``node/daemon/consensus_loop.py``) and the deterministic
simulation (``tests/sim/node.py``), so the simulation tests the logic that
ships.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, assert_never

from ledger.types import Evidence, Proposal, ValidatorSet, Vote

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
from .buffer import NextHeightBuffer
from .driver import Core
from .inputs import (
    BlockValidated,
    Input,
    ProposalReceived,
    ProposalSigned,
    StartHeight,
    ValueReady,
    VoteReceived,
    VoteSigned,
)
from .types import ConsensusError

__all__ = [
    "Blocks",
    "ConsensusHost",
    "Outbox",
    "ReplayReport",
    "Signer",
    "StepObserver",
    "Stored",
    "WalWriter",
]


class WalWriter(Protocol):
    """The consensus WAL (``node.daemon.wal.WriteAheadLog`` has this shape)."""

    def append(self, inp: Input) -> None: ...

    def sync(self) -> None: ...

    def start_height(self, inp: StartHeight) -> None: ...


class Signer(Protocol):
    """Signs through persisted signer state; None = refused (would double-sign)."""

    def sign_vote(self, request: SignVote, timestamp_ms: int) -> Vote | None: ...

    def sign_proposal(self, request: SignProposal) -> Proposal | None: ...


class Stored(Enum):
    """What ``Blocks.store`` did with a decided block."""

    STORED = "stored"  # committed now
    ALREADY = "already"  # in the store before (WAL replay, or block sync got there first)
    NOT_READY = "not ready"  # the store is behind that height: block sync fills the gap
    MISSING = "missing"  # the block itself is unknown


class Blocks(Protocol):
    """The chain as the host sees it: validator sets, building, validating, storing.

    ``build`` and ``validate`` answer now (an input the host feeds at once)
    or later (None: the adapter feeds the answer when it has it).
    """

    def validators_for(self, height: int) -> ValidatorSet: ...

    def build(self, request: RequestValue) -> ValueReady | None: ...

    def validate(self, request: RequestValidation) -> BlockValidated | None: ...

    def store(self, decision: Decide) -> Stored: ...


class Outbox(Protocol):
    """What leaves the host: gossip, timers, the next height, faults seen."""

    def broadcast(self, action: BroadcastVote | BroadcastProposal) -> None: ...

    def schedule_timeout(self, action: ScheduleTimeout) -> None: ...

    def schedule_start(self, height: int) -> None:
        """After the block interval, call ``ConsensusHost.start_next(height, now_ms)``."""

    def evidence_found(self, evidence: Evidence) -> None: ...

    def conflicting_proposal(self, action: ConflictingProposal) -> None: ...


class StepObserver(Protocol):
    """Called after each ``core.step``, before its actions are carried out."""

    def __call__(self, inp: Input, actions: list[Action], replayed: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What ``restart`` replayed: records stepped, and those the core refused."""

    replayed: int
    skipped: tuple[tuple[int, str], ...]  # (record index, why)


class ConsensusHost:
    """Drives one ``Core`` by the contract (see the module docstring)."""

    def __init__(
        self,
        core: Core,
        *,
        wal: WalWriter,
        signer: Signer | None,
        blocks: Blocks,
        outbox: Outbox,
        on_step: StepObserver | None = None,
    ) -> None:
        self.core = core
        self.wal = wal
        self.signer = signer
        self.blocks = blocks
        self.outbox = outbox
        self.on_step = on_step
        self.next_height = NextHeightBuffer()
        self.refusals = 0
        self.idle_height: int | None = None  # waiting for work before this height
        self._now_ms = 0

    # ------------------------------------------------------------ entry points

    def restart(self, inputs: Iterable[Input], store_height: int, now_ms: int) -> ReplayReport:
        """Replay the WAL's records, carry out their actions, start the next height if due."""
        self._now_ms = now_ms
        actions: list[Action] = []
        skipped: list[tuple[int, str]] = []
        count = 0
        for index, inp in enumerate(inputs):
            count += 1
            try:
                step_actions = self.core.step(inp)
            except ConsensusError as exc:
                skipped.append((index, str(exc)))
                continue
            if self.on_step is not None:
                self.on_step(inp, step_actions, True)
            actions.extend(step_actions)
        self._carry_out(actions)
        if self.core.height <= store_height:
            self.start_height(store_height + 1, now_ms)
        return ReplayReport(count, tuple(skipped))

    def feed(self, inp: Input, now_ms: int) -> None:
        """One input: WAL, step, carry out (answers recursively, in order)."""
        self._now_ms = now_ms
        self._feed(inp)

    def deliver(self, item: ProposalReceived | VoteReceived, now_ms: int) -> None:
        """A checked peer message: hold it if it is for the next height, else feed it.

        A message of the height the node waits before (``wait_for_work``) starts
        that height first: a peer is in it, so the node joins at once.
        """
        self.wake(_height_of(item), now_ms)
        if not self.next_height.hold(item, self.core.height):
            self.feed(item, now_ms)

    def hold(self, item: ProposalReceived | VoteReceived) -> bool:
        """Hold a message of the next height; False (dropped) for any other height."""
        return self.next_height.hold(item, self.core.height)

    def wait_for_work(self, height: int) -> bool:
        """The pause before ``height`` is over, with nothing to propose: wait before it.

        True: the node now waits (``idle_height``) until ``wake`` or
        ``start_next`` starts ``height``. False, and nothing waits: ``height``
        is not the next one, or a peer's message of it is held already (the
        caller starts it now).
        """
        if self.core.height != height - 1 or len(self.next_height) > 0:
            return False
        self.idle_height = height
        return True

    def wake(self, height: int, now_ms: int) -> bool:
        """Start ``height`` now if the node waits before it (work arrived, a peer is in it)."""
        if self.idle_height != height:
            return False
        return self.start_next(height, now_ms)

    def start_height(self, height: int, now_ms: int) -> None:
        """``StartHeight`` (replacing the WAL), then the held messages of that height."""
        self._now_ms = now_ms
        self.idle_height = None
        inp = StartHeight(height, self.blocks.validators_for(height))
        self.wal.start_height(inp)
        self._step(inp)
        for held in self.next_height.release(height):
            self._feed(held)

    def start_next(self, height: int, now_ms: int) -> bool:
        """The pause after a decision is over: start ``height`` unless already there."""
        if self.core.height >= height:
            return False
        self.start_height(height, now_ms)
        return True

    # ------------------------------------------------------------ internals

    def _feed(self, inp: Input) -> None:
        self.wal.append(inp)
        self._step(inp)

    def _step(self, inp: Input) -> None:
        actions = self.core.step(inp)
        if self.on_step is not None:
            self.on_step(inp, actions, False)
        self._carry_out(actions)

    def _carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case ScheduleTimeout():
                    self.outbox.schedule_timeout(action)
                case SignVote():
                    self._sign_vote(action)
                case SignProposal():
                    self._sign_proposal(action)
                case BroadcastVote() | BroadcastProposal():
                    self.outbox.broadcast(action)
                case RequestValue():
                    self._answer(self.blocks.build(action))
                case RequestValidation():
                    self._answer(self.blocks.validate(action))
                case Decide():
                    self._decide(action)
                case EvidenceFound(evidence=evidence):
                    self.outbox.evidence_found(evidence)
                case ConflictingProposal():
                    self.outbox.conflicting_proposal(action)
                case _:
                    assert_never(action)

    def _answer(self, answer: ValueReady | BlockValidated | None) -> None:
        if answer is not None:
            self._feed(answer)

    def _sign_vote(self, action: SignVote) -> None:
        if self.signer is None:
            return  # an observer: the core never asks one to sign
        self.wal.sync()  # what led the core here is durable before a signature exists
        vote = self.signer.sign_vote(action, max(self._now_ms, action.min_timestamp_ms))
        if vote is None:
            self.refusals += 1  # the signer's persisted state forbids it: drop the request
            return
        self._feed(VoteSigned(vote))

    def _sign_proposal(self, action: SignProposal) -> None:
        if self.signer is None:
            return
        self.wal.sync()
        proposal = self.signer.sign_proposal(action)
        if proposal is None:
            self.refusals += 1
            return
        self._feed(ProposalSigned(proposal))

    def _decide(self, action: Decide) -> None:
        stored = self.blocks.store(action)
        if stored in (Stored.STORED, Stored.ALREADY) and self.core.height == action.height:
            self.outbox.schedule_start(action.height + 1)


def _height_of(item: ProposalReceived | VoteReceived) -> int:
    return item.vote.height if isinstance(item, VoteReceived) else item.proposal.height
