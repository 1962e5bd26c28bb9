"""A deterministic network of consensus cores with a virtual clock.

Theory of operation
-------------------
``Simulation`` owns a priority queue of timed events (message deliveries,
timers, block-builder/executor answers, crashes, restarts, network changes)
and a virtual clock in milliseconds; one seeded ``random.Random`` decides
every delay, drop and duplication, so a seed replays exactly.

Each ``SimNode`` (``node.py``) runs the node's own
``consensus.host.ConsensusHost`` and gives it simulated I/O: a WAL (the
inputs since the last ``StartHeight``; ``synced`` counts those an fsync made
durable; they are encoded to ``consensus.wal`` bytes only when the node
crashes, since encoding every input costs more than the core), a
``SignerGuard`` on a memory store (durable across crashes), a block store of
decided commits, value and validation requests answered after a small delay,
timers and the next height as events of the queue. The host carries out the
core's actions as the contract in ``consensus/__init__.py`` says (WAL before
every input, WAL sync before signing, next-height buffer, decide → store →
next height).

Gossip is eventually reliable the way a real node's is: a node that made no
progress for ``GOSSIP_MS`` re-sends its current round's messages; a node that
hears a peer at a lower round of its height sends it its messages of that
round; a node that hears a peer at a lower height sends it that height's
commit (block sync), and one that hears a peer ahead asks it for the commit
of its own height. Validator sets may change per height (``set_for``).

Blocks when there is work (``idle_ms`` > 0, create_empty_blocks = false):
transactions reach random nodes at random times (``WORK``) and spread by
gossip; a node whose pause after a decision ends with nothing to propose
waits before the next height (``ConsensusHost.wait_for_work``) until a
transaction or a peer's message of that height arrives, or ``HEARTBEAT``
(``idle_ms`` after the decision) starts it.

Behaviours: ``honest``; ``twin`` (an honest copy of a validator whose key
another instance also runs — the Twins approach); ``equivocator`` (signs a
second, conflicting vote or proposal and sends each to half of the peers).

A crash drops the node's in-flight events, keeps the synced WAL prefix plus a
random part of the unsynced tail (a torn write), optionally flips a byte of
that tail, and on restart gives a fresh core and host that WAL: the host
replays it and carries out every action of the replay. The replayed actions
are compared with those the crashed incarnation produced for the same inputs.

Everything observable for the checks (``checks.py``) is recorded here:
decisions, signatures by honest validators, evidence, blocks and proposals.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from random import Random
from typing import Any

from ledger.crypto import blake2b256
from ledger.types import Proposal, ValidatorSet, Vote

from .node import SimNode
from .world import (
    ANSWER,
    CRASH,
    DELIVER,
    GENESIS_HASH,
    GENESIS_TIME_MS,
    GOSSIP,
    GOSSIP_MS,
    HEARTBEAT,
    NET,
    RESTART,
    SIM_TIMEOUTS,
    START,
    TIMER,
    WORK,
    BlockRecord,
    validator_key,
)

__all__ = [
    "GENESIS_HASH",
    "GOSSIP_MS",
    "SIM_TIMEOUTS",
    "SimNode",
    "Simulation",
    "validator_key",
]


class Simulation:
    """The network, the clock and the record of what happened (module docstring)."""

    def __init__(
        self,
        seed: int,
        validator_sets: dict[int, ValidatorSet],
        instances: list[tuple[int, str, int]],
        *,
        delay_ms: tuple[int, int] = (1, 30),
        drop: float = 0.0,
        duplicate: float = 0.0,
        block_interval_ms: int = 5,
        idle_ms: int = 0,
    ) -> None:
        self.rng = Random(seed)
        self.now = 0
        self._queue: list[tuple[int, int, int, int, int, Any]] = []
        self._seq = 0
        # height -> the set from that height on. The node tells the core the set of
        # each height; a change the runtime returns at H is in this map at H+2.
        self.validator_sets = validator_sets
        self._members = {v.public for vs in validator_sets.values() for v in vs.validators}
        self.delay_ms = delay_ms
        self.drop = drop
        self.duplicate = duplicate
        self.block_interval_ms = block_interval_ms
        self.idle_ms = idle_ms
        self.groups: dict[int, int] | None = None
        self.blocks: dict[bytes, BlockRecord] = {}
        self.proposed: set[bytes] = set()
        self.signatures: dict[tuple[bytes, int, int, int], set[bytes]] = {}
        self.sync_sent: dict[tuple[int, int, int], int] = {}
        self.round_sync_sent: dict[tuple[int, int, int, int], int] = {}
        self._verified: dict[Vote | Proposal, bool] = {}
        self.messages = 0  # messages put on the wire (not dropped)
        self.steps = 0  # inputs processed by all cores
        self.conflicting_proposals = 0
        self.torn_tails = 0
        # Idle scenarios: waits for work, and what ended each (checks it is exercised).
        self.idle_waits = 0
        self.woken: dict[str, int] = {"transaction": 0, "peer": 0, "heartbeat": 0}
        self.decision_hooks: list[Callable[[SimNode, int], None]] = []
        self.nodes = [
            SimNode(self, iid, vindex, behaviour, skew)
            for iid, (vindex, behaviour, skew) in enumerate(instances)
        ]

    # ------------------------------------------------------------ events

    def push(self, time: int, kind: int, iid: int, epoch: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (time, self._seq, kind, iid, epoch, payload))

    def at(self, time: int, kind: int, payload: Any, iid: int = -1) -> None:
        self.push(time, kind, iid, 0, payload)

    def crash_at(self, time: int, iid: int) -> None:
        self.at(time, CRASH, None, iid)

    def restart_at(self, time: int, iid: int) -> None:
        self.at(time, RESTART, None, iid)

    def network_at(self, time: int, **changes: Any) -> None:
        self.at(time, NET, changes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
            self.push(GOSSIP_MS + node.iid, GOSSIP, node.iid, 0, None)
        if self.idle_ms:
            self._next_work()

    def _next_work(self) -> None:
        """The next transaction: to a random node, after a gap of up to 3 heartbeats."""
        rng = self.rng
        gap = rng.randint(self.idle_ms // 4, 3 * self.idle_ms)
        self.push(self.now + gap, WORK, rng.randrange(len(self.nodes)), 0, None)

    def run(self, until: int, done: Callable[[], bool]) -> None:
        queue = self._queue
        nodes = self.nodes
        while queue and queue[0][0] <= until:
            time, _, kind, iid, epoch, payload = heapq.heappop(queue)
            self.now = time
            if kind == DELIVER:
                node = nodes[iid]
                if node.alive:
                    node.receive(payload[0], payload[1])
            elif kind in (TIMER, ANSWER):
                node = nodes[iid]
                if node.alive and node.epoch == epoch:
                    node.feed(payload)
            elif kind == START:
                node = nodes[iid]
                if node.alive and node.epoch == epoch:
                    node.pause_over(payload)
            elif kind == HEARTBEAT:
                node = nodes[iid]
                if node.alive and node.epoch == epoch:
                    node.heartbeat(payload)
            elif kind == WORK:
                if nodes[iid].alive:
                    nodes[iid].tx_arrived(gossip=True)
                self._next_work()
            elif kind == GOSSIP:
                node = nodes[iid]
                if node.alive:
                    node.gossip_tick()
                self.push(time + GOSSIP_MS, GOSSIP, iid, 0, None)
            elif kind == NET:
                for name, value in payload.items():
                    setattr(self, name, value)
            elif kind == CRASH:
                if nodes[iid].alive:
                    nodes[iid].crash()
            elif kind == RESTART and not nodes[iid].alive:
                nodes[iid].restart()
            if done():
                return
        self.now = max(self.now, until)

    # ------------------------------------------------------------ network

    def send(self, src: SimNode, dst: SimNode, msg: tuple[Any, ...]) -> None:
        groups = self.groups
        if groups is not None and groups[src.iid] != groups[dst.iid]:
            return
        rng = self.rng
        if self.drop and rng.random() < self.drop:
            return
        lo, hi = self.delay_ms
        self.messages += 1
        self.push(self.now + rng.randint(lo, hi), DELIVER, dst.iid, 0, (msg, src))
        if self.duplicate and rng.random() < self.duplicate:
            self.push(self.now + rng.randint(lo, 2 * hi), DELIVER, dst.iid, 0, (msg, src))

    def broadcast(self, src: SimNode, msg: tuple[Any, ...]) -> None:
        for dst in self.nodes:
            if dst is not src:
                self.send(src, dst, msg)

    def split_broadcast(self, src: SimNode, msg_a: tuple[Any, ...], msg_b: tuple[Any, ...]) -> None:
        for dst in self.nodes:
            if dst is not src:
                self.send(src, dst, msg_a if self.rng.random() < 0.5 else msg_b)

    # ------------------------------------------------------------ the world

    def new_block(
        self, height: int, builder: SimNode, *, valid: bool, time_ms: int | None = None
    ) -> bytes:
        if time_ms is None:
            time_ms = GENESIS_TIME_MS + self.now
        block_hash = blake2b256(b"%d/%d/%d" % (height, builder.iid, len(self.blocks)))
        self.blocks[block_hash] = BlockRecord(height, valid, time_ms, builder.iid)
        return block_hash

    def set_for(self, height: int) -> ValidatorSet:
        return self.validator_sets[max(h for h in self.validator_sets if h <= height)]

    def verify_vote(self, vote: Vote) -> bool:
        ok = self._verified.get(vote)
        if ok is None:
            member = self.set_for(vote.height).power_of(vote.validator) > 0
            ok = self._verified[vote] = member and vote.verify(GENESIS_HASH)
        return ok

    def verify_proposal(self, p: Proposal) -> bool:
        ok = self._verified.get(p)
        if ok is None:
            ok = self._verified[p] = p.verify(GENESIS_HASH)
        return ok

    def record_signature(
        self, node: SimNode, height: int, round_: int, step: int, sign_bytes: bytes
    ) -> None:
        if node.honest:
            key = (node.address, height, round_, step)
            self.signatures.setdefault(key, set()).add(sign_bytes)

    def on_decision(self, node: SimNode, height: int) -> None:
        for hook in self.decision_hooks:
            hook(node, height)
