"""Table-driven tests of the consensus host: (given, when) -> what it did, in order.

The host's I/O is a journal: the WAL, the core's steps, the signer (a real
``SignerGuard`` on a memory store, behind the node's ``GuardSigner``), the
block source and the outbox all append to one list. Each row runs a few host
calls and names the entries that must appear in that order, entries that
must not appear at all, and how many signatures the guard refused. Every
row's journal is also checked for the host's two ordering rules: an input is
in the WAL right before the core steps it (replayed records excepted), and
the WAL is synced right before every signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from consensus import (
    BlockValidated,
    BroadcastProposal,
    BroadcastVote,
    ConflictingProposal,
    Core,
    CoreConfig,
    Decide,
    Input,
    RequestValidation,
    RequestValue,
    ScheduleTimeout,
    SignProposal,
    SignVote,
    StartHeight,
    TimeoutFired,
    TimeoutStep,
    ValueReady,
    VoteReceived,
    VoteSigned,
    proposer_of,
)
from consensus.actions import Action
from consensus.host import ConsensusHost, Stored
from ledger.crypto import blake2b256
from ledger.types import Evidence, Proposal, ValidatorSet, Vote, VoteType
from node.daemon.consensus_loop import GuardSigner
from node.daemon.signer_guard import MemorySignerStore, SignerGuard

from .support import BLOCK_B, GENESIS, KEYS, validator_set, vote

NOW = 1_700_000_000_000
PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT
PROPOSE = TimeoutStep.PROPOSE
Entry = tuple[Any, ...]

ONE = validator_set(1)  # we are the only validator: a height decides inside one call
FOUR = validator_set(4)
# In FOUR, we are a validator that does not propose (1, 0); PEER is another one.
US = next(i for i in range(4) if KEYS[i].public != proposer_of(FOUR, 1, 0))
PEER = (US + 1) % 4


def _name(inp: Input) -> Entry:
    inner = getattr(inp, "vote", None) or getattr(inp, "proposal", None)
    height = inner.height if inner is not None else getattr(inp, "height", None)
    return (type(inp).__name__, height)


class JournalSigner:
    """The node's ``GuardSigner``, journaled: what was signed, what refused."""

    def __init__(self, inner: GuardSigner, journal: list[Entry]) -> None:
        self.inner = inner
        self.journal = journal

    def sign_vote(self, request: SignVote, timestamp_ms: int) -> Vote | None:
        signed = self.inner.sign_vote(request, timestamp_ms)
        outcome = "sign" if signed else "refused"
        self.journal.append(
            (outcome, request.vote_type.name.lower(), request.height, request.round)
        )
        return signed

    def sign_proposal(self, request: SignProposal) -> Proposal | None:
        signed = self.inner.sign_proposal(request)
        outcome = "sign" if signed else "refused"
        self.journal.append((outcome, "proposal", request.height, request.round))
        return signed


@dataclass
class World:
    """A host whose WAL, core, signer, blocks and outbox all write to ``journal``."""

    vs: ValidatorSet
    us: int  # index into support.KEYS
    stored: Stored = Stored.STORED
    journal: list[Entry] = field(default_factory=list)
    signer_store: MemorySignerStore = field(default_factory=MemorySignerStore)

    def guard(self) -> SignerGuard:
        return SignerGuard(KEYS[self.us], GENESIS, self.signer_store)

    def new_host(self, core_type: type[Core] = Core) -> ConsensusHost:
        journal = self.journal

        class JournalCore(core_type):  # type: ignore[valid-type,misc]
            def step(self, inp: Input) -> list[Action]:
                journal.append(("step", *_name(inp)))
                return super().step(inp)  # type: ignore[no-any-return]

        def observe(inp: Input, actions: list[Action], replayed: bool) -> None:
            if replayed:
                journal.append(("replayed", *_name(inp)))

        return ConsensusHost(
            JournalCore(CoreConfig(KEYS[self.us].public)),
            wal=self,
            signer=JournalSigner(GuardSigner(self.guard()), journal),
            blocks=self,
            outbox=self,
            on_step=observe,
        )

    # WalWriter
    def append(self, inp: Input) -> None:
        self.journal.append(("wal", *_name(inp)))

    def sync(self) -> None:
        self.journal.append(("sync",))

    def start_height(self, inp: StartHeight) -> None:
        self.journal.append(("wal-start", inp.height))

    # Blocks
    def validators_for(self, height: int) -> ValidatorSet:
        return self.vs

    def build(self, request: RequestValue) -> ValueReady:
        self.journal.append(("build", request.height, request.round))
        block = blake2b256(b"block %d/%d" % (request.height, request.round))
        return ValueReady(request.height, request.round, block, NOW + request.height)

    def validate(self, request: RequestValidation) -> BlockValidated:
        self.journal.append(("validate", request.height))
        return BlockValidated(request.height, request.block_hash, True, NOW + request.height)

    def store(self, decision: Decide) -> Stored:
        self.journal.append(("store", decision.height))
        return self.stored

    # Outbox
    def broadcast(self, action: BroadcastVote | BroadcastProposal) -> None:
        inner = action.vote if isinstance(action, BroadcastVote) else action.proposal
        self.journal.append(("broadcast", type(action).__name__, inner.height, inner.round))

    def schedule_timeout(self, action: ScheduleTimeout) -> None:
        self.journal.append(("timeout", action.height, action.round, action.step.name))

    def schedule_start(self, height: int) -> None:
        self.journal.append(("schedule-start", height))

    def evidence_found(self, evidence: Evidence) -> None:
        self.journal.append(("evidence", evidence.vote_a.height))

    def conflicting_proposal(self, action: ConflictingProposal) -> None:
        self.journal.append(("conflict", action.first.height))


