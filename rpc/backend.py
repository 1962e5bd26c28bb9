"""What the RPC server needs from the node: the ``RpcBackend`` protocol.

Theory of operation
-------------------
The RPC methods are thin: each validates its parameters, asks the backend
one question and turns the answer into JSON. The backend speaks in
``ledger.types`` values (``Header``, ``Block``, ``Commit``, ``Receipt``) and
raw bytes; all text forms (hex, bech32m, decimal strings) are made in
``rpc/``. The node implements this protocol over its block store, state trie,
mempool and peer set; the tests implement it in memory.

Reads are plain synchronous calls: they hit in-process stores and must be
quick. Submitting is ``async`` because the node may verify the signature in a
worker thread before admitting the extrinsic to its pool; it returns the
extrinsic hash or raises ``ExtrinsicRejected`` with the Substrate-style code
(1010-1014) and a reason.

Chain events reach subscriptions through ``subscribe_events(topics)``: an
async context manager yielding a receive channel of the ``NewHead``,
``FinalizedHead`` and ``ExtrinsicStatus`` values ``topics`` asks for, opened
per subscription and closed when it ends (ending with ``Lagged`` if the
subscriber fell a whole buffer behind). ``rpc.events.EventHub`` implements
the fan-out; a node can simply hold one, publish into it and return
``hub.subscribe(topics)``.

For each extrinsic it admitted, the node publishes ``ExtrinsicStatus`` with
``InBlock`` when a block including it has been executed and ``Finalized``
when that block is committed (with instant BFT finality the two come one
after the other), ``Invalid`` if it was later found invalid, ``Dropped`` if
the pool evicted it. The RPC layer itself sends ``ready`` to a watcher once
``submit_extrinsic`` has returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from ledger.overlay import StateReader
from ledger.types import Block, Commit, Header, Receipt
from rpc import errors


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """Static facts about the node and its chain (system_* methods)."""

    node_name: str
    node_version: str
    chain_name: str
    genesis_hash: bytes
    token_symbol: str
    token_decimals: int
    address_prefix: str  # bech32m human-readable part, "cc" by default


@dataclass(frozen=True, slots=True)
class PeerInfo:
    peer_id: str
    address: str
    best_height: int
    is_validator: bool


@dataclass(frozen=True, slots=True)
class Health:
    peers: int
    is_syncing: bool
    should_have_peers: bool


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """A receipt and where its extrinsic sits in the chain."""

    block_hash: bytes
    height: int
    index: int
    receipt: Receipt


# ------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class NewHead:
    header: Header


@dataclass(frozen=True, slots=True)
class FinalizedHead:
    header: Header


@dataclass(frozen=True, slots=True)
class InBlock:
    block_hash: bytes


@dataclass(frozen=True, slots=True)
class Finalized:
    block_hash: bytes


@dataclass(frozen=True, slots=True)
class Invalid:
    reason: str


@dataclass(frozen=True, slots=True)
class Dropped:
    pass


TxStatus = InBlock | Finalized | Invalid | Dropped


@dataclass(frozen=True, slots=True)
class ExtrinsicStatus:
    extrinsic_hash: bytes
    status: TxStatus


@dataclass(frozen=True, slots=True)
class Lagged:
    """Delivered by the hub, never published: this subscriber fell ``buffer`` events
    behind and its stream ends here (the subscription tells its client why)."""

    buffer: int


ChainEvent = NewHead | FinalizedHead | ExtrinsicStatus | Lagged


@dataclass(frozen=True, slots=True)
class Topics:
    """What one subscription wants from the hub; the hub routes only those events.

    ``extrinsic`` routes that extrinsic's ``ExtrinsicStatus`` values. A block of
    1 000 extrinsics then costs a head subscriber one event, not 2 002, so its
    buffer (sized for many blocks) cannot overflow on one large block.
    """

    new_heads: bool = False
    finalized_heads: bool = False
    extrinsic: bytes | None = None


# ------------------------------------------------------------- errors


class ExtrinsicRejected(Exception):
    """The node refused an extrinsic; ``code`` is 1010-1014 (spec/rpc.md)."""

    def __init__(self, code: int, reason: str) -> None:
        if code not in errors.EXTRINSIC_MESSAGES:
            raise ValueError(f"extrinsic refusal code must be 1010-1014, got {code}")
        self.code = code
        self.reason = reason
        super().__init__(f"{code}: {reason}")

    @classmethod
    def invalid(cls, reason: str) -> ExtrinsicRejected:
        return cls(errors.EXTRINSIC_INVALID, reason)


class StateUnavailable(Exception):
    """The block is known but its state version is gone (pruning)."""


# ------------------------------------------------------------- protocol


class RpcBackend(Protocol):
    """Everything the standard RPC methods ask of the node."""

    def chain_info(self) -> ChainInfo: ...

    def best_hash(self) -> bytes:
        """Hash of the head of the chain (equal to the finalized head under BFT)."""
        ...

    def finalized_hash(self) -> bytes: ...

    def block_hash(self, height: int) -> bytes | None:
        """Hash of the canonical block at ``height``; None above the head."""
        ...

    def header(self, block_hash: bytes) -> Header | None: ...

    def block(self, block_hash: bytes) -> Block | None: ...

    def commit(self, block_hash: bytes) -> Commit | None:
        """The commit that finalized ``block_hash`` (None for genesis or if unknown)."""
        ...

    def receipt(self, extrinsic_hash: bytes) -> ReceiptRecord | None: ...

    async def submit_extrinsic(self, data: bytes) -> bytes:
        """Admit ``data`` to the pool; return its hash or raise ``ExtrinsicRejected``."""
        ...

    def pending_extrinsics(self) -> Sequence[bytes]: ...

    def next_index(self, account: bytes) -> int:
        """The signer's next nonce, counting its extrinsics waiting in the pool."""
        ...

    def state_at(self, block_hash: bytes) -> StateReader:
        """The state after ``block_hash`` (a known block); ``StateUnavailable`` if pruned."""
        ...

    def read_proof(self, keys: Sequence[bytes], block_hash: bytes) -> Sequence[bytes]:
        """Trie nodes proving each key's value or absence against the block's state root."""
        ...

    def metadata(self) -> Mapping[str, Any]:
        """The runtime's metadata as a JSON-ready mapping (pallets, calls, events...)."""
        ...

    def peers(self) -> Sequence[PeerInfo]: ...

    def health(self) -> Health: ...

    def in_pool(self, extrinsic_hash: bytes) -> bool:
        """Whether the extrinsic waits in the pool (a watcher's check for ``dropped``)."""
        ...

    def subscribe_events(
        self, topics: Topics | None = None
    ) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[ChainEvent]]:
        """A fresh stream of the chain events ``topics`` names (every event if None)."""
        ...
