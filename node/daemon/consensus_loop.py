"""The trio adapter of the consensus host: timers, an inbox channel, the chain.

Theory of operation
-------------------
``consensus.host.ConsensusHost`` owns the contract of ``consensus/__init__.py``
(WAL before every step, WAL sync before signing, next-height buffer, decide →
store → next height, restart from the WAL); the simulation in ``tests/sim``
drives the same host. This module only supplies its I/O:

* one trio task (``run``) owns the host: it restarts it from the WAL, then
  feeds every input that arrives on its channel (``submit``), stamped with
  the wall clock (the host has none);
* ``Blocks``: validator sets, block building (mempool → ``Chain``) and
  validation, and committing a decided block with the callbacks of
  ``NodeService``;
* ``Outbox``: gossip through ``NodeService``, timeouts and the pause between
  heights as child tasks of the nursery, evidence kept for the next block we
  build;
* ``Signer``: the ``SignerGuard``, whose refusals are logged loudly.

Peer messages arrive already signature-checked by ``NodeService`` (against
the validator set of their height); block sync jumps the host forward with
``jump_to`` after committing blocks directly.

Blocks when there is work (``idle_wait_ms`` > 0, config
``create_empty_blocks = false``): when the pause after a commit is over and
``has_work()`` says the pool holds nothing ready, the next height is not
started; the host waits before it (``ConsensusHost.wait_for_work``) until
``work_arrived`` (the pool admitted an extrinsic), a peer's proposal or vote
of that height (``hold_or_submit``), or the heartbeat deadline,
``idle_wait_ms`` after the commit. Block sync's ``jump_to`` starts its
height at once. Only the moment a height starts changes; consensus itself
does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
import trio

from consensus import (
    BlockValidated,
    BroadcastProposal,
    BroadcastVote,
    ConflictingProposal,
    Core,
    Decide,
    Input,
    ProposalReceived,
    RequestValidation,
    RequestValue,
    ScheduleTimeout,
    SignProposal,
    SignVote,
    TimeoutFired,
    ValueReady,
    VoteReceived,
)
from consensus.actions import Action
from consensus.buffer import NextHeightBuffer
from consensus.host import ConsensusHost, Stored
from ledger.codec import DecodeError
from ledger.types import Block, Commit, Evidence, Proposal, ValidatorSet, Vote
from node.daemon.chain import Chain, Executed, select_evidence
from node.daemon.signer_guard import DoubleSignError, SignerGuard
from node.daemon.wal import WriteAheadLog
from pallets.executive.executor import InvalidBlock

log = structlog.get_logger("node.consensus")


def _describe(item: object) -> str:
    """Compact text of an input or action for debug logs (no signatures)."""
    fields = []
    for name in ("height", "round", "step", "vote_type", "valid"):
        value = getattr(item, name, None)
        if value is not None:
            fields.append(f"{name}={getattr(value, 'name', value)}")
    inner = getattr(item, "vote", None) or getattr(item, "proposal", None)
    if inner is not None:
        fields.append(f"h={inner.height} r={inner.round} from={_short(inner)}")
    return f"{type(item).__name__}({' '.join(fields)})"


def _short(message: object) -> str:
    key = getattr(message, "validator", None) or getattr(message, "proposer", None)
    return key.hex()[:8] if isinstance(key, bytes) else "-"


def _log_step(inp: Input, actions: list[Action], replayed: bool) -> None:
    log.debug(
        "step",
        input=_describe(inp),
        actions=[_describe(a) for a in actions],
        replayed=replayed,
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class GuardSigner:
    """The host's ``Signer`` over a ``SignerGuard``: a refusal is logged and dropped."""

    def __init__(self, guard: SignerGuard) -> None:
        self.guard = guard

    def sign_vote(self, request: SignVote, timestamp_ms: int) -> Vote | None:
        try:
            return self.guard.sign_vote(
                request.vote_type, request.height, request.round, request.block_hash, timestamp_ms
            )
        except DoubleSignError as exc:
            log.error("refused to double-sign", error=str(exc))
            return None

    def sign_proposal(self, request: SignProposal) -> Proposal | None:
        try:
            return self.guard.sign_proposal(
                request.height, request.round, request.pol_round, request.block_hash
            )
        except DoubleSignError as exc:
            log.error("refused to double-sign a proposal", error=str(exc))
            return None