Call = Callable[[ConsensusHost], object]


@dataclass(frozen=True)
class Row:
    name: str
    vs: ValidatorSet
    us: int
    when: tuple[Call, ...]
    then: tuple[Entry, ...]  # in this order (other entries may come between)
    absent: tuple[Entry, ...] = ()
    refusals: int = 0
    stored: Stored = Stored.STORED
    given: Callable[[SignerGuard], object] | None = None  # signed before the host starts


def start(h: int) -> Call:
    return lambda host: host.start_height(h, NOW)


def feed(inp: Input) -> Call:
    return lambda host: host.feed(inp, NOW)


def deliver(inp: VoteReceived) -> Call:
    return lambda host: host.deliver(inp, NOW)


def start_next(h: int) -> Call:
    return lambda host: host.start_next(h, NOW)


def wait_for_work(h: int) -> Call:
    return lambda host: host.wait_for_work(h)


def wake(h: int) -> Call:
    return lambda host: host.wake(h, NOW)


def restart(inputs: tuple[Input, ...], store_height: int) -> Call:
    return lambda host: host.restart(inputs, store_height, NOW)


TIMEOUT_PROPOSE = TimeoutFired(1, 0, PROPOSE)
NEXT_HEIGHT_VOTE = VoteReceived(vote(PEER, PV, 2, 0, BLOCK_B))

