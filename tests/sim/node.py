"""A simulated node: the shipped ``ConsensusHost`` with simulated I/O.

Theory of operation
-------------------
``SimNode`` is to the simulation what ``node/daemon/consensus_loop.py`` is
to the real node: an adapter that gives ``consensus.host.ConsensusHost``
its I/O. The host does what the contract in ``consensus/__init__.py``
prescribes (WAL before every input, WAL sync before signing, the
next-height buffer, decide → store → next height, restart from the WAL), so
every scenario exercises the logic the node ships. This module supplies:

* ``SimWal``: the inputs since the last ``StartHeight``; ``synced`` counts
  those an fsync made durable. They are encoded to ``consensus.wal`` bytes
  only at a crash, since encoding every input costs more than the core;
* the ``Signer``: a ``SignerGuard`` on a memory store (durable across
  simulated crashes); every signature by an honest node is recorded for
  the double-signing check;
* ``Blocks``: blocks are records in the simulation; building and
  validating answer after a small random delay; the block store is
  ``commits`` (it survives crashes);
* the ``Outbox``: gossip, timers and the next height as events of the
  simulation's queue; with ``sim.idle_ms`` a node with no transaction
  waits for work after the pause (``pause_over``), woken by a transaction
  (``tx_arrived``), a peer's message of the height, or its heartbeat.

Behaviours: ``honest``, ``twin`` (honest code; another instance runs the same
key) and ``equivocator`` (signs a second, conflicting vote or proposal and
sends each to half of the peers). Crashes keep the synced WAL plus a random
part of the rest, maybe with a corrupt byte; a restart builds a fresh core
and host and restarts it from that WAL (the host replays and carries out
every replayed action); the host's step observer checks, record by record,
that the replay reproduced the crashed incarnation's actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from consensus import (
    BlockValidated,
    BroadcastProposal,
    BroadcastVote,
    ConflictingProposal,
    Core,
    CoreConfig,
    Decide,
    ProposalReceived,
    RequestValidation,
    RequestValue,
    ScheduleTimeout,
    SignProposal,
    SignVote,
    StartHeight,
    TimeoutFired,
    ValueReady,
    VoteReceived,
    VoteSigned,
    bft_time,
    commit_votes,
)
from consensus.actions import Action
from consensus.host import ConsensusHost, Stored
from consensus.inputs import Input
from consensus.wal import MAGIC, decode_log, encode_record
from ledger.crypto import blake2b256
from ledger.types import Commit, Evidence, Proposal, ValidatorSet, Vote, VoteType
from node.daemon.signer_guard import DoubleSignError, MemorySignerStore, SignerGuard

from .world import (
    ANSWER,
    GENESIS_HASH,
    GENESIS_TIME_MS,
    HEARTBEAT,
    SIM_TIMEOUTS,
    START,
    TIMER,
    validator_key,
)

if TYPE_CHECKING:
    from .harness import Simulation


@dataclass(slots=True)
class Incarnation:
    """One life of a node between crashes: what its core saw and said."""

    expected_equivocations: dict[tuple[bytes, int, int, int], set[bytes | None]] = field(
        default_factory=dict
    )
    evidence: list[Evidence] = field(default_factory=list)
    replay_mismatch: str | None = None


class SimWal:
    """The host's ``WalWriter``: the inputs since the last ``StartHeight``, in memory."""

    def __init__(self, inputs: tuple[Input, ...] = ()) -> None:
        self.inputs = list(inputs)
        self.synced = len(self.inputs)  # what a restart read is on disk

    def append(self, inp: Input) -> None:
        self.inputs.append(inp)

    def sync(self) -> None:
        self.synced = len(self.inputs)

    def start_height(self, inp: StartHeight) -> None:
        # Counted as not yet synced: a crash may lose it (the restart then starts
        # the height after the block store, as with an empty WAL).
        self.inputs = [inp]
        self.synced = 0

    def crash(self, rng: Random) -> bytes:
        """What reached the disk: the synced prefix, part of the rest, maybe a bad byte."""
        synced = MAGIC + b"".join(encode_record(inp) for inp in self.inputs[: self.synced])
        rest = b"".join(encode_record(inp) for inp in self.inputs[self.synced :])
        disk = bytearray(synced + rest[: rng.randint(0, len(rest))])
        if len(disk) > len(synced) and rng.random() < 0.3:
            disk[rng.randrange(len(synced), len(disk))] ^= 0x5A  # corrupt unsynced tail
        return bytes(disk)