class ConsensusLoop:
    """The node's consensus task: a ``ConsensusHost`` with trio I/O (module docstring)."""

    def __init__(
        self,
        *,
        core: Core,
        chain: Chain,
        wal: WriteAheadLog,
        guard: SignerGuard | None,
        block_interval_ms: int,
        build_block: Callable[[Commit | None, tuple[Evidence, ...], int], Executed],
        on_commit: Callable[[Executed, Commit], None],
        broadcast: Callable[[Action], None],
        idle_wait_ms: int = 0,
        has_work: Callable[[], bool] | None = None,
    ) -> None:
        self.core = core
        self.chain = chain
        self.guard = guard
        self.block_interval_ms = block_interval_ms
        self.idle_wait_ms = idle_wait_ms
        self._has_work = has_work
        self.started_at = 0.0  # trio time the current height started (stall detection)
        self._waits: dict[int, trio.CancelScope] = {}  # height -> its wait for work
        self._build_block = build_block
        self._on_commit = on_commit
        self._broadcast = broadcast
        self.evidence: dict[bytes, Evidence] = {}
        self.round = 0
        self._send, self._receive = trio.open_memory_channel[Input](4096)
        self._nursery: trio.Nursery | None = None
        debug = log.bind().is_enabled_for(10)  # logging.DEBUG
        self.host = ConsensusHost(
            core,
            wal=wal,
            signer=None if guard is None else GuardSigner(guard),
            blocks=self,
            outbox=self,
            on_step=_log_step if debug else None,
        )

    @property
    def next_height(self) -> NextHeightBuffer:
        """Peers that finished a height first send the next one's messages: held here."""
        return self.host.next_height

    # ------------------------------------------------------------ public

    async def run(self, replay: list[Input], task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            report = self.host.restart(replay, self.chain.height, now_ms())
            self.started_at = trio.current_time()
            for index, why in report.skipped:
                # The core refused the record (ConsensusError: a WAL of another key or
                # version); any other error is a bug and stops the node.
                log.warning("WAL record not replayable", record=index, error=why)
            task_status.started()
            async for inp in self._receive:
                self.host.feed(inp, now_ms())

    def submit(self, inp: Input) -> None:
        """Queue an input from another task (p2p, sync); never blocks."""
        try:
            self._send.send_nowait(inp)
        except trio.WouldBlock:
            log.warning("consensus inbox full, dropping input", kind=type(inp).__name__)

    def hold_or_submit(self, item: ProposalReceived | VoteReceived, height: int) -> None:
        """Queue a checked peer message of the current height; hold one of the next.

        A message of the height this node waits before (no work) starts it first:
        a peer is in that height, and a proposal made during the wait is taken at once.
        """
        if height == self.host.idle_height:
            self._wake(height)
        if height == self.core.height:
            self.submit(item)
        else:
            self.host.hold(item)

    def feed(self, inp: Input) -> None:
        self.host.feed(inp, now_ms())

    def jump_to(self, height: int) -> None:
        """After block sync committed up to ``height - 1``: start ``height`` now.

        No wait for work here: the core is still heights behind, where peers'
        messages of ``height`` cannot reach it (they are dropped as too far
        ahead), so only a started height is sure to hear the proposal. At worst
        its propose timeout brings on one empty block.
        """
        self._start(height)

    def work_arrived(self) -> None:
        """The pool admitted an extrinsic: a node waiting for work starts its height now."""
        height = self.host.idle_height
        if height is not None and self._work_ready():
            self._wake(height)

    @property
    def waiting_for_work(self) -> bool:
        """Whether the node waits, before the next height, for a transaction or a peer."""
        return self.host.idle_height is not None

    # ------------------------------------------------------------ starting heights

    def _work_ready(self) -> bool:
        return self._has_work is None or self._has_work()

    def _start(self, height: int) -> None:
        if self.host.start_next(height, now_ms()):
            self._started(height)

    def _wake(self, height: int) -> None:
        if self.host.wake(height, now_ms()):
            self._started(height)

    def _started(self, height: int) -> None:
        self.started_at = trio.current_time()
        for waiting in [h for h in self._waits if h <= height]:
            self._waits.pop(waiting).cancel()

    async def _wait_then_start(self, height: int, since: float) -> None:
        """Wait for work before ``height`` until the heartbeat deadline, then start it."""
        with trio.CancelScope() as scope:
            self._waits[height] = scope
            await trio.sleep_until(since + self.idle_wait_ms / 1000)
        self._waits.pop(height, None)
        if scope.cancelled_caught or self.host.idle_height != height:
            return  # started already: work arrived, a peer's message, block sync
        log.debug("heartbeat: no work, starting the height for block time", height=height)
        if self.chain.height == height - 1:
            self._start(height)

    # ------------------------------------------------------------ Blocks (for the host)

    def validators_for(self, height: int) -> ValidatorSet:
        return self.chain.validators_for(height)

    def build(self, request: RequestValue) -> ValueReady | None:
        if request.height != self.chain.height + 1:
            return None
        height = request.height
        last_commit = self.chain.blocks.commit_at(height - 1) if height > 1 else None
        evidence = select_evidence(self.evidence)
        block = self._build_block(last_commit, evidence, request.round).block
        log.debug("proposing", height=height, round=request.round, txs=len(block.extrinsics))
        return ValueReady(
            height, request.round, block.hash, block.header.timestamp_ms, block.encode()
        )

    def validate(self, request: RequestValidation) -> BlockValidated | None:
        invalid = BlockValidated(request.height, request.block_hash, False)
        block = self.chain.pending_block(request.block_hash)
        if block is None and request.payload:
            try:
                block = Block.decode(request.payload)
            except DecodeError as exc:
                log.info("proposal payload does not decode", error=str(exc))
                return invalid
        if block is None:
            return None  # the block has not arrived; its proposal will bring it
        if block.hash != request.block_hash or request.height != self.chain.height + 1:
            return invalid
        try:
            self.chain.validate_block(block, round_=request.round)
        except InvalidBlock as exc:
            log.warning("invalid proposal", height=request.height, reason=str(exc))
            return invalid
        return BlockValidated(request.height, request.block_hash, True, block.header.timestamp_ms)

    def store(self, decision: Decide) -> Stored:
        return self._decide(decision)

    def _decide(self, action: Decide) -> Stored:
        if action.height <= self.chain.height:
            return Stored.ALREADY  # WAL replay, or block sync got there first
        if action.height > self.chain.height + 1:
            # The store is behind the consensus WAL: a crash lost its newest
            # blocks (a torn LevelDB log) after the WAL had moved on. Peers have
            # them; block sync fills the gap, then jump_to starts the next height.
            log.warning(
                "decided a height the store is not ready for: syncing the gap",
                height=action.height,
                store_height=self.chain.height,
            )
            return Stored.NOT_READY
        block = self.chain.pending_block(action.block_hash)
        if block is None and action.payload:
            block = Block.decode(action.payload)
        if block is None:
            log.error("decided a block we do not have", height=action.height)
            return Stored.MISSING
        executed = self.chain.commit_block(block, action.commit)
        # A validator punished by this block needs no further proof: drop all of them.
        punished = {item.vote_a.validator for item in block.evidence}
        for key in [k for k, item in self.evidence.items() if item.vote_a.validator in punished]:
            del self.evidence[key]
        self._on_commit(executed, action.commit)
        return Stored.STORED

    # ------------------------------------------------------------ Outbox (for the host)

    def broadcast(self, action: BroadcastVote | BroadcastProposal) -> None:
        self._broadcast(action)

    def schedule_timeout(self, action: ScheduleTimeout) -> None:
        self.round = max(self.round, action.round) if action.height == self.core.height else 0

        async def fire() -> None:
            await trio.sleep(action.duration_ms / 1000)
            self.submit(TimeoutFired(action.height, action.round, action.step))

        assert self._nursery is not None
        self._nursery.start_soon(fire)

    def schedule_start(self, height: int) -> None:
        decided_at = trio.current_time()

        async def start() -> None:
            await trio.sleep(self.block_interval_ms / 1000)
            if self.chain.height != height - 1:
                return
            if self.idle_wait_ms > 0 and not self._work_ready() and self.host.wait_for_work(height):
                await self._wait_then_start(height, decided_at)
            else:
                self._start(height)

        assert self._nursery is not None
        self._nursery.start_soon(start)

    def evidence_found(self, evidence: Evidence) -> None:
        if self.guard is not None and evidence.vote_a.validator == self.guard.key.public:
            log.critical("evidence against OUR key: another process signs with it")
        log.warning(
            "equivocation evidence",
            validator=evidence.vote_a.validator.hex()[:16],
            height=evidence.vote_a.height,
        )
        self.evidence[evidence.hash] = evidence

    def conflicting_proposal(self, action: ConflictingProposal) -> None:
        log.warning("proposer equivocated", height=action.first.height)