TABLE = [
    Row(
        "WAL before every step, sync before every signature, decide -> store -> next height",
        ONE,
        0,
        (start(1),),
        (
            ("wal-start", 1),
            ("step", "StartHeight", 1),
            ("build", 1, 0),
            ("wal", "ValueReady", 1),
            ("step", "ValueReady", 1),
            ("sync",),
            ("sign", "proposal", 1, 0),
            ("wal", "ProposalSigned", 1),
            ("broadcast", "BroadcastProposal", 1, 0),
            ("sign", "prevote", 1, 0),
            ("wal", "VoteSigned", 1),
            ("broadcast", "BroadcastVote", 1, 0),
            ("sign", "precommit", 1, 0),
            ("store", 1),
            ("schedule-start", 2),
        ),
    ),
    Row(
        "the next height starts when the pause is over, and only once",
        ONE,
        0,
        (start(1), start_next(2), start_next(2), start_next(1)),
        (("store", 1), ("schedule-start", 2), ("wal-start", 2), ("store", 2)),
    ),
    Row(
        "a decision the store already has (replay, block sync) still leads to the next height",
        ONE,
        0,
        (start(1),),
        (("store", 1), ("schedule-start", 2)),
        stored=Stored.ALREADY,
    ),
    Row(
        "a decision the store is not ready for leaves the next height to block sync",
        ONE,
        0,
        (start(1),),
        (("store", 1),),
        absent=(("schedule-start", 2),),
        stored=Stored.NOT_READY,
    ),
    Row(
        "no signature for a step before one the signer state has persisted",
        FOUR,
        US,
        (start(1), feed(TIMEOUT_PROPOSE)),
        (("wal", "TimeoutFired", 1), ("step", "TimeoutFired", 1), ("refused", "prevote", 1, 0)),
        absent=(("wal", "VoteSigned", 1), ("broadcast", "BroadcastVote", 1, 0)),
        refusals=1,
        given=lambda guard: guard.sign_vote(PC, 1, 0, None, NOW),
    ),
    Row(
        "a second, different vote for a signed step is refused (no double sign)",
        FOUR,
        US,
        (start(1), feed(TIMEOUT_PROPOSE)),
        (("sync",), ("refused", "prevote", 1, 0)),
        absent=(("wal", "VoteSigned", 1), ("broadcast", "BroadcastVote", 1, 0)),
        refusals=1,
        given=lambda guard: guard.sign_vote(PV, 1, 0, BLOCK_B, NOW),
    ),
    Row(
        "the same vote asked again after a torn WAL is the one signed before",
        FOUR,
        US,
        (restart((StartHeight(1, FOUR), TIMEOUT_PROPOSE), 0),),
        (
            ("step", "StartHeight", 1),
            ("replayed", "StartHeight", 1),
            ("step", "TimeoutFired", 1),
            ("replayed", "TimeoutFired", 1),
            ("timeout", 1, 0, "PROPOSE"),
            ("sign", "prevote", 1, 0),
            ("wal", "VoteSigned", 1),
            ("broadcast", "BroadcastVote", 1, 0),
        ),
        absent=(("wal-start", 1), ("wal", "TimeoutFired", 1)),
        given=lambda guard: guard.sign_vote(PV, 1, 0, None, NOW - 5),
    ),
    Row(
        "a message of the current height is fed at once",
        FOUR,
        US,
        (start(1), deliver(VoteReceived(vote(PEER, PV, 1, 0, BLOCK_B)))),
        (("wal", "VoteReceived", 1), ("step", "VoteReceived", 1)),
    ),
    Row(
        "a message of the next height is held, not fed",
        FOUR,
        US,
        (start(1), deliver(NEXT_HEIGHT_VOTE)),
        (("step", "StartHeight", 1),),
        absent=(("wal", "VoteReceived", 2), ("step", "VoteReceived", 2)),
    ),
    Row(
        "a held message goes through the WAL right after the StartHeight of its height",
        FOUR,
        US,
        (start(1), deliver(NEXT_HEIGHT_VOTE), start(2)),
        (
            ("wal-start", 2),
            ("step", "StartHeight", 2),
            ("wal", "VoteReceived", 2),
            ("step", "VoteReceived", 2),
        ),
    ),
    Row(
        "a held message of a height that is skipped is dropped",
        FOUR,
        US,
        (start(1), deliver(NEXT_HEIGHT_VOTE), start(3)),
        (("wal-start", 3),),
        absent=(("wal", "VoteReceived", 2),),
    ),
    Row(
        "waiting for work: no StartHeight (so no propose timer) until something starts it",
        FOUR,
        US,
        (start(1), wait_for_work(2), deliver(VoteReceived(vote(PEER, PV, 1, 0, BLOCK_B)))),
        (("wal", "VoteReceived", 1), ("step", "VoteReceived", 1)),
        absent=(("wal-start", 2), ("step", "StartHeight", 2), ("timeout", 2, 0, "PROPOSE")),
    ),
    Row(
        "a peer's message of the height waited for starts it at once, then goes through the WAL",
        FOUR,
        US,
        (start(1), wait_for_work(2), deliver(NEXT_HEIGHT_VOTE)),
        (
            ("wal-start", 2),
            ("step", "StartHeight", 2),
            ("timeout", 2, 0, "PROPOSE"),
            ("wal", "VoteReceived", 2),
            ("step", "VoteReceived", 2),
        ),
    ),
    Row(
        "work arrived: wake starts the height waited for, once; the heartbeat is then a no-op",
        FOUR,
        US,
        (start(1), wait_for_work(2), wake(2), wake(2), start_next(2)),
        (("wal-start", 2), ("step", "StartHeight", 2)),
    ),
    Row(
        "a proposer that waited proposes as soon as it is woken",
        FOUR,
        next(i for i in range(4) if KEYS[i].public == proposer_of(FOUR, 2, 0)),
        (start(1), wait_for_work(2), wake(2)),
        (("wal-start", 2), ("build", 2, 0), ("sign", "proposal", 2, 0)),
    ),
    Row(
        "wake does nothing for a height nobody waits for",
        FOUR,
        US,
        (start(1), wake(2), wait_for_work(3), wake(3)),
        (("wal-start", 1),),
        absent=(("wal-start", 2), ("wal-start", 3)),
    ),
    Row(
        "restart from an empty WAL starts the height after the block store",
        FOUR,
        US,
        (restart((), 7),),
        (("wal-start", 8), ("step", "StartHeight", 8), ("timeout", 8, 0, "PROPOSE")),
    ),
    Row(
        "restart from a WAL behind the store: replay it, then start after the store",
        FOUR,
        US,
        (restart((StartHeight(3, FOUR),), 5),),
        (
            ("step", "StartHeight", 3),
            ("replayed", "StartHeight", 3),
            ("timeout", 3, 0, "PROPOSE"),
            ("wal-start", 6),
        ),
        absent=(("wal-start", 3), ("wal", "StartHeight", 3)),
    ),
]