class SimNode:
    def __init__(
        self, sim: Simulation, iid: int, vindex: int, behaviour: str, skew_ms: int
    ) -> None:
        self.sim = sim
        self.iid = iid
        self.vindex = vindex
        self.key = validator_key(vindex)
        self.address = self.key.public
        self.behaviour = behaviour
        self.honest = behaviour == "honest"
        self.skew_ms = skew_ms
        self.signer_store = MemorySignerStore()
        self.alive = True
        self.epoch = 0
        self.commits: dict[int, Commit] = {}  # the block store: survives crashes
        self.decisions: dict[int, tuple[int, bytes, int]] = {}  # h -> (round, hash, time)
        self.incarnations: list[Incarnation] = []
        self.wal = SimWal()
        self._new_host()
        self.height_log: list[list[Action]] = []  # actions per WAL record since StartHeight
        self._old_log: list[list[Action]] = []  # the crashed incarnation's, during a replay
        self.alt_votes: dict[tuple[int, int, int], Vote] = {}
        self.disk = b""
        self.forget_on_restart = False  # negative control: restart without WAL or signer state
        self.own_messages: dict[int, list[tuple[Any, ...]]] = {}  # round -> sent this height
        self._progress: tuple[int, int, int] | None = None
        self.pool = False  # a transaction waits for a block (idle scenarios)

    def _new_host(self) -> None:
        self.guard = SignerGuard(self.key, GENESIS_HASH, self.signer_store)
        self.host = ConsensusHost(
            Core(CoreConfig(self.address, SIM_TIMEOUTS)),
            wal=self.wal,
            signer=self,
            blocks=self,
            outbox=self,
            on_step=self._observe,
        )
        self.inc = Incarnation()
        self.incarnations.append(self.inc)

    @property
    def core(self) -> Core:
        return self.host.core

    def clock(self) -> int:
        return GENESIS_TIME_MS + self.sim.now + self.skew_ms

    # ------------------------------------------------------------ inputs

    def start(self) -> None:
        """First start: an empty WAL and an empty block store."""
        self.host.restart((), max(self.commits, default=0), self.clock())

    def feed(self, inp: Input) -> None:
        self.host.feed(inp, self.clock())

    def start_next(self, height: int) -> None:
        self.host.start_next(height, self.clock())

    def pause_over(self, height: int) -> None:
        """The pause after a decision is over: start, or wait for work (idle scenarios)."""
        if self.sim.idle_ms and not self.pool and self.host.wait_for_work(height):
            self.sim.idle_waits += 1
            return  # a transaction, a peer's message or the heartbeat starts it
        self.start_next(height)

    def heartbeat(self, height: int) -> None:
        """``idle_ms`` after the decision: start the height if nothing did meanwhile."""
        if self.host.idle_height == height:
            self.sim.woken["heartbeat"] += 1
        self.start_next(height)

    def tx_arrived(self, *, gossip: bool) -> None:
        """A transaction reached this node's pool: a node waiting for work starts at once."""
        if gossip:
            self.sim.broadcast(self, ("t",))
        self.pool = True
        height = self.host.idle_height
        if height is not None and self.host.wake(height, self.clock()):
            self.sim.woken["transaction"] += 1

    def _observe(self, inp: Input, actions: list[Action], replayed: bool) -> None:
        """The host's step observer: what the checks need to know about each step."""
        if isinstance(inp, StartHeight):
            self.height_log = []
            self.own_messages = {}
        if isinstance(inp, (VoteReceived, VoteSigned)):
            vote = inp.vote
            if vote.height == self.core.height:  # only StartHeight moves the height
                key = (vote.validator, vote.height, vote.round, int(vote.vote_type))
                self.inc.expected_equivocations.setdefault(key, set()).add(vote.block_hash)
        if replayed:
            # A deterministic core reproduces, record by record, what it did before.
            i = len(self.height_log)
            old = self._old_log
            if self.inc.replay_mismatch is None and i < len(old) and actions != old[i]:
                self.inc.replay_mismatch = f"record {i}: {actions!r} != {old[i]!r}"
        else:
            self.sim.steps += 1
        self.height_log.append(actions)

    # ------------------------------------------------------------ Signer

    def sign_vote(self, request: SignVote, timestamp_ms: int) -> Vote | None:
        sim = self.sim
        try:
            vote = self.guard.sign_vote(
                request.vote_type, request.height, request.round, request.block_hash, timestamp_ms
            )
        except DoubleSignError:
            return None
        step = 2 if request.vote_type is VoteType.PREVOTE else 3
        sim.record_signature(self, vote.height, vote.round, step, vote.sign_bytes(GENESIS_HASH))
        if self.behaviour == "equivocator" and sim.rng.random() < 0.7:
            other = self._other_value(vote)
            alt = Vote.create(
                self.key, GENESIS_HASH, vote.vote_type, vote.height, vote.round, other, timestamp_ms
            )
            self.alt_votes[(vote.height, vote.round, step)] = alt
        return vote

    def sign_proposal(self, request: SignProposal) -> Proposal | None:
        try:
            p = self.guard.sign_proposal(
                request.height, request.round, request.pol_round, request.block_hash
            )
        except DoubleSignError:
            return None
        self.sim.record_signature(self, p.height, p.round, 1, p.sign_bytes(GENESIS_HASH))
        return p

    def _other_value(self, vote: Vote) -> bytes | None:
        if vote.block_hash is not None:
            return None
        known = sorted(h for h, b in self.sim.blocks.items() if b.height == vote.height)
        return self.sim.rng.choice(known) if known else blake2b256(b"no-such-block")

    # ------------------------------------------------------------ Blocks

    def validators_for(self, height: int) -> ValidatorSet:
        return self.sim.set_for(height)

    def build(self, request: RequestValue) -> ValueReady | None:
        sim = self.sim
        h = request.height
        # BFT time: the genesis time at height 1, else the weighted median of the
        # precommit timestamps of the commit this block carries (our own, here).
        time_ms = GENESIS_TIME_MS if h == 1 else bft_time(self.commits[h - 1], sim.set_for(h - 1))
        block_hash = sim.new_block(h, self, valid=True, time_ms=time_ms)
        answer = ValueReady(h, request.round, block_hash, time_ms, b"")
        sim.push(sim.now + sim.rng.randint(0, 5), ANSWER, self.iid, self.epoch, answer)
        return None  # the builder answers later

    def validate(self, request: RequestValidation) -> BlockValidated | None:
        sim = self.sim
        block = sim.blocks.get(request.block_hash)
        valid = block is not None and block.valid and block.height == request.height
        answer = BlockValidated(
            request.height, request.block_hash, valid, block.time_ms if block else 0
        )
        sim.push(sim.now + sim.rng.randint(0, 3), ANSWER, self.iid, self.epoch, answer)
        return None  # the executor answers later

    def store(self, decision: Decide) -> Stored:
        h = decision.height
        if h in self.commits:
            return Stored.ALREADY
        self.commits[h] = decision.commit
        self.pool = False  # the block took the transactions
        block = self.sim.blocks[decision.block_hash]
        self.decisions[h] = (decision.round, decision.block_hash, block.time_ms)
        self.sim.on_decision(self, h)
        return Stored.STORED

    # ------------------------------------------------------------ Outbox

    def broadcast(self, action: BroadcastVote | BroadcastProposal) -> None:
        if isinstance(action, BroadcastVote):
            self._broadcast_vote(action.vote)
        else:
            self._broadcast_proposal(action)

    def schedule_timeout(self, action: ScheduleTimeout) -> None:
        sim = self.sim
        inp = TimeoutFired(action.height, action.round, action.step)
        sim.push(sim.now + action.duration_ms, TIMER, self.iid, self.epoch, inp)

    def schedule_start(self, height: int) -> None:
        sim = self.sim
        sim.push(sim.now + sim.block_interval_ms, START, self.iid, self.epoch, height)
        if sim.idle_ms:
            heartbeat = sim.now + max(sim.idle_ms, sim.block_interval_ms)
            sim.push(heartbeat, HEARTBEAT, self.iid, self.epoch, height)

    def evidence_found(self, evidence: Evidence) -> None:
        self.inc.evidence.append(evidence)

    def conflicting_proposal(self, action: ConflictingProposal) -> None:
        self.sim.conflicting_proposals += 1

    def _broadcast_vote(self, vote: Vote) -> None:
        sim = self.sim
        step = 2 if vote.vote_type is VoteType.PREVOTE else 3
        alt = self.alt_votes.pop((vote.height, vote.round, step), None)
        self.own_messages.setdefault(vote.round, []).append(("v", vote))
        if alt is None:
            sim.broadcast(self, ("v", vote))
        else:
            sim.split_broadcast(self, ("v", vote), ("v", alt))

    def _broadcast_proposal(self, action: BroadcastProposal) -> None:
        sim = self.sim
        p = action.proposal
        sim.proposed.add(p.block_hash)
        msg = ("p", p, action.payload, action.pol_votes)
        self.own_messages.setdefault(p.round, []).append(msg)
        if self.behaviour == "equivocator" and p.pol_round < 0 and sim.rng.random() < 0.7:
            alt_hash = sim.new_block(p.height, self, valid=sim.rng.random() < 0.8)
            alt = Proposal(
                p.height,
                p.round,
                p.pol_round,
                alt_hash,
                self.address,
                self.key.sign(
                    Proposal.sign_bytes_of(GENESIS_HASH, p.height, p.round, p.pol_round, alt_hash)
                ),
            )
            sim.proposed.add(alt_hash)
            sim.split_broadcast(self, msg, ("p", alt, b"", ()))
        else:
            sim.broadcast(self, msg)

    # ------------------------------------------------------------ network

    def receive(self, msg: tuple[Any, ...], src: SimNode) -> None:
        sim = self.sim
        waiting = self.host.idle_height
        self._receive(msg, src)
        if waiting is not None and self.host.idle_height is None and self.core.height == waiting:
            sim.woken["peer"] += 1  # a peer's message of the height we waited for started it

    def _receive(self, msg: tuple[Any, ...], src: SimNode) -> None:
        sim = self.sim
        kind = msg[0]
        if kind == "v":
            vote: Vote = msg[1]
            if not sim.verify_vote(vote):
                return
            self._sync_with(src, vote.height, vote.round)
            self.host.deliver(VoteReceived(vote), self.clock())
        elif kind == "p":
            p: Proposal = msg[1]
            if not sim.verify_proposal(p):
                return
            self._sync_with(src, p.height, p.round)
            for vote in msg[3]:
                if sim.verify_vote(vote):
                    self.host.deliver(VoteReceived(vote), self.clock())
            self.host.deliver(ProposalReceived(p, msg[2]), self.clock())
        elif kind == "t":
            self.tx_arrived(gossip=False)
        elif kind == "s":
            commit = self.commits.get(msg[1])
            if commit is not None:
                sim.send(self, src, ("c", commit))
        elif kind == "c":
            commit = msg[1]
            if commit.height != self.core.height:
                return
            for vote in commit_votes(commit):
                if sim.verify_vote(vote):
                    self.feed(VoteReceived(vote))

    def gossip_tick(self) -> None:
        """Eventual delivery: stuck since the last tick? Re-send this round's messages."""
        core = self.core
        progress = (core.height, core.round, int(core.state.step))
        if progress == self._progress:
            for msg in self.own_messages.get(core.round, ()):
                self.sim.broadcast(self, msg)
        self._progress = progress

    def _sync_with(self, src: SimNode, height: int, round_: int) -> None:
        """Block sync: help a peer that is behind, or ask a peer that is ahead.

        Within a height, a peer heard from a lower round gets our messages of
        that round (CometBFT's gossip sends a peer the votes of its round).
        """
        mine = self.core.height
        sim = self.sim
        if height == mine:
            if round_ < self.core.round and round_ in self.own_messages:
                key4 = (self.iid, src.iid, height, round_)
                last = sim.round_sync_sent.get(key4)
                if last is None or sim.now - last >= 200:
                    sim.round_sync_sent[key4] = sim.now
                    for msg in self.own_messages[round_]:
                        sim.send(self, src, msg)
            return
        key = (self.iid, src.iid, min(height, mine))
        last = sim.sync_sent.get(key)
        if last is not None and sim.now - last < 200:
            return
        sim.sync_sent[key] = sim.now
        if height < mine:
            commit = self.commits.get(height)
            if commit is not None:
                sim.send(self, src, ("c", commit))
        else:
            sim.send(self, src, ("s", mine))

    # ------------------------------------------------------------ crashes

    def crash(self) -> None:
        self.alive = False
        self.epoch += 1
        self.own_messages = {}  # memory only (the next-height buffer goes with the host)
        self.disk = self.wal.crash(self.sim.rng)

    def restart(self) -> None:
        self.alive = True
        if self.forget_on_restart:
            self.signer_store = MemorySignerStore()
            self.disk = b""
        contents = decode_log(self.disk)
        if contents.problem is not None:
            self.sim.torn_tails += 1
        self.wal = SimWal(contents.inputs)  # the file layer truncates to the good prefix
        self._new_host()
        self._old_log, self.height_log = self.height_log, []
        store_height = max(self.commits, default=0)
        report = self.host.restart(contents.inputs, store_height, self.clock())
        self._old_log = []
        if report.skipped and self.inc.replay_mismatch is None:
            self.inc.replay_mismatch = f"records the core refused: {report.skipped!r}"
