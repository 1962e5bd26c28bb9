"""A simulated node: a consensus core inside the node shell the contract describes.

Theory of operation
-------------------
``SimNode`` carries out the core's actions as ``consensus/__init__.py`` tells
the node to: WAL before every input (here the list of inputs since the last
``StartHeight``; ``synced`` counts those an fsync made durable; encoded to
``consensus.wal`` bytes only at a crash, since encoding every input costs
more than the core), sign through a ``SignerGuard`` (memory store: durable
across simulated crashes) after syncing the WAL, hold next-height messages
in a ``NextHeightBuffer``, build and validate blocks (after a small delay),
store decisions, start the next height, and gossip. Behaviours: ``honest``,
``twin`` (honest code; another instance runs the same key) and
``equivocator`` (signs a second, conflicting vote or proposal and sends
each to half of the peers). Crashes keep the synced WAL plus a random part
of the rest, maybe with a corrupt byte; a restart replays the WAL into a
fresh core, checks it reproduced the crashed incarnation's actions, and
carries out every replayed action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from consensus import (
    BlockValidated,
    BroadcastProposal,
    BroadcastVote,
    ConflictingProposal,
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
    TimeoutFired,
    ValueReady,
    VoteReceived,
    VoteSigned,
    bft_time,
    commit_votes,
)
from consensus.actions import Action
from consensus.buffer import NextHeightBuffer
from consensus.inputs import Input
from consensus.wal import MAGIC, decode_log, encode_record
from ledger.crypto import blake2b256
from ledger.types import Commit, Evidence, Proposal, Vote, VoteType
from node.daemon.signer_guard import DoubleSignError, MemorySignerStore, SignerGuard

from .world import ANSWER, GENESIS_HASH, GENESIS_TIME_MS, SIM_TIMEOUTS, START, TIMER, validator_key

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
        self.store = MemorySignerStore()
        self.alive = True
        self.epoch = 0
        self.commits: dict[int, Commit] = {}  # the block store: survives crashes
        self.decisions: dict[int, tuple[int, bytes, int]] = {}  # h -> (round, hash, time)
        self.incarnations: list[Incarnation] = []
        self._new_core()
        self.wal: list[Input] = []
        self.synced = 0
        self.height_log: list[list[Action]] = []  # actions per WAL record since StartHeight
        self.alt_votes: dict[tuple[int, int, int], Vote] = {}
        self.refusals = 0
        self.disk = b""
        self.forget_on_restart = False  # negative control: restart without WAL or signer state
        self.next_height = NextHeightBuffer()
        self.own_messages: dict[int, list[tuple[Any, ...]]] = {}  # round -> sent this height
        self._progress: tuple[int, int, int] | None = None

    def _new_core(self) -> None:
        self.core = Core(CoreConfig(self.address, SIM_TIMEOUTS))
        self.guard = SignerGuard(self.key, GENESIS_HASH, self.store)
        self.inc = Incarnation()
        self.incarnations.append(self.inc)

    # ------------------------------------------------------------ inputs

    def feed(self, inp: Input, *, log: bool = True) -> None:
        if log:
            if isinstance(inp, StartHeight):
                self.wal = []
                self.synced = 0
                self.height_log = []
            self.wal.append(inp)
        if isinstance(inp, (VoteReceived, VoteSigned)):
            vote = inp.vote
            if vote.height == self.core.height:
                key = (vote.validator, vote.height, vote.round, int(vote.vote_type))
                self.inc.expected_equivocations.setdefault(key, set()).add(vote.block_hash)
        actions = self.core.step(inp)
        self.sim.steps += 1
        self.height_log.append(actions)
        self.execute(actions)

    def start_height(self, inp: StartHeight) -> None:
        """StartHeight, then the held messages of that height (all through the WAL)."""
        self.own_messages = {}
        self.feed(inp)
        for item in self.next_height.release(inp.height):
            self.feed(item)

    def _deliver(self, item: VoteReceived | ProposalReceived) -> None:
        if not self.next_height.hold(item, self.core.height):
            self.feed(item)

    # ------------------------------------------------------------ actions

    def execute(self, actions: list[Action]) -> None:
        sim = self.sim
        for action in actions:
            if isinstance(action, BroadcastVote):
                self._broadcast_vote(action.vote)
            elif isinstance(action, ScheduleTimeout):
                inp = TimeoutFired(action.height, action.round, action.step)
                sim.push(sim.now + action.duration_ms, TIMER, self.iid, self.epoch, inp)
            elif isinstance(action, SignVote):
                self._sign_vote(action)
            elif isinstance(action, BroadcastProposal):
                self._broadcast_proposal(action)
            elif isinstance(action, SignProposal):
                self.synced = len(self.wal)
                try:
                    p = self.guard.sign_proposal(
                        action.height, action.round, action.pol_round, action.block_hash
                    )
                except DoubleSignError:
                    self.refusals += 1
                    continue
                sim.record_signature(
                    self, action.height, action.round, 1, p.sign_bytes(GENESIS_HASH)
                )
                self.feed(ProposalSigned(p))
            elif isinstance(action, RequestValue):
                self._build_block(action)
            elif isinstance(action, RequestValidation):
                block = sim.blocks.get(action.block_hash)
                valid = block is not None and block.valid and block.height == action.height
                answer = BlockValidated(
                    action.height, action.block_hash, valid, block.time_ms if block else 0
                )
                sim.push(sim.now + sim.rng.randint(0, 3), ANSWER, self.iid, self.epoch, answer)
            elif isinstance(action, Decide):
                self._decide(action)
            elif isinstance(action, EvidenceFound):
                self.inc.evidence.append(action.evidence)
            elif isinstance(action, ConflictingProposal):
                sim.conflicting_proposals += 1

    def clock(self) -> int:
        return GENESIS_TIME_MS + self.sim.now + self.skew_ms

    def _sign_vote(self, action: SignVote) -> None:
        sim = self.sim
        self.synced = len(self.wal)  # wal.sync() before the signature can leave
        ts = max(self.clock(), action.min_timestamp_ms)
        try:
            vote = self.guard.sign_vote(
                action.vote_type, action.height, action.round, action.block_hash, ts
            )
        except DoubleSignError:
            self.refusals += 1
            return
        step = 2 if action.vote_type is VoteType.PREVOTE else 3
        sim.record_signature(self, vote.height, vote.round, step, vote.sign_bytes(GENESIS_HASH))
        if self.behaviour == "equivocator" and sim.rng.random() < 0.7:
            other = self._other_value(vote)
            alt = Vote.create(
                self.key, GENESIS_HASH, vote.vote_type, vote.height, vote.round, other, ts
            )
            self.alt_votes[(vote.height, vote.round, step)] = alt
        self.feed(VoteSigned(vote))

    def _other_value(self, vote: Vote) -> bytes | None:
        if vote.block_hash is not None:
            return None
        known = sorted(h for h, b in self.sim.blocks.items() if b.height == vote.height)
        return self.sim.rng.choice(known) if known else blake2b256(b"no-such-block")

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

    def _build_block(self, action: RequestValue) -> None:
        sim = self.sim
        h = action.height
        # BFT time: the genesis time at height 1, else the weighted median of the
        # precommit timestamps of the commit this block carries (our own, here).
        time_ms = GENESIS_TIME_MS if h == 1 else bft_time(self.commits[h - 1], sim.set_for(h - 1))
        block_hash = sim.new_block(h, self, valid=True, time_ms=time_ms)
        answer = ValueReady(h, action.round, block_hash, time_ms, b"")
        sim.push(sim.now + sim.rng.randint(0, 5), ANSWER, self.iid, self.epoch, answer)

    def _decide(self, action: Decide) -> None:
        sim = self.sim
        h = action.height
        if h not in self.commits:  # not yet in the block store
            self.commits[h] = action.commit
            block = sim.blocks[action.block_hash]
            self.decisions[h] = (action.round, action.block_hash, block.time_ms)
            sim.on_decision(self, h)
        if self.core.height == h:
            sim.push(
                sim.now + sim.block_interval_ms,
                START,
                self.iid,
                self.epoch,
                StartHeight(h + 1, sim.set_for(h + 1)),
            )

    # ------------------------------------------------------------ network

    def receive(self, msg: tuple[Any, ...], src: SimNode) -> None:
        sim = self.sim
        kind = msg[0]
        if kind == "v":
            vote: Vote = msg[1]
            if not sim.verify_vote(vote):
                return
            self._sync_with(src, vote.height, vote.round)
            self._deliver(VoteReceived(vote))
        elif kind == "p":
            p: Proposal = msg[1]
            if not sim.verify_proposal(p):
                return
            self._sync_with(src, p.height, p.round)
            for vote in msg[3]:
                if sim.verify_vote(vote):
                    self._deliver(VoteReceived(vote))
            self._deliver(ProposalReceived(p, msg[2]))
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
        sim = self.sim
        self.alive = False
        self.epoch += 1
        self.next_height = NextHeightBuffer()  # memory only
        self.own_messages = {}
        # What reached the disk: the synced prefix, plus part of the rest (torn write).
        synced = MAGIC + b"".join(encode_record(inp) for inp in self.wal[: self.synced])
        rest = b"".join(encode_record(inp) for inp in self.wal[self.synced :])
        disk = bytearray(synced + rest[: sim.rng.randint(0, len(rest))])
        if len(disk) > len(synced) and sim.rng.random() < 0.3:
            disk[sim.rng.randrange(len(synced), len(disk))] ^= 0x5A  # corrupt unsynced tail
        self.disk = bytes(disk)

    def restart(self) -> None:
        sim = self.sim
        self.alive = True
        old_log = self.height_log
        if self.forget_on_restart:
            self.store = MemorySignerStore()
            self.disk = b""
        self._new_core()
        contents = decode_log(self.disk)
        if contents.problem is not None:
            sim.torn_tails += 1
        self.wal = list(contents.inputs)  # the file layer truncates to the good prefix
        self.synced = len(self.wal)
        replayed: list[Action] = []
        self.height_log = []
        for inp in contents.inputs:
            if isinstance(inp, (VoteReceived, VoteSigned)) and inp.vote.height == self.core.height:
                v = inp.vote
                key = (v.validator, v.height, v.round, int(v.vote_type))
                self.inc.expected_equivocations.setdefault(key, set()).add(v.block_hash)
            actions = self.core.step(inp)
            self.height_log.append(actions)
            replayed.extend(actions)
        # A deterministic core reproduces, record by record, what it did before.
        for i, actions in enumerate(self.height_log):
            if i < len(old_log) and actions != old_log[i]:
                self.inc.replay_mismatch = f"record {i}: {actions!r} != {old_log[i]!r}"
                break
        if not contents.inputs:
            height = max(self.commits, default=0) + 1
            self.start_height(StartHeight(height, sim.set_for(height)))
            return
        self.execute(replayed)