def _ordering_problems(journal: list[Entry]) -> list[str]:
    problems = []
    for i, entry in enumerate(journal):
        before = journal[i - 1] if i else None
        if entry[0] == "step":
            _, kind, height = entry
            after = journal[i + 1] if i + 1 < len(journal) else None
            logged = before == ("wal", kind, height) or (
                kind == "StartHeight" and before == ("wal-start", height)
            )
            if not logged and after != ("replayed", kind, height):
                problems.append(f"entry {i}: {entry} stepped without a WAL record first")
        if entry[0] in ("sign", "refused") and before != ("sync",):
            problems.append(f"entry {i}: {entry} without a WAL sync first")
    return problems


def _missing_in_order(journal: list[Entry], expected: tuple[Entry, ...]) -> list[Entry]:
    rest = iter(journal)
    return [e for e in expected if not any(entry == e for entry in rest)]


@pytest.mark.parametrize("row", TABLE, ids=[row.name for row in TABLE])
def test_host(row: Row) -> None:
    world = World(row.vs, row.us, row.stored)
    if row.given is not None:
        row.given(world.guard())
    host = world.new_host()
    for call in row.when:
        call(host)
    journal = world.journal
    assert not _ordering_problems(journal), (_ordering_problems(journal), journal)
    assert not _missing_in_order(journal, row.then), (_missing_in_order(journal, row.then), journal)
    assert [e for e in row.absent if e in journal] == [], journal
    assert host.refusals == row.refusals


def test_restart_skips_a_record_the_core_refuses_and_says_which() -> None:
    """A WAL written under another key: the core refuses its VoteSigned (ConsensusError)."""
    world = World(FOUR, US)
    host = world.new_host()
    other_key_vote = VoteSigned(vote(PEER, PV, 1, 0, None))
    report = host.restart((StartHeight(1, FOUR), other_key_vote), 0, NOW)
    assert report.replayed == 2
    assert [index for index, _ in report.skipped] == [1]
    assert "not signed with our validator key" in report.skipped[0][1]
    assert host.core.height == 1


def test_restart_lets_any_other_error_out() -> None:
    """Only the core's refusal is expected in a replay; a bug must fail loudly."""

    class BrokenCore(Core):
        def step(self, inp: Input) -> list[Action]:
            if isinstance(inp, TimeoutFired):
                raise RuntimeError("a bug in the core")
            return super().step(inp)

    host = World(FOUR, US).new_host(BrokenCore)
    with pytest.raises(RuntimeError, match="a bug in the core"):
        host.restart((StartHeight(1, FOUR), TIMEOUT_PROPOSE), 0, NOW)


def _idle(host: ConsensusHost) -> int | None:
    return host.idle_height  # read afresh each time (no narrowing across calls)


def test_wait_for_work_only_before_the_next_height_and_not_with_a_peer_already_in_it() -> None:
    world = World(FOUR, US)
    host = world.new_host()
    host.start_height(1, NOW)
    assert host.wait_for_work(3) is False  # not the next height
    assert _idle(host) is None
    host.deliver(NEXT_HEIGHT_VOTE, NOW)  # a peer is in height 2 already: held
    assert host.wait_for_work(2) is False  # the caller starts it now
    assert _idle(host) is None
    assert host.start_next(2, NOW) is True
    assert ("wal", "VoteReceived", 2) in world.journal  # the held vote, after StartHeight


def test_a_started_height_ends_the_wait() -> None:
    world = World(FOUR, US)
    host = world.new_host()
    host.start_height(1, NOW)
    assert host.wait_for_work(2) is True
    assert _idle(host) == 2
    assert host.start_next(2, NOW) is True  # the heartbeat deadline
    assert _idle(host) is None
    assert host.wake(2, NOW) is False
