"""A running node: assembly of its parts, and the routing of peer messages.

Theory of operation
-------------------
``NodeService`` builds the parts: the chain (LevelDB under ``HOME/data``),
the mempool, the p2p service, the consensus loop over the replayed WAL,
gossip (``node.daemon.gossip``) and block sync (``node.daemon.sync``).
``NodeService.run`` starts each, with ``nursery.start``, in one nursery, with
the loop that checks and routes peer messages, the RPC server and the metrics
endpoint. A ``trio.Cancelled`` (SIGTERM/SIGINT) unwinds them all; the store
is only ever written by whole-block synced batches, so it is consistent at
any moment.

Peer messages are checked here before the core sees them: votes and
proposals against the validator set of their height (signature, membership),
then relayed by gossip and handed to the consensus loop; extrinsics through
the mempool, then queued for gossip. A peer that sends something invalid is
penalised through p2p's fault scores.

A committed block, decided by consensus or applied by block sync, reaches
``_on_commit``: mempool, metrics, gossip's height, the p2p allowlist, RPC
events and our status follow it, and the document store deletes the
documents governance purged in it (F10, node/daemon/documents.py).

Documents of credit requests (F10) arrive by RPC (``put_document``) or from
peers. Anyone may put one, for free, so a put is only held on the node it
was sent to (the store's bounded pending area, node/daemon/documents.py)
and not gossiped. A committed block that submits or amends a request moves
the documents it names from pending into the store and gossips them
(keyed by their hash, so each crosses a connection once); a node that lacks
one (it was away, or the gossip has not reached it) asks its peers for it
by hash (``DocumentRequest``) and keeps what they send. A document from a
peer that no committed request names yet (ahead of the block) waits in
pending too. A document the store refuses (purged, too large, store full)
is dropped, not a peer fault: a peer may not have seen the purge yet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import structlog
import trio

from consensus import (
    Core,
    CoreConfig,
    InvalidMessage,
    ProposalReceived,
    TimeoutParams,
    VoteReceived,
    check_proposal,
    check_vote,
)
from genesis.schema import GenesisDoc
from ledger.codec import DecodeError
from ledger.crypto import Keypair
from ledger.kv import LevelDBKV
from ledger.types import Block, Commit, Evidence, ValidatorSet
from node.daemon.chain import Chain, ChainError, Executed
from node.daemon.community_metrics import community_figures
from node.daemon.config import NodeConfig, parse_hostport
from node.daemon.consensus_loop import ConsensusLoop
from node.daemon.documents import DocumentError, DocumentStore, document_hash
from node.daemon.gossip import GossipService
from node.daemon.history import HistoryIndex
from node.daemon.mempool import Mempool, MempoolError, MempoolLimits
from node.daemon.metrics import NodeMetrics
from node.daemon.rpc_backend import NodeRpcBackend
from node.daemon.rpc_queries import node_registry
from node.daemon.signer_guard import FileSignerStore, SignerGuard
from node.daemon.storage import StorageCollector
from node.daemon.sync import BlockSync, serve_blocks
from node.daemon.wal import WriteAheadLog
from p2p.config import PeerAddress
from p2p.messages import (
    MAX_DOCUMENTS_PER_REQUEST,
    Document,
    DocumentRequest,
    Extrinsics,
    Message,
    Status,
)
from p2p.messages import Proposal as ProposalMessage
from p2p.messages import Vote as VoteMessage
from p2p.service import P2PService
from pallets.credit.documents import purged_at
from pallets.credit.storage import REQUEST, REQUESTS
from pallets.executive.executor import InvalidBlock
from rpc.backend import ExtrinsicStatus, Finalized, FinalizedHead, InBlock, NewHead
from rpc.events import EventHub
from rpc.server import serve as serve_rpc

log = structlog.get_logger("node")
# Hashes named by committed requests that this node still lacks, remembered so
# that a peer's copy is kept for good when it comes (oldest dropped beyond this).
MAX_WANTED_DOCUMENTS = 4096

# No block committed for this long: the height has stalled. Gossip then re-sends
# the height's messages, and block sync follows a peer only one block ahead.
LAG_TOLERANCE_SECONDS = 1.0


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
    def history(self) -> Path:
        return self.data / "history"

    @property
    def wal(self) -> Path:
        return self.data / "consensus.wal"

    @property
    def signer_state(self) -> Path:
        return self.data / "signer_state"

    @property
    def documents(self) -> Path:
        return self.data / "documents"


def open_history(paths: NodePaths, chain: Chain) -> HistoryIndex:
    """The history index in ``HOME/data/history``, caught up with the chain's blocks."""
    index = HistoryIndex(LevelDBKV(paths.history), chain.runtime.registry, chain.genesis_hash)
    behind = chain.height - index.height
    if behind > 0:
        log.info("history index catching up", blocks=behind, from_height=index.height + 1)
        index.catch_up(chain.blocks, lambda h: log.info("history index", height=h))
    return index


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
        self.metrics.registry.register(StorageCollector(paths.home))  # credichain_storage_bytes
        self.verifier = self.metrics.verifier(2, remember=200_000)
        self.chain = Chain.open(paths.db, genesis, verifier=self.verifier)
        self.history = open_history(paths, self.chain) if config.history.enabled else None
        self.documents = DocumentStore(paths.documents, self._purged_on_chain)
        # Hashes that committed requests name and this node lacks, oldest first (bounded).
        self._wanted_documents: dict[bytes, None] = {}
        cfg = config.mempool
        self.mempool = Mempool(
            self.chain.runtime.rules,
            self.chain.runtime.reader(self.chain.state_root),
            self.chain.height,
            MempoolLimits(
                max_count=cfg.max_count, max_bytes=cfg.max_bytes, max_per_sender=cfg.max_per_sender
            ),
        )
        self.events = EventHub()
        self._last_progress = 0.0
        self._extra_peers = [PeerAddress.parse(p) for p in config.p2p.peers]
        host, port = parse_hostport(config.p2p.listen, "p2p.listen")
        self.p2p = P2PService(
            identity=identity,
            genesis_hash=self.chain.genesis_hash,
            allow=self._allowed,
            listen_host=host,
            listen_port=port,
            peers=self._dial_targets(),
            serve_blocks=functools.partial(serve_blocks, self.chain),
            config=config.p2p.p2p_config(),
        )
        self.metrics.set_p2p_stats(self.p2p.stats)
        self.gossip = GossipService(
            self.p2p, current_height=lambda: self.consensus.core.height, stalled=self._stalled
        )
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
            broadcast=self.gossip.broadcast_action,
            idle_wait_ms=c.idle_wait_ms,
            has_work=lambda: len(self.mempool) > self.mempool.future_count,
        )
        self.block_sync = BlockSync(
            chain=self.chain,
            network=self.p2p,
            metrics=self.metrics,
            on_commit=self._on_commit,
            jump_to=self.consensus.jump_to,
            stalled=self._stalled,
            own_validator=None if validator_key is None else validator_key.public,
        )

    @property
    def syncing(self) -> bool:
        """Whether block sync is catching up from a peer (RPC ``system_health``)."""
        return self.block_sync.syncing

    def _stalled(self) -> bool:
        since = max(self._last_progress, self.consensus.started_at)
        return trio.current_time() - since >= LAG_TOLERANCE_SECONDS

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
                await nursery.start(self.p2p.run)  # it logs p2p_listening itself
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
                swept = self.documents.sweep()
                if swept:
                    log.info("purged documents deleted", count=swept)
                self.metrics.wal_replayed(len(self._replay))
                await nursery.start(self.gossip.run)
                await nursery.start(self.consensus.run, self._replay)
                nursery.start_soon(self._route_messages)
                await nursery.start(self.block_sync.run)
                task_status.started()
        finally:
            self.wal.close()
            if self.history is not None:
                self.history.kv.close()
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
            self.chain.runtime.reader(header.state_root), header.height, list(block.extrinsics)
        )
        self._observe_commit(block, commit)
        if self.history is not None:
            self._index_history(executed)
        self._forget_purged(executed)
        self._last_progress = trio.current_time()
        self.gossip.new_height()
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

    # ------------------------------------------------------------ documents (F10)

    def _purged_on_chain(self, digest: bytes) -> bool:
        return purged_at(self.chain.trie.reader(self.chain.state_root), digest) > 0

    def _forget_purged(self, executed: Executed) -> None:
        """Delete what governance purged in this block; ask peers for what this node lacks."""
        result = executed.result
        events = [*result.events, *(e for r in result.receipts for e in r.events)]
        wanted: list[bytes] = []
        for event in events:
            if (event.pallet, event.name) == ("credit", "DocumentPurged"):
                digest = event.attrs["document"]
                deleted = self.documents.forget(digest)
                log.info("document purged", document="0x" + digest.hex(), deleted=deleted)
            elif (event.pallet, event.name) in (
                ("credit", "RequestSubmitted"),
                ("credit", "Amended"),
            ):
                named = self._named_documents(
                    executed.block.header.state_root, event.attrs["request"]
                )
                self._keep_named(named)
                wanted += [h for h in named if not self.documents.has(h)]
        self._wanted_documents.update(dict.fromkeys(wanted))
        while len(self._wanted_documents) > MAX_WANTED_DOCUMENTS:
            del self._wanted_documents[next(iter(self._wanted_documents))]
        for start in range(0, len(wanted), MAX_DOCUMENTS_PER_REQUEST):
            self.p2p.broadcast(
                DocumentRequest(tuple(wanted[start : start + MAX_DOCUMENTS_PER_REQUEST]))
            )

    def _named_documents(self, state_root: bytes, request_id: int) -> list[bytes]:
        """The texts and documents a request names that this node may hold (not purged)."""
        raw = REQUESTS.get(self.chain.trie.reader(state_root), request_id)
        if raw is None:
            return []
        record = REQUEST.unwire(raw)
        named = [
            record[f"{k}_hash"]
            for k in ("what", "repayment_good", "repayment_bad", "trust_reasons")
        ]
        return [
            h
            for h in dict.fromkeys([*named, *record["documents"]])
            if not self.documents.purged_here(h) and not self._purged_on_chain(h)
        ]

    def _keep_named(self, named: list[bytes]) -> None:
        """Move what a committed request names from pending into the store, and gossip it."""
        for digest in named:
            try:
                content = self.documents.promote(digest)
            except DocumentError as exc:
                log.warning("document not kept", document="0x" + digest.hex(), error=str(exc))
                continue
            if content is not None:
                self.p2p.broadcast(Document(content))

    def _answer_documents(self, identity: bytes, request: DocumentRequest) -> None:
        """Send a peer the documents it asked for that this node has (and may share)."""
        for digest in request.hashes:
            found = self.documents.lookup(digest)
            if found.content is not None:
                self.p2p.send(identity, Document(found.content), force=True)

    def put_document(self, content: bytes) -> tuple[bytes, bool]:
        """Hold a document put over RPC until a request names it (raises ``DocumentError``).

        Not gossiped: ``_keep_named`` does that once a committed request names it.
        """
        return self.documents.put(content)

    def _document_from_peer(self, content: bytes) -> None:
        """Keep (and pass on) a document this node waits for; hold any other in pending."""
        digest = document_hash(content)
        if digest in self._wanted_documents:
            _, new = self.documents.admit(content)
            del self._wanted_documents[digest]
            if new:
                self.p2p.broadcast(Document(content))
        else:
            self.documents.put(content)

    def _index_history(self, executed: Executed) -> None:
        """The history index follows the chain; its failure never stops the node.

        A block it could not index is caught up from the block store at the next
        commit (``HistoryIndex.follow``) or when the node starts.
        """
        assert self.history is not None
        result = executed.result
        try:
            self.history.follow(self.chain.blocks, executed.block, result.receipts, result.events)
        except Exception:  # a bug or a full disk in an index: logged, the chain goes on
            log.exception("history index failed", height=executed.block.header.height)

    def _observe_commit(self, block: Block, commit: Commit) -> None:
        """Block metrics; community figures when due (read here, never by the scrape)."""
        height, state_root = block.header.height, block.header.state_root
        validators = self.chain.validators_for(height)
        pool = self.mempool
        self.metrics.on_block(block, commit, len(pool), pool.bytes_used, validators=validators)
        self.metrics.refresh_community(
            lambda: community_figures(self.chain.trie.reader(state_root), height)
        )

    def _publish_status(self) -> None:
        head = self.chain.head
        self.p2p.set_status(
            Status(head.height, self.consensus.round, head.hash, self.chain.genesis_hash)
        )

    # ------------------------------------------------------------ extrinsics

    def submit_extrinsic(self, raw: bytes) -> bytes:
        """Admit to the pool (raises ``MempoolError``) and queue for gossip."""
        tx_hash = self.mempool.submit(raw)
        self.metrics.submitted(tx_hash)
        self.gossip.queue_extrinsics([raw])
        self.metrics.mempool(len(self.mempool), self.mempool.bytes_used)
        self.consensus.work_arrived()
        return tx_hash

    # ------------------------------------------------------------ peer messages

    async def _route_messages(self) -> None:
        async for identity, message in self.p2p.inbound:
            try:
                self._on_message(identity, message)
            except (InvalidMessage, DecodeError, InvalidBlock) as exc:
                log.info("bad message from peer", peer=identity.hex()[:16], error=str(exc))
                self.p2p.disconnect(identity, fault=type(exc).__name__, points=20)

    def _validators_for(self, height: int) -> ValidatorSet | None:
        """The set that signs ``height``, or None while the store cannot say yet.

        After a torn store the core can be a height ahead of what the store
        knows (it catches up by sync); a peer's message for such a height is
        dropped rather than stopping the node.
        """
        try:
            return self.chain.validators_for(height)
        except ChainError as exc:
            log.info(
                "message for a height the store cannot check yet", height=height, error=str(exc)
            )
            return None

    def _on_message(self, identity: bytes, message: Message) -> None:
        core_height = self.consensus.core.height
        if isinstance(message, VoteMessage):
            vote = message.vote
            if vote.height not in (core_height, core_height + 1):
                return  # stale, or far ahead of us: block sync covers the gap
            validators = self._validators_for(vote.height)
            if validators is None:
                return
            self.metrics.signature_checks("vote")
            check_vote(vote, validators, self.chain.genesis_hash)
            self.gossip.relay(message)
            self.consensus.hold_or_submit(VoteReceived(vote), vote.height)
        elif isinstance(message, ProposalMessage):
            proposal = message.proposal
            if proposal.height not in (core_height, core_height + 1):
                return
            validators = self._validators_for(proposal.height)
            if validators is None:
                return
            self.metrics.signature_checks("proposal")
            check_proposal(proposal, validators, self.chain.genesis_hash)
            self.gossip.relay(message)
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
            self.gossip.queue_extrinsics(accepted)
            if accepted:
                self.consensus.work_arrived()
        elif isinstance(message, Document):
            try:
                self._document_from_peer(message.content)
            except DocumentError as exc:
                log.debug("document from peer refused", peer=identity.hex()[:16], error=str(exc))
        elif isinstance(message, DocumentRequest):
            self._answer_documents(identity, message)
