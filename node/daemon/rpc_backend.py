"""The node's answers to the RPC server (``rpc.backend.RpcBackend``).

``NodeRpcBackend`` reads the running node through ``RpcNode``: the parts it
answers from, not the service that assembles them. ``NodeService`` is one
(node/daemon/service.py builds this backend with itself); a test can pass
anything with these attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import trio

from genesis.schema import GenesisDoc
from ledger.overlay import StateReader
from ledger.trie import MissingNodeError
from ledger.types import Block, Commit, Event, Header
from node import __version__
from node.daemon.chain import Chain
from node.daemon.documents import DocumentError, DocumentStore
from node.daemon.history import HistoryIndex
from node.daemon.mempool import Mempool, MempoolError
from p2p.service import P2PService
from rpc.backend import (
    ChainEvent,
    ChainInfo,
    ExtrinsicRejected,
    Health,
    PeerInfo,
    ReceiptRecord,
    StateUnavailable,
    Topics,
)
from rpc.documents import DocumentAnswer, DocumentRefused
from rpc.events import EventHub
from rpc.history import HistoryPage, HistoryUnavailable


class RpcNode(Protocol):
    """What the RPC backend reads from the running node."""

    @property
    def genesis(self) -> GenesisDoc: ...

    @property
    def chain(self) -> Chain: ...

    @property
    def mempool(self) -> Mempool: ...

    @property
    def p2p(self) -> P2PService: ...

    @property
    def events(self) -> EventHub: ...

    @property
    def syncing(self) -> bool: ...

    @property
    def history(self) -> HistoryIndex | None: ...

    def submit_extrinsic(self, raw: bytes) -> bytes:
        """Admit to the pool (raises ``MempoolError``) and queue for gossip."""
        ...

    @property
    def documents(self) -> DocumentStore: ...

    def put_document(self, content: bytes) -> tuple[bytes, bool]:
        """Store (raises ``DocumentError``) and gossip a document (F10)."""
        ...


class NodeRpcBackend:
    def __init__(self, node: RpcNode) -> None:
        self.node = node
        genesis = node.genesis
        self._info = ChainInfo(
            node_name="credichain",
            node_version=__version__,
            chain_name=genesis.chain,
            genesis_hash=node.chain.genesis_hash,
            token_symbol=genesis.token_symbol,
            token_decimals=genesis.token_decimals,
            address_prefix=genesis.address_prefix,
        )

    def chain_info(self) -> ChainInfo:
        return self._info

    # ---- documents beside the chain (F10, rpc/documents.py)

    def put_document(self, content: bytes) -> tuple[bytes, bool]:
        try:
            return self.node.put_document(content)
        except DocumentError as exc:
            raise DocumentRefused(str(exc)) from exc

    def get_document(self, digest: bytes) -> DocumentAnswer:
        found = self.node.documents.lookup(digest)
        return DocumentAnswer(found.status, found.content, found.purged_by)

    def purge_document_here(self, digest: bytes) -> bool:
        return self.node.documents.purge_here(digest)

    def best_hash(self) -> bytes:
        return self.node.chain.head.hash

    def finalized_hash(self) -> bytes:
        return self.node.chain.head.hash

    def block_hash(self, height: int) -> bytes | None:
        if height > self.node.chain.height:
            return None
        return self.node.chain.blocks.hash_at(height)

    # Block-store reads (LevelDB get + decode) are thread-safe: the RPC server
    # runs chain_getBlock/Header/Receipt/BlockHash in worker threads. The trie
    # (its node cache) and the mempool are not: their methods stay on the loop.

    def header(self, block_hash: bytes) -> Header | None:
        header = self.node.chain.blocks.header_by_hash(block_hash)
        if header is not None:
            return header
        block = self.node.chain.blocks.block_by_hash(block_hash)
        return None if block is None else block.header

    def block(self, block_hash: bytes) -> Block | None:
        return self.node.chain.blocks.block_by_hash(block_hash)

    def commit(self, block_hash: bytes) -> Commit | None:
        block = self.node.chain.blocks.block_by_hash(block_hash)
        if block is None or block.header.height == 0:
            return None
        return self.node.chain.blocks.commit_at(block.header.height)

    def block_events(self, block_hash: bytes) -> Sequence[Event] | None:
        """The block hooks' events (``rpc.archive.ArchiveBackend``), from the block store."""
        header = self.header(block_hash)
        if header is None:
            return None
        return self.node.chain.blocks.events_at(header.height)

    def account_history(
        self, account: bytes, start: int | None, limit: int, newest_first: bool
    ) -> HistoryPage:
        """An account's entries (``rpc.history.HistoryBackend``), from the history index."""
        return self._history().account_history(account, start, limit, newest_first)

    def fund_statement(
        self,
        fund: int,
        heights: tuple[int, int],
        start: int | None,
        limit: int,
        newest_first: bool,
    ) -> HistoryPage:
        """A fund's book (``rpc.history.HistoryBackend``), from the history index."""
        return self._history().fund_statement(fund, heights, start, limit, newest_first)

    def _history(self) -> HistoryIndex:
        index = self.node.history
        if index is None:
            raise HistoryUnavailable("the history index is disabled")
        return index

    def genesis_document(self) -> Mapping[str, Any]:
        """The genesis document the node was started with (its home's genesis.json)."""
        return self.node.genesis.to_json_dict()

    def receipt(self, extrinsic_hash: bytes) -> ReceiptRecord | None:
        found = self.node.chain.blocks.receipt(extrinsic_hash)
        if found is None:
            return None
        height, index, receipt = found
        block_hash = self.node.chain.blocks.hash_at(height)
        assert block_hash is not None
        return ReceiptRecord(block_hash, height, index, receipt)

    async def submit_extrinsic(self, data: bytes) -> bytes:
        try:
            return self.node.submit_extrinsic(data)
        except MempoolError as exc:
            raise ExtrinsicRejected(exc.code, exc.reason) from exc

    def pending_extrinsics(self) -> Sequence[bytes]:
        return self.node.mempool.pending()

    def in_pool(self, extrinsic_hash: bytes) -> bool:
        return extrinsic_hash in self.node.mempool

    def next_index(self, account: bytes) -> int:
        return self.node.mempool.next_nonce(account)

    def state_at(self, block_hash: bytes) -> StateReader:
        header = self.header(block_hash)
        if header is None:
            raise StateUnavailable("unknown block")
        if not self.node.chain.trie.has_root(header.state_root):
            raise StateUnavailable(f"the state of block {header.height} was pruned")
        return self.node.chain.trie.reader(header.state_root)

    def read_proof(self, keys: Sequence[bytes], block_hash: bytes) -> Sequence[bytes]:
        header = self.header(block_hash)
        if header is None:
            raise StateUnavailable("unknown block")
        try:
            return self.node.chain.trie.prove(header.state_root, list(keys))
        except MissingNodeError as exc:
            raise StateUnavailable(f"the state of block {header.height} was pruned") from exc

    def metadata(self) -> Mapping[str, Any]:
        return self.node.chain.runtime.metadata()

    def peers(self) -> Sequence[PeerInfo]:
        p2p = self.node.p2p
        validators = self.node.chain.validators_for(self.node.chain.height + 1)
        infos = []
        for identity in p2p.connected_peers():
            status = p2p.peer_status(identity)
            peer = p2p.peers.get(identity)
            infos.append(
                PeerInfo(
                    peer_id="0x" + identity.hex(),
                    address=getattr(peer, "remote_address", "") or "",
                    best_height=0 if status is None else status.height,
                    is_validator=validators.power_of(identity) > 0,
                )
            )
        return infos

    def health(self) -> Health:
        return Health(
            peers=len(self.node.p2p.connected_peers()),
            is_syncing=self.node.syncing,
            should_have_peers=len(self.node.chain.validators_for(1).validators) > 1,
        )

    def subscribe_events(
        self, topics: Topics | None = None
    ) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[ChainEvent]]:
        return self.node.events.subscribe(topics)
