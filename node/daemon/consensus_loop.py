"""The consensus shell: turns I/O into core inputs and core actions into I/O.

Theory of operation
-------------------
One trio task (``run``) owns the core. Everything that reaches the core goes
through ``feed``: appended to the WAL, stepped, and every action carried out
in order (the contract of ``consensus/__init__.py``). Actions that answer the
core (signing, building, validating) feed their answer back through the same
path, so the WAL holds every input in the order the core saw it.

Peer messages arrive already signature-checked by ``NodeService`` (against
the validator set of their height); timers are child tasks that put a
``TimeoutFired`` on the loop's channel; block sync jumps the core forward
with ``StartHeight`` after committing blocks directly.
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
    EvidenceFound,
    Input,
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
)
from consensus.actions import Action
from consensus.buffer import NextHeightBuffer
from ledger.codec import DecodeError
from ledger.types import Block, Commit, Evidence
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


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class ConsensusLoop:
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
    ) -> None:
        self.core = core
        self.chain = chain
        self.wal = wal
        self.guard = guard
        self.block_interval_ms = block_interval_ms
        self._build_block = build_block
        self._on_commit = on_commit
        self._broadcast = broadcast
        self.evidence: dict[bytes, Evidence] = {}
        # Peers that finished a height first send the next one's messages;
        # the core takes only its current height, so they wait here.
        self.next_height = NextHeightBuffer()
        self.round = 0
        self._send, self._receive = trio.open_memory_channel[Input](4096)
        self._nursery: trio.Nursery | None = None
        self._debug = log.bind().is_enabled_for(10)  # logging.DEBUG

    # ------------------------------------------------------------ public

    async def run(self, replay: list[Input], task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            actions: list[Action] = []
            for inp in replay:
                try:
                    actions.extend(self.core.step(inp))
                except Exception as exc:  # a WAL from an older height: start fresh
                    log.warning("WAL record not replayable", error=str(exc))
            for action in actions:
                self._carry_out(action)
            if self.core.height <= self.chain.height:
                self.start_height(self.chain.height + 1)
            task_status.started()
            async for inp in self._receive:
                self.feed(inp)

    def submit(self, inp: Input) -> None:
        """Queue an input from another task (p2p, sync); never blocks."""
        try:
            self._send.send_nowait(inp)
        except trio.WouldBlock:
            log.warning("consensus inbox full, dropping input", kind=type(inp).__name__)

    def start_height(self, height: int) -> None:
        inp = StartHeight(height, self.chain.validators_for(height))
        self.wal.start_height(inp)
        self._step(inp)
        for held in self.next_height.release(height):
            self.feed(held)

    def hold_or_submit(self, item: ProposalReceived | VoteReceived, height: int) -> None:
        """Queue a checked peer message of the current height; hold one of the next."""
        if height == self.core.height:
            self.submit(item)
        else:
            self.next_height.hold(item, self.core.height)

    def feed(self, inp: Input) -> None:
        self.wal.append(inp)
        self._step(inp)

    # ------------------------------------------------------------ internals

    def _step(self, inp: Input) -> None:
        actions = self.core.step(inp)
        if self._debug:
            log.debug("step", input=_describe(inp), actions=[_describe(a) for a in actions])
        for action in actions:
            self._carry_out(action)

    def _carry_out(self, action: Action) -> None:
        if isinstance(action, ScheduleTimeout):
            self._schedule(action)
        elif isinstance(action, SignVote):
            self._sign_vote(action)
        elif isinstance(action, SignProposal):
            self._sign_proposal(action)
        elif isinstance(action, (BroadcastVote, BroadcastProposal)):
            self._broadcast(action)
        elif isinstance(action, RequestValue):
            self._propose(action)
        elif isinstance(action, RequestValidation):
            self._validate(action)
        elif isinstance(action, Decide):
            self._decide(action)
        elif isinstance(action, EvidenceFound):
            self._evidence(action.evidence)
        elif isinstance(action, ConflictingProposal):
            log.warning("proposer equivocated", height=action.first.height)
        else:  # pragma: no cover - a new action type the shell does not know
            raise TypeError(f"unknown consensus action {action!r}")

    def _schedule(self, action: ScheduleTimeout) -> None:
        self.round = max(self.round, action.round) if action.height == self.core.height else 0

        async def fire() -> None:
            await trio.sleep(action.duration_ms / 1000)
            self.submit(TimeoutFired(action.height, action.round, action.step))

        assert self._nursery is not None
        self._nursery.start_soon(fire)

    def _sign_vote(self, action: SignVote) -> None:
        if self.guard is None:
            return
        self.wal.sync()
        try:
            vote = self.guard.sign_vote(
                action.vote_type,
                action.height,
                action.round,
                action.block_hash,
                max(now_ms(), action.min_timestamp_ms),
            )
        except DoubleSignError as exc:
            log.error("refused to double-sign", error=str(exc))
            return
        self.feed(VoteSigned(vote))

    def _sign_proposal(self, action: SignProposal) -> None:
        if self.guard is None:
            return
        self.wal.sync()
        try:
            proposal = self.guard.sign_proposal(
                action.height, action.round, action.pol_round, action.block_hash
            )
        except DoubleSignError as exc:
            log.error("refused to double-sign a proposal", error=str(exc))
            return
        self.feed(ProposalSigned(proposal))

    def _propose(self, action: RequestValue) -> None:
        if action.height != self.chain.height + 1:
            return
        last_commit = self.chain.blocks.commit_at(action.height - 1) if action.height > 1 else None
        evidence = select_evidence(self.evidence)
        executed = self._build_block(last_commit, evidence, action.round)
        block = executed.block
        log.debug("proposing", height=action.height, round=action.round, txs=len(block.extrinsics))
        self.feed(
            ValueReady(
                action.height,
                action.round,
                block.hash,
                block.header.timestamp_ms,
                block.encode(),
            )
        )

    def _validate(self, action: RequestValidation) -> None:
        block = self.chain.pending_block(action.block_hash)
        if block is None and action.payload:
            try:
                block = Block.decode(action.payload)
            except DecodeError as exc:
                log.info("proposal payload does not decode", error=str(exc))
                self.feed(BlockValidated(action.height, action.block_hash, False))
                return
        if block is None:
            return  # the block has not arrived; its proposal will bring it
        if block.hash != action.block_hash or action.height != self.chain.height + 1:
            self.feed(BlockValidated(action.height, action.block_hash, False))
            return
        try:
            self.chain.validate_block(block, round_=action.round)
        except InvalidBlock as exc:
            log.warning("invalid proposal", height=action.height, reason=str(exc))
            self.feed(BlockValidated(action.height, action.block_hash, False))
            return
        self.feed(BlockValidated(action.height, action.block_hash, True, block.header.timestamp_ms))

    def _decide(self, action: Decide) -> None:
        if action.height <= self.chain.height:
            return  # committed already (WAL replay, or block sync got there first)
        if action.height > self.chain.height + 1:
            # The store is behind the consensus WAL: a crash lost its newest
            # blocks (a torn LevelDB log) after the WAL had moved on. Peers have
            # them; block sync fills the gap, then jump_to starts the next height.
            log.warning(
                "decided a height the store is not ready for: syncing the gap",
                height=action.height,
                store_height=self.chain.height,
            )
            return
        block = self.chain.pending_block(action.block_hash)
        if block is None and action.payload:
            block = Block.decode(action.payload)
        if block is None:
            log.error("decided a block we do not have", height=action.height)
            return
        executed = self.chain.commit_block(block, action.commit)
        # A validator punished by this block needs no further proof: drop all of them.
        punished = {item.vote_a.validator for item in block.evidence}
        for key in [k for k, item in self.evidence.items() if item.vote_a.validator in punished]:
            del self.evidence[key]
        self._on_commit(executed, action.commit)
        self._schedule_next_height(action.height + 1)

    def _schedule_next_height(self, height: int) -> None:
        async def start() -> None:
            await trio.sleep(self.block_interval_ms / 1000)
            if self.core.height < height and self.chain.height == height - 1:
                self.start_height(height)

        assert self._nursery is not None
        self._nursery.start_soon(start)

    def _evidence(self, evidence: Evidence) -> None:
        if self.guard is not None and evidence.vote_a.validator == self.guard.key.public:
            log.critical("evidence against OUR key: another process signs with it")
        log.warning(
            "equivocation evidence",
            validator=evidence.vote_a.validator.hex()[:16],
            height=evidence.vote_a.height,
        )
        self.evidence[evidence.hash] = evidence

    def jump_to(self, height: int) -> None:
        """After block sync committed up to ``height - 1``: start ``height``."""
        if self.core.height < height:
            self.start_height(height)
