"""A running node: the trio nursery that holds p2p, consensus, sync, RPC and metrics.

Theory of operation
-------------------
``NodeService.run`` opens the chain (LevelDB under ``HOME/data``), replays
the consensus WAL, and starts, in one nursery: the p2p service, the loop
that checks and routes peer messages, the consensus loop, block sync, the
extrinsic gossip batcher, the RPC server and the metrics endpoint. A
``trio.Cancelled`` (SIGTERM/SIGINT) unwinds them all; the store is only ever
written by whole-block synced batches, so it is consistent at any moment.

Peer messages are checked here before the core sees them: votes and
proposals against the validator set of their height (signature, membership),
extrinsics through the mempool. A peer that sends something invalid is
penalised through p2p's fault scores.

Block sync: when a peer's status shows committed blocks we lack, fetch them
with their commits, verify each commit against the set of its height,
execute, store, then jump the consensus core to the next height.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import structlog
import trio

from consensus import (
    BroadcastProposal,
    BroadcastVote,
    Core,
    CoreConfig,
    InvalidCommit,
    InvalidMessage,
    ProposalReceived,
    TimeoutParams,
    VoteReceived,
    check_proposal,
    check_vote,
    verify_commit,
)
from consensus.actions import Action
from genesis.schema import GenesisDoc
from ledger.codec import DecodeError
from ledger.crypto import Keypair
from ledger.types import Block, Commit, Evidence
from node.daemon.chain import Chain, Executed
from node.daemon.community_metrics import community_figures
from node.daemon.config import NodeConfig, parse_hostport
from node.daemon.consensus_loop import ConsensusLoop
from node.daemon.mempool import Mempool, MempoolError, MempoolLimits
from node.daemon.metrics import NodeMetrics
from node.daemon.rpc_backend import NodeRpcBackend
from node.daemon.signer_guard import FileSignerStore, SignerGuard
from node.daemon.wal import WriteAheadLog
from node.rpc_queries import node_registry
from p2p.config import PeerAddress
from p2p.messages import Extrinsics, Message, Status
from p2p.messages import Proposal as ProposalMessage
from p2p.messages import Vote as VoteMessage
from p2p.service import P2PError, P2PService
from pallets.executive.executor import InvalidBlock
from rpc.backend import ExtrinsicStatus, Finalized, FinalizedHead, InBlock, NewHead
from rpc.events import EventHub
from rpc.server import serve as serve_rpc

log = structlog.get_logger("node")

SYNC_BATCH = 32
LAG_TOLERANCE_SECONDS = 1.0
# Verified consensus messages kept for re-gossip, per height (votes, proposals).
MAX_HEIGHT_MESSAGES = 2048
GOSSIP_FLUSH_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class NodePaths:
    home: Path

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    @property
    def genesis(self) -> Path:
        return self.home / "genesis.json"

    @property
    def node_key(self) -> Path:
        return self.home / "node_key.json"

    @property
    def validator_key(self) -> Path:
        return self.home / "validator_key.json"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def db(self) -> Path:
        return self.data / "db"

    @property
    def wal(self) -> Path:
        return self.data / "consensus.wal"

    @property
    def signer_state(self) -> Path:
        return self.data / "signer_state"


class NodeService:
    def __init__(
        self,
        *,
        paths: NodePaths,
        config: NodeConfig,
        genesis: GenesisDoc,
        identity: Keypair,
        validator_key: Keypair | None,
    ) -> None:
        self.paths = paths
        self.config = config
        self.genesis = genesis
        self.identity = identity
        self.validator_key = validator_key
        paths.data.mkdir(parents=True, exist_ok=True)
        self.metrics = NodeMetrics()
        self.verifier = self.metrics.verifier(2, remember=200_000)
        self.chain = Chain.open(paths.db, genesis, verifier=self.verifier)
        cfg = config.mempool
        self.mempool = Mempool(
            self.chain.runtime.rules,
            self.chain.trie.reader(self.chain.state_root),
            self.chain.height,
            MempoolLimits(
                max_count=cfg.max_count, max_bytes=cfg.max_bytes, max_per_sender=cfg.max_per_sender
            ),
        )
        self.events = EventHub()
        self.syncing = False
        self._last_progress = 0.0
        self._gossip_queue: list[bytes] = []
        # Every verified vote and proposal of the current height, re-sent to
        # all peers while the height stalls: a validator that (re)connects
        # mid-height gets what was gossiped before it arrived (Tendermint's
        # vote gossip; without it 3 of 4 validators can wait on each other).
        self._height_messages: dict[bytes, VoteMessage | ProposalMessage] = {}
        self._extra_peers = [PeerAddress.parse(p) for p in config.p2p.peers]
        host, port = parse_hostport(config.p2p.listen, "p2p.listen")
        self.p2p = P2PService(
            identity=identity,
            genesis_hash=self.chain.genesis_hash,
            allow=self._allowed,
            listen_host=host,
            listen_port=port,
            peers=self._dial_targets(),
            serve_blocks=self._serve_blocks,
            config=config.p2p.p2p_config(),
        )
        self.metrics.set_p2p_stats(self.p2p.stats)
        self.wal, report = WriteAheadLog.open(paths.wal)
        if report.problem:
            log.warning("consensus WAL tail repaired", problem=report.problem)
        self._replay = list(report.inputs)
        guard = None
        if validator_key is not None:
            store = FileSignerStore(paths.signer_state)
            guard = SignerGuard(validator_key, self.chain.genesis_hash, store)
        c = config.consensus
        timeouts = TimeoutParams(
            propose_ms=c.timeout_propose_ms,
            prevote_ms=c.timeout_prevote_ms,
            precommit_ms=c.timeout_precommit_ms,
            delta_ms=c.timeout_delta_ms,
        )
        core = Core(CoreConfig(None if validator_key is None else validator_key.public, timeouts))
        self.consensus = ConsensusLoop(
            core=core,
            chain=self.chain,
            wal=self.wal,
            guard=guard,
            block_interval_ms=c.block_interval_ms,
            build_block=self._build_block,
            on_commit=self._on_commit,
            broadcast=self._broadcast_action,
        )

    # ------------------------------------------------------------ peers

    def _dial_targets(self) -> list[PeerAddress]:
        targets = {a.identity: a for a in self._extra_peers}
        for entry in self.genesis.validators:
            if entry.public_key == self.identity.public:
                continue
            host, port = parse_hostport(entry.address, "genesis validator address")
            targets.setdefault(entry.public_key, PeerAddress(entry.public_key, host, port))
        return [targets[k] for k in sorted(targets)]

    def _allowed(self, identity: bytes) -> bool:
        """Configured peers, and validators of any set from h-1 to h+2: a validator added
        by governance at H may connect from H on (and sync), one removed drops out."""
        if any(a.identity == identity for a in self._extra_peers):
            return True
        height = self.chain.height
        return any(
            self.chain.validators_for(h).power_of(identity) > 0
            for h in (max(height - 1, 1), height, height + 1, height + 2)
        )

    # ------------------------------------------------------------ run

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        log.info(
            "node starting",
            height=self.chain.height,
            genesis="0x" + self.chain.genesis_hash.hex(),
            validator=None if self.validator_key is None else self.validator_key.public.hex(),
        )
        try:
            async with trio.open_nursery() as nursery:
                port = await nursery.start(self.p2p.run)
                log.info("p2p listening", port=port)
                if self.config.rpc.enabled:
                    # Every [rpc] setting, limits included (node/daemon/config.py).
                    rpc_config = self.config.rpc.server_config()
                    registry = node_registry(self.genesis.address_prefix)
                    bound = await nursery.start(
                        functools.partial(
                            serve_rpc, NodeRpcBackend(self), rpc_config, registry=registry
                        )
                    )
                    log.info("rpc listening", address=str(bound))
                if self.config.metrics.enabled:
                    host, metrics_port = parse_hostport(self.config.metrics.listen, "metrics")
                    self.metrics.serve(host, metrics_port)
                    log.info("metrics listening", port=metrics_port)
                self._publish_status()
                self.metrics.wal_replayed(len(self._replay))
                await nursery.start(self.consensus.run, self._replay)
                nursery.start_soon(self._route_messages)
                nursery.start_soon(self._sync_loop)
                nursery.start_soon(self._gossip_loop)
                nursery.start_soon(self._regossip_loop)
                task_status.started()
        finally:
            self.wal.close()
            self.chain.close()
            self.verifier.close()
            log.info("node stopped", height=self.chain.height)

    # ------------------------------------------------------------ consensus hooks

    def _build_block(
        self, last_commit: Commit | None, evidence: tuple[Evidence, ...], round_: int
    ) -> Executed:
        c = self.config.consensus
        candidates = self.mempool.select(c.max_block_extrinsics, c.max_block_bytes)
        assert self.validator_key is not None
        executed = self.chain.build_block(
            proposer=self.validator_key,
            round_=round_,
            last_commit=last_commit,
            candidates=candidates,
            evidence=evidence,
            max_count=c.max_block_extrinsics,
            max_bytes=c.max_block_bytes,
        )
        for raw, error in executed.result.rejected:
            self.mempool.report_invalid(raw, error)
        return executed

    def _on_commit(self, executed: Executed, commit: Commit) -> None:
        block = executed.block
        header = block.header
        self.mempool.on_block(
            self.chain.trie.reader(header.state_root), header.height, list(block.extrinsics)
        )
        self._observe_commit(block, commit)
        self._last_progress = trio.current_time()
        self._height_messages.clear()
        # The p2p allowlist follows the validator sets of h-1..h+2 (``_allowed``); when a
        # set change (G6) reaches this height, drop the peers it removed.
        if self.chain.validators_for(max(header.height - 2, 1)).hash != header.validators_hash:
            self.p2p.refresh_allowlist()
        # Order of the RPC contract (rpc/backend.py): heads and statuses as a
        # wallet watching one extrinsic expects them.
        receipts = executed.result.receipts
        self.events.publish(NewHead(header))
        for receipt in receipts:
            self.events.publish(ExtrinsicStatus(receipt.extrinsic_hash, InBlock(block.hash)))
        self.events.publish(FinalizedHead(header))
        for receipt in receipts:
            self.events.publish(ExtrinsicStatus(receipt.extrinsic_hash, Finalized(block.hash)))
        self._publish_status()
        log.info(
            "committed",
            height=header.height,
            round=commit.round,
            txs=len(block.extrinsics),
            hash="0x" + block.hash.hex()[:16],
        )

    def _observe_commit(self, block: Block, commit: Commit) -> None:
        """Block metrics; community figures when due (read here, never by the scrape)."""
        height, state_root = block.header.height, block.header.state_root
        validators = self.chain.validators_for(height)
        pool = self.mempool
        self.metrics.on_block(block, commit, len(pool), pool.bytes_used, validators=validators)
        self.metrics.refresh_community(
            lambda: community_figures(self.chain.trie.reader(state_root), height)
        )

    def _observe_peers(self, *, syncing: bool) -> None:
        """Peer-derived metrics, computed on the loop (the scrape runs in another thread)."""
        peers = self.p2p.connected_peers()
        statuses = [self.p2p.peer_status(identity) for identity in peers]
        best = max((s.height for s in statuses if s is not None), default=0)
        self.metrics.sync_status(syncing, best)
        own = None if self.validator_key is None else self.validator_key.public
        self.metrics.validators_seen(self.chain.validators_for(self.chain.height + 1), peers, own)

    def _publish_status(self) -> None:
        head = self.chain.head
        self.p2p.set_status(
            Status(head.height, self.consensus.round, head.hash, self.chain.genesis_hash)
        )

    def _broadcast_action(self, action: Action) -> None:
        if isinstance(action, BroadcastVote):
            self._relay(VoteMessage(action.vote))
        elif isinstance(action, BroadcastProposal):
            for vote in action.pol_votes:
                self._relay(VoteMessage(vote))
            self._relay(ProposalMessage(action.proposal, action.payload))

    def _relay(self, message: VoteMessage | ProposalMessage) -> None:
        """Gossip a verified message now, and keep it for re-gossip at this height."""
        inner = message.vote if isinstance(message, VoteMessage) else message.proposal
        if len(self._height_messages) < MAX_HEIGHT_MESSAGES:
            self._height_messages[inner.signature] = message
        self.p2p.broadcast(message)

    async def _regossip_loop(self) -> None:
        while True:
            await trio.sleep(LAG_TOLERANCE_SECONDS)
            if trio.current_time() - self._last_progress < LAG_TOLERANCE_SECONDS:
                continue
            current = self.consensus.core.height
            messages = [
                m
                for m in self._height_messages.values()
                if (m.vote if isinstance(m, VoteMessage) else m.proposal).height == current
            ]
            for identity in self.p2p.connected_peers():
                for message in messages:
                    self.p2p.send(identity, message, force=True)

    # ------------------------------------------------------------ extrinsics

    def submit_extrinsic(self, raw: bytes) -> bytes:
        """Admit to the pool (raises ``MempoolError``) and queue for gossip."""
        tx_hash = self.mempool.submit(raw)
        self.metrics.submitted(tx_hash)
        self._gossip_queue.append(raw)
        self.metrics.mempool(len(self.mempool), self.mempool.bytes_used)
        return tx_hash

    async def _gossip_loop(self) -> None:
        while True:
            await trio.sleep(GOSSIP_FLUSH_SECONDS)
            while self._gossip_queue:
                batch, self._gossip_queue = self._gossip_queue[:500], self._gossip_queue[500:]
                self.p2p.broadcast(Extrinsics(tuple(batch)))

    # ------------------------------------------------------------ peer messages

    async def _route_messages(self) -> None:
        async for identity, message in self.p2p.inbound:
            try:
                self._on_message(identity, message)
            except (InvalidMessage, DecodeError, InvalidBlock) as exc:
                log.info("bad message from peer", peer=identity.hex()[:16], error=str(exc))
                self.p2p.disconnect(identity, fault=type(exc).__name__, points=20)

    def _on_message(self, identity: bytes, message: Message) -> None:
        core_height = self.consensus.core.height
        if isinstance(message, VoteMessage):
            vote = message.vote
            if vote.height not in (core_height, core_height + 1):
                return  # stale, or far ahead of us: block sync covers the gap
            self.metrics.signature_checks("vote")
            check_vote(vote, self.chain.validators_for(vote.height), self.chain.genesis_hash)
            self._relay(message)
            self.consensus.hold_or_submit(VoteReceived(vote), vote.height)
        elif isinstance(message, ProposalMessage):
            proposal = message.proposal
            if proposal.height not in (core_height, core_height + 1):
                return
            validators = self.chain.validators_for(proposal.height)
            self.metrics.signature_checks("proposal")
            check_proposal(proposal, validators, self.chain.genesis_hash)
            self._relay(message)
            self.consensus.hold_or_submit(
                ProposalReceived(proposal, message.block), proposal.height
            )
        elif isinstance(message, Extrinsics):
            accepted = []
            for raw in message.extrinsics:
                try:
                    self.mempool.submit(raw)
                    accepted.append(raw)
                except MempoolError:
                    continue  # already known or no longer valid: not the peer's fault
            if accepted:
                self._gossip_queue.extend(accepted)

    # ------------------------------------------------------------ block sync

    def _serve_blocks(self, from_height: int, count: int) -> list[tuple[bytes, bytes]]:
        out = []
        for height in range(max(from_height, 1), min(from_height + count, self.chain.height + 1)):
            block = self.chain.blocks.block_by_height(height)
            commit = self.chain.blocks.commit_at(height)
            if block is None or commit is None:
                break
            out.append((block.encode(), commit.encode()))
        return out

    async def _sync_loop(self) -> None:
        while True:
            await trio.sleep(0.5)
            target = self._best_peer()
            self._observe_peers(syncing=target is not None)
            if target is None:
                self.syncing = False
                continue
            identity, height = target
            self.syncing = True
            try:
                await self._sync_from(identity, height)
            except (P2PError, InvalidBlock, InvalidCommit, DecodeError) as exc:
                log.warning("block sync failed", peer=identity.hex()[:16], error=str(exc))
            self.syncing = False

    def _best_peer(self) -> tuple[bytes, int] | None:
        best: tuple[bytes, int] | None = None
        for identity in self.p2p.connected_peers():
            status = self.p2p.peer_status(identity)
            if status is None or status.height <= self.chain.height:
                continue
            # One block behind is normal consensus lag and the core decides it
            # itself, unless we have been stuck: the peers moved on and will
            # not send that height's votes again.
            stalled = trio.current_time() - self._last_progress > LAG_TOLERANCE_SECONDS
            if status.height == self.chain.height + 1 and not stalled:
                continue
            if best is None or status.height > best[1]:
                best = (identity, status.height)
        return best

    async def _sync_from(self, identity: bytes, target: int) -> None:
        log.info("block sync", behind=target - self.chain.height, peer=identity.hex()[:16])
        while self.chain.height < target:
            start = self.chain.height + 1
            entries = await self.p2p.request_blocks(
                identity, start, min(SYNC_BATCH, target - self.chain.height)
            )
            if not entries:
                return
            for block_bytes, commit_bytes in entries:
                block = Block.decode(block_bytes)
                commit = Commit.decode(commit_bytes)
                height = self.chain.height + 1
                if block.header.height != height or commit.block_hash != block.hash:
                    raise InvalidBlock(f"sync: block {block.header.height} is not {height}")
                if height <= self.chain.height:
                    continue
                self.metrics.signature_checks("commit", len(commit.signatures))
                verify_commit(commit, self.chain.validators_for(height), self.chain.genesis_hash)
                self.chain.validate_block(block, round_=commit.round)
                executed = self.chain.commit_block(block, commit)
                self._on_commit(executed, commit)
                self.metrics.synced(height)
            await trio.sleep(0)
        self.consensus.jump_to(self.chain.height + 1)
